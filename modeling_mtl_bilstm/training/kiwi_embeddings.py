"""Morpheme vectors from Kiwi's CoNg language model, which ships offline in `kiwipiepy_model`.

Kiwi does not expose its embedding matrix, only cosine similarities between morphemes. The
similarities of a morpheme to a fixed set of frequent "anchor" morphemes are a linear function of
its normalised embedding (projected onto the anchors), so they keep what Kiwi learned up to a
linear map: we compute them for every embedded morpheme and reduce them with PCA to the model's
embedding size.
"""

import logging
from pathlib import Path

import numpy as np

from ..cong_mtl_bilstm import embedded_form_ids, load_cong_kiwi
from .pretrained_embeddings import write_text_vectors


logger = logging.getLogger(__name__)


def _load_kiwi():
    return load_cong_kiwi()


def kiwi_morpheme_vectors(dim: int = 100, num_anchors: int = 400, scale: float = 0.1) -> dict[str, np.ndarray]:
    """`{form: vector}` for every morpheme form with a CoNg embedding (the most frequent reading of a
    form wins; forms in compatibility jamo, as the corpora write them), each vector of size `dim`, with an overall
    standard deviation of `scale`."""
    kiwi = _load_kiwi()
    ids_by_form = embedded_form_ids(kiwi)
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
