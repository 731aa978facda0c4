"""Morpheme vectors trained with gensim (word2vec or fastText) on a run's own training sentences.

They are the corpus-local alternative to Kiwi's CoNg vectors: trained on the morphemes the model will read, never
on the dev or test splits, and cached under a key of their content (the method, its settings and the sentences).
"""

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .pretrained_embeddings import write_text_vectors


logger = logging.getLogger(__name__)

LOCAL_VECTOR_METHODS = ("word2vec", "fasttext")
VECTORS_EXTRA_INSTALL = "pip install 'mtl-bilstm-ner[vectors]' (or pip install gensim)"

# Skip-gram with a window of 5 over 20 epochs: the training sets are small (thousands of sentences), which
# skip-gram handles better than CBOW and which need more passes than gensim's default 5. fastText's subwords are
# syllable n-grams of 1 to 3, the length of most Korean morphemes (its default 3-6 would leave them unsplit).
GENSIM_SETTINGS = {"sg": 1, "window": 5, "min_count": 1, "negative": 5, "sample": 1e-3, "epochs": 20}
FASTTEXT_SETTINGS = {"min_n": 1, "max_n": 3}


def _stable_hash(word: str) -> int:
    """gensim seeds each word's initial vector with this; Python's `hash` of a str changes with each process
    (PYTHONHASHSEED), which would make the vectors differ between two runs of the same command."""
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=4).digest(), "little")


def _gensim_models():
    try:
        from gensim.models import FastText, Word2Vec
    except ImportError as error:
        raise ImportError(
            f"fastText and word2vec vectors need gensim, which is not installed: {VECTORS_EXTRA_INSTALL}"
        ) from error
    return {"word2vec": Word2Vec, "fasttext": FastText}


def train_local_vectors(
    sentences: Sequence[Sequence[str]], method: str = "fasttext", dim: int = 100, seed: int = 1, scale: float = 0.1
) -> dict[str, np.ndarray]:
    """`{morpheme: vector}` for every morpheme of `sentences`, trained with gensim's `method` (`word2vec` or
    `fasttext`) in one worker thread (so that a seed gives the same vectors), each vector of size `dim`, with an
    overall standard deviation of `scale` (that of the Kiwi vectors, near the embeddings' own initialisation)."""
    if method not in LOCAL_VECTOR_METHODS:
        raise ValueError(f"local vectors: expected a method in {LOCAL_VECTOR_METHODS}, received {method!r}.")
    sentences = [list(sentence) for sentence in sentences if sentence]
    if not sentences:
        raise ValueError("local vectors: expected training sentences, received none.")
    settings = dict(GENSIM_SETTINGS, **(FASTTEXT_SETTINGS if method == "fasttext" else {}))
    model = _gensim_models()[method](
        sentences=sentences, vector_size=dim, seed=seed, workers=1, hashfxn=_stable_hash, **settings
    )
    vectors = model.wv.vectors - model.wv.vectors.mean(axis=0)
    vectors = (vectors * (scale / max(float(vectors.std()), 1e-12))).astype(np.float32)
    logger.info("Local %s vectors: %d morphemes from %d sentences.", method, len(vectors), len(sentences))
    return dict(zip(model.wv.index_to_key, vectors))


def local_vectors_file(
    sentences: Iterable[Sequence[str]], method: str, dim: int, directory: str | Path, seed: int = 1
) -> Path:
    """The text-format vector file of `train_local_vectors(sentences, method, dim, seed)` in `directory`, trained
    and written there the first time; its name holds a hash of the method, settings, seed and sentences, so the
    same inputs reuse it and other inputs never do."""
    sentences = [list(sentence) for sentence in sentences]
    key = hashlib.sha256(
        json.dumps(
            [method, dim, seed, GENSIM_SETTINGS, FASTTEXT_SETTINGS if method == "fasttext" else {}, sentences],
            ensure_ascii=False,
        ).encode("utf-8")
    ).hexdigest()[:16]
    path = Path(directory) / f"local_{method}_{dim}d_{key}.txt"
    if path.exists():
        logger.info("Local %s vectors: reusing %s", method, path)
        return path
    partial = path.with_suffix(".partial")
    write_text_vectors(partial, train_local_vectors(sentences, method, dim, seed), dim)
    return partial.rename(path)
