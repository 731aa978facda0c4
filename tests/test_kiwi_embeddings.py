"""Kiwi CoNg vectors, against a stand-in Kiwi whose embeddings we know (the real model takes ~40 s)."""

import math

import numpy as np
import pytest

from modeling_mtl_bilstm.training import kiwi_embeddings
from modeling_mtl_bilstm.training.pretrained_embeddings import read_text_vectors


class FakeToken:
    def __init__(self, form, tag):
        self.form, self.tag = form, tag


class FakeKiwi:
    """Ids below `embedded` have vectors (cosine similarity); the rest answer NaN, as Kiwi does."""

    def __init__(self, forms, embedded, dim=8, seed=0):
        self.forms, self.embedded = forms, embedded
        vectors = np.random.default_rng(seed).normal(size=(embedded, dim))
        self.vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def morpheme(self, morpheme_id):
        if morpheme_id >= len(self.forms):
            raise ValueError("out of range")
        return FakeToken(*self.forms[morpheme_id])

    def morpheme_similarity(self, a, b):
        if max(a, b) >= self.embedded:
            return math.nan
        return float(self.vectors[a] @ self.vectors[b])


FORMS = [("", "UN"), ("", "UN")] + [(f"m{i}", "NNG") for i in range(300)] + [("m5", "VV"), ("x", "UN")] * 50


@pytest.mark.parametrize("embedded", [3, 37, 150, 302])
def test_embedded_count_is_found_by_bisection(embedded):
    assert kiwi_embeddings._embedded_morpheme_count(FakeKiwi(FORMS, embedded), probe=2) == embedded


def test_vectors_keep_kiwi_geometry_and_scale(monkeypatch, tmp_path):
    fake = FakeKiwi(FORMS, embedded=250, dim=8)
    monkeypatch.setattr(kiwi_embeddings, "_load_kiwi", lambda: fake)
    vectors = kiwi_embeddings.kiwi_morpheme_vectors(dim=8, num_anchors=40, scale=0.1)
    assert len(vectors) == 248  # ids 2..249, empty forms and UN left out, first reading of a form kept
    matrix = np.stack(list(vectors.values()))
    assert matrix.shape == (248, 8) and matrix.std() == pytest.approx(0.1, rel=1e-4)
    # Similarities to 40 anchors are a linear map of the 8-d embeddings, and PCA keeps all 8 directions:
    # our vectors are an affine function of Kiwi's (least squares leaves no residual).
    design = np.hstack([fake.vectors[2:250], np.ones((248, 1))])
    _, residual, rank, _ = np.linalg.lstsq(design, matrix, rcond=None)
    assert rank == 9 and residual.sum() < 1e-8 * (matrix**2).sum()
    path = kiwi_embeddings.write_kiwi_vectors(tmp_path / "kiwi.txt", dim=8, num_anchors=40)
    assert (tmp_path / "kiwi.txt").read_text(encoding="utf-8").splitlines()[0] == "248 8"
    assert set(read_text_vectors(path)) == set(vectors)


def test_forms_are_written_in_compatibility_jamo_as_the_corpora_write_them(monkeypatch):
    assert kiwi_embeddings.compatibility_jamo("\u11ab") == "\u3134"  # ᆫ (ETM) -> ㄴ
    assert kiwi_embeddings.compatibility_jamo("\u11bb\u11af") == "\u3146\u3139"  # ᆻ, ᆯ -> ㅆ, ㄹ
    assert kiwi_embeddings.compatibility_jamo("한국\u3134") == "한국\u3134"  # syllables and ㄴ stay
    forms = [("", "UN"), ("m0", "NNG"), ("\u11ab", "ETM"), ("\u3134", "JKS"), ("m1", "NNG")] + [
        (f"m{i}", "NNG") for i in range(2, 60)
    ]
    monkeypatch.setattr(kiwi_embeddings, "_load_kiwi", lambda: FakeKiwi(forms, embedded=len(forms), dim=8))
    vectors = kiwi_embeddings.kiwi_morpheme_vectors(dim=4, num_anchors=20)
    assert "\u3134" in vectors and "\u11ab" not in vectors
    assert len(vectors) == len(forms) - 2  # the two readings of ㄴ are one form: the first (more frequent) kept
