"""Gold entity character spans projected onto the morphemes of an analysis of their text (Kiwi's, as the predictor
analyses raw text): the labels of Kiwi-analysed training sentences (``korean_ner.reanalyse_with_kiwi``).

It imports nothing of the package, so that the corpus builder, training and the predictor's tests use one projection
without importing one another.
"""

import bisect
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


# What becomes of an entity with a boundary inside a morpheme (see ``project_entities``).
MISALIGNED_POLICIES = ("drop", "expand")
# The IOB2 tag of a morpheme outside every entity (``tag_schemes.OUTSIDE``).
OUTSIDE = "O"
_WORD = re.compile(r"\S+")


@dataclass
class Projection:
    """A raw sentence re-analysed by Kiwi, with its gold entities projected onto the morphemes.

    ``pos_tags`` are Kiwi's tags mapped to Sejong tags (``Morpheme.tag``); ``ner_tags`` are IOB2;
    ``word_ids`` give the 0-based whitespace-separated word of the text where each morpheme
    starts (a morpheme of Kiwi's multi-word dictionary that spans a space belongs to its first
    word). ``misaligned`` are the entities with a boundary inside a morpheme; ``dropped`` those
    left out of ``ner_tags``.
    """

    tokens: list[str]
    pos_tags: list[str]
    ner_tags: list[str]
    word_ids: list[int]
    misaligned: list = field(default_factory=list)  # of entity spans
    dropped: list = field(default_factory=list)


@dataclass
class ProjectionStats:
    """What a projection did to the gold entities of a set of sentences.

    ``misaligned``: entities with a boundary inside a Kiwi morpheme, which no tagger of Kiwi's
    morphemes can find exactly. ``expanded``: misaligned entities labelled on the morphemes that
    hold them (``"expand"``). ``dropped``: entities left out of the labels: misaligned ones under
    ``"drop"``, expanded ones that would share a morpheme with an entity already labelled, and
    entities over no morpheme at all. ``trimmed``: entities whose gold span began or ended with whitespace,
    trimmed before the projection (KLUE).
    """

    sentences: int = 0
    entities: int = 0
    misaligned: int = 0
    expanded: int = 0
    dropped: int = 0
    misaligned_by_type: Counter = field(default_factory=Counter)
    trimmed: int = 0

    def add(self, entities: Sequence, projection: Projection) -> None:
        self.sentences += 1
        self.entities += len(entities)
        self.misaligned += len(projection.misaligned)
        self.dropped += len(projection.dropped)
        self.expanded += len(set(projection.misaligned) - set(projection.dropped))
        self.misaligned_by_type.update(entity.type for entity in projection.misaligned)

    def as_dict(self) -> dict:
        return {
            "sentences": self.sentences,
            "entities": self.entities,
            "misaligned": self.misaligned,
            "expanded": self.expanded,
            "dropped": self.dropped,
            "misaligned_by_type": dict(sorted(self.misaligned_by_type.items())),
            "trimmed": self.trimmed,
        }


def project_entities(
    text: str, entities: Sequence, morphemes: Sequence, misaligned_entities: str = "drop"
) -> Projection:
    """Projects gold entity character spans onto the morphemes of an analysis of ``text``.

    A morpheme is part of an entity when its span lies inside the entity's (a zero-width morpheme,
    such as an elided copula, when it lies strictly inside). An entity with a boundary strictly
    inside a morpheme is misaligned: with ``misaligned_entities="drop"`` its morphemes stay ``O``;
    with ``"expand"`` every morpheme that overlaps it is labelled, unless one of them already
    belongs to another entity, in which case it is dropped. Entities are taken in text order.

    Args:
        text: the raw sentence.
        entities: its gold entities, as character spans of ``text``: objects with ``start``, ``end`` and ``type``
            (``formats.EntitySpan``).
        morphemes: objects with ``form``, ``tag`` (Sejong), ``start`` and ``end`` (offsets into
            ``text``), e.g. the ``Morpheme``s of ``KiwiMorphemeAnalyzer``, all sentences of the text.
        misaligned_entities: ``"drop"`` or ``"expand"``.
    """
    if misaligned_entities not in MISALIGNED_POLICIES:
        raise ValueError(
            f"misaligned_entities={misaligned_entities!r} is not supported; expected one of "
            f"{', '.join(MISALIGNED_POLICIES)}"
        )
    word_starts = [match.start() for match in _WORD.finditer(text)]
    projection = Projection(
        tokens=[morpheme.form for morpheme in morphemes],
        pos_tags=[morpheme.tag for morpheme in morphemes],
        ner_tags=[OUTSIDE] * len(morphemes),
        word_ids=[max(bisect.bisect_right(word_starts, morpheme.start) - 1, 0) for morpheme in morphemes],
    )
    labelled = [False] * len(morphemes)
    for entity in sorted(entities):
        overlapping = [i for i, morpheme in enumerate(morphemes) if _overlaps(morpheme, entity)]
        misaligned = any(morpheme_cuts(morphemes[i], entity) for i in overlapping)
        if misaligned:
            projection.misaligned.append(entity)
        if not overlapping or (misaligned and misaligned_entities == "drop") or any(labelled[i] for i in overlapping):
            projection.dropped.append(entity)
            continue
        for position, index in enumerate(overlapping):
            projection.ner_tags[index] = f"{'B' if position == 0 else 'I'}-{entity.type}"
            labelled[index] = True
    return projection


def morpheme_cuts(morpheme, entity) -> bool:
    """Whether a boundary of ``entity`` falls strictly inside ``morpheme``'s character span."""
    return morpheme.start < entity.start < morpheme.end or morpheme.start < entity.end < morpheme.end


def _overlaps(morpheme, entity) -> bool:
    if morpheme.start == morpheme.end:
        return entity.start < morpheme.start < entity.end
    return morpheme.start < entity.end and entity.start < morpheme.end
