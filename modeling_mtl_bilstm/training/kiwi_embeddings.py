"""Morpheme vectors from Kiwi's CoNg language model, which ships offline in `kiwipiepy_model`.

Kiwi does not expose its embedding matrix, only cosine similarities between morphemes. The
similarities of a morpheme to a fixed set of frequent "anchor" morphemes are a linear function of
its normalised embedding (projected onto the anchors), so they keep what Kiwi learned up to a
linear map: we compute them for every embedded morpheme and reduce them with PCA to the model's
embedding size.
"""

import logging
import math
import unicodedata
from pathlib import Path

import numpy as np

from ..inference.morphology import KOREAN_EXTRA_INSTALL
from .pretrained_embeddings import write_text_vectors


logger = logging.getLogger(__name__)


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


def _load_kiwi():
    try:
        from kiwipiepy import Kiwi
    except ImportError as error:
        raise ImportError(f"Kiwi embeddings need kiwipiepy, which is not installed: {KOREAN_EXTRA_INSTALL}") from error
    return Kiwi(model_type="cong")


def _embedded_morpheme_count(kiwi, probe: int) -> int:
    """Kiwi's morpheme ids are ordered so that the ones with a CoNg embedding come first: find where
    the similarity turns NaN by bisection."""
    low, high = probe, probe * 2  # `probe` has an embedding: search above it
    while not math.isnan(kiwi.morpheme_similarity(high, probe)):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if math.isnan(kiwi.morpheme_similarity(middle, probe)):
            high = middle
        else:
            low = middle
    return high


def kiwi_morpheme_vectors(dim: int = 100, num_anchors: int = 400, scale: float = 0.1) -> dict[str, np.ndarray]:
    """`{form: vector}` for every morpheme form with a CoNg embedding (the most frequent reading of a
    form wins; forms in compatibility jamo, as the corpora write them), each vector of size `dim`, with an overall
    standard deviation of `scale`."""
    kiwi = _load_kiwi()
    probe = next(i for i in range(1000) if kiwi.morpheme(i).form)
    count = _embedded_morpheme_count(kiwi, probe)
    ids_by_form: dict[str, int] = {}
    for morpheme_id in range(count):
        token = kiwi.morpheme(morpheme_id)
        if token.form and token.tag != "UN":
            ids_by_form.setdefault(compatibility_jamo(token.form), morpheme_id)  # lower id = more frequent reading
    ids = list(ids_by_form.values())
    anchors = ids[:num_anchors]
    similarity = np.empty((len(ids), len(anchors)), dtype=np.float32)
    for row, morpheme_id in enumerate(ids):
        similarity[row] = [kiwi.morpheme_similarity(morpheme_id, anchor) for anchor in anchors]
    centered = similarity - similarity.mean(axis=0)
    _, _, components = np.linalg.svd(centered[: min(len(ids), 20000)], full_matrices=False)
    vectors = centered @ components[:dim].T
    vectors *= scale / vectors.std()
    logger.info("Kiwi CoNg vectors: %d forms, %d anchors, %d dimensions.", len(ids), len(anchors), dim)
    return dict(zip(ids_by_form, vectors))


def write_kiwi_vectors(path: str | Path, dim: int = 100, **kwargs) -> Path:
    """Writes `kiwi_morpheme_vectors` as a word2vec text file (what `--morpheme_vectors_file` reads)."""
    return write_text_vectors(path, kiwi_morpheme_vectors(dim=dim, **kwargs), dim)
