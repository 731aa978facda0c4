"""Kiwi's CoNg language model (kiwipiepy >= 0.21; the model ships offline in `kiwipiepy_model`) as a source of
features: which CoNg morpheme each form is, and [`CongContexts`], the similarity of each morpheme's left context to a
few anchor contexts. A remote-code module, like the tokenizer that imports it; kiwipiepy is imported on first use.
"""

import functools
import json
import math
import os
import random
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path


# Morphemes of a left context: the morpheme itself and the ones before it. CoNg models short contexts only.
CONG_CONTEXT_WINDOW = 4
KOREAN_EXTRA_INSTALL = 'pip install "mtl-bilstm-ner[korean]"'


def _compatibility_letter(final_jamo: str) -> str:
    name = unicodedata.name(final_jamo).replace("HANGUL JONGSEONG ", "HANGUL LETTER ")
    try:
        return unicodedata.lookup(name)
    except KeyError:  # a final with no compatibility letter (archaic): kept as it is
        return final_jamo


# Kiwi's model writes a morpheme that is a lone final consonant (ㄴ/ETM, ㅆ/EP) with a conjoining jamo (U+11A8 to
# U+11FF); the corpora and the analyser's output (compatible_jamo=True) use compatibility jamo (U+3131 to U+318E).
_FINAL_TO_COMPATIBILITY = str.maketrans(
    {chr(code): _compatibility_letter(chr(code)) for code in range(0x11A8, 0x1200)}
)


def compatibility_jamo(form: str) -> str:
    """`form` with each conjoining final consonant (ᆫ, U+11AB) replaced by its compatibility letter (ㄴ, U+3134)."""
    return form.translate(_FINAL_TO_COMPATIBILITY)


def embedded_morpheme_count(kiwi, probe: int) -> int:
    """Kiwi's morpheme ids are ordered so that the ones with a CoNg embedding come first: find where
    the similarity turns NaN by bisection (`probe` is an id with an embedding)."""
    low, high = probe, probe * 2
    while not math.isnan(kiwi.morpheme_similarity(high, probe)):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if math.isnan(kiwi.morpheme_similarity(middle, probe)):
            high = middle
        else:
            low = middle
    return high


def embedded_form_ids(kiwi) -> dict[str, int]:
    """`{form: morpheme id}` for every form with a CoNg embedding, in compatibility jamo as the corpora write forms;
    of the readings of a form (만/NNB, 만/JX), the lowest id (the most frequent) wins."""
    probe = next(i for i in range(1000) if kiwi.morpheme(i).form)
    ids: dict[str, int] = {}
    for morpheme_id in range(embedded_morpheme_count(kiwi, probe)):
        token = kiwi.morpheme(morpheme_id)
        if token.form and token.tag != "UN":
            ids.setdefault(compatibility_jamo(token.form), morpheme_id)
    return ids


def load_cong_kiwi():
    """A new `kiwipiepy.Kiwi` with the CoNg model."""
    try:
        from kiwipiepy import Kiwi
    except ImportError as error:
        raise ImportError(f"CoNg features need kiwipiepy, which is not installed: {KOREAN_EXTRA_INSTALL}") from error
    return Kiwi(model_type="cong")


@functools.cache
def _cong_model():
    """One CoNg analyser per process and its form ids (loaded on first use)."""
    kiwi = load_cong_kiwi()
    return kiwi, embedded_form_ids(kiwi)


@functools.lru_cache(maxsize=100_000)
def _unknown_form_id(form: str) -> int:
    """The morpheme Kiwi reads a form without a CoNg embedding as: the first of its analysis, which for a number,
    a symbol or an unknown name is Kiwi's generic morpheme of the tag (form '', SN, SF, NNP...)."""
    tokens = _cong_model()[0].tokenize(form)
    return tokens[0].id if tokens else 0


class CongContexts:
    """
    Per morpheme, the cosine similarity (Kiwi's `context_similarity`) of its left context (the morpheme and up to
    `window - 1` before it) to each of a fixed list of anchor contexts: a coarse position of the context in CoNg's
    context space, the only pretrained contextual information available offline.

    Forms are mapped to CoNg's morphemes by form alone (the most frequent reading); a form CoNg does not know
    stands as the first morpheme of Kiwi's analysis of it (for a number, Kiwi's generic number). Build one from
    training sentences with
    [`~CongContexts.build`].

    Args:
        anchors: the anchor contexts, each a list of morpheme forms.
        window: morphemes per left context.
    """

    def __init__(self, anchors: Sequence[Sequence[str]], window: int = CONG_CONTEXT_WINDOW):
        anchors = tuple(tuple(anchor) for anchor in anchors)
        if not anchors or any(not anchor or not all(isinstance(f, str) and f for f in anchor) for anchor in anchors):
            raise ValueError(f"CongContexts anchors: expected non-empty lists of forms, received {anchors!r}.")
        if not isinstance(window, int) or window < 1:
            raise ValueError(f"CongContexts window: expected a positive int, received {window!r}.")
        self.anchors = anchors
        self.window = window

    @classmethod
    def build(
        cls, sentences: Iterable[Sequence[str]], num_anchors: int, window: int = CONG_CONTEXT_WINDOW, seed: int = 0
    ) -> "CongContexts":
        """Anchors drawn from the left contexts of `sentences` (a training split) that occur at least twice and
        have `window` morphemes: a seeded sample of `num_anchors` of them, the same for the same sentences."""
        counts = Counter(
            tuple(morphemes[end - window : end])
            for morphemes in sentences
            for end in range(window, len(morphemes) + 1)
        )
        candidates = sorted(context for context, count in counts.items() if count >= 2)
        if len(candidates) < num_anchors:
            raise ValueError(
                f"CongContexts.build: expected at least {num_anchors} contexts of {window} morphemes seen twice, "
                f"found {len(candidates)}."
            )
        return cls(random.Random(seed).sample(candidates, num_anchors), window)

    @property
    def num_features(self) -> int:
        return len(self.anchors)

    def morpheme_ids(self, morphemes: Sequence[str]) -> list[int]:
        """CoNg's morpheme id of each form (see the class docstring)."""
        form_ids = _cong_model()[1]
        forms = [compatibility_jamo(morpheme) for morpheme in morphemes]
        return [form_ids[form] if form in form_ids else _unknown_form_id(form) for form in forms]

    def similarities(self, morphemes: Sequence[str]) -> list[list[float]]:
        """The `context_similarities` of a sentence: per morpheme, `num_features` cosines in [-1, 1] (0 where CoNg
        has none)."""
        kiwi = _cong_model()[0]
        anchors = _anchor_ids(self)
        ids = self.morpheme_ids(morphemes)
        rows = []
        for end in range(1, len(ids) + 1):
            context = ids[max(0, end - self.window) : end]
            row = [kiwi.context_similarity(context, anchor) for anchor in anchors]
            rows.append([0.0 if math.isnan(value) else value for value in row])
        return rows

    def __eq__(self, other) -> bool:
        return isinstance(other, CongContexts) and (self.anchors, self.window) == (other.anchors, other.window)

    def __hash__(self) -> int:
        return hash((self.anchors, self.window))

    def to_dict(self) -> dict:
        return {"window": self.window, "anchors": [list(anchor) for anchor in self.anchors]}

    @classmethod
    def from_dict(cls, data: dict, source: str = "CoNg contexts") -> "CongContexts":
        if not isinstance(data, dict) or not isinstance(data.get("anchors"), list):
            raise ValueError(f"{source}: expected a JSON object with a list of anchor contexts under 'anchors'.")
        return cls(data["anchors"], data.get("window", CONG_CONTEXT_WINDOW))

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CongContexts":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")), source=str(path))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(anchors={self.num_features}, window={self.window})"


@functools.cache
def _anchor_ids(contexts: CongContexts) -> tuple[list[int], ...]:
    return tuple(contexts.morpheme_ids(anchor) for anchor in contexts.anchors)


__all__ = [
    "CONG_CONTEXT_WINDOW",
    "KOREAN_EXTRA_INSTALL",
    "CongContexts",
    "compatibility_jamo",
    "embedded_form_ids",
    "embedded_morpheme_count",
    "load_cong_kiwi",
]
