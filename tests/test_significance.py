"""Tests of the paired significance test of an entity-F1 difference (modeling_mtl_bilstm.training.significance)."""

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest

from modeling_mtl_bilstm.training.significance import f1_of_counts, paired_f1_test, sentence_entity_counts


METRIC_FILE = Path(__file__).resolve().parents[1] / "metrics" / "korean_ner_pos" / "korean_ner_pos.py"


def compute_scores(**kwargs):
    spec = importlib.util.spec_from_file_location("korean_ner_pos_for_significance", METRIC_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.compute_scores(**kwargs)


REFERENCES = [["B-PS", "I-PS", "O", "B-LC"], ["O", "B-DT", "I-DT"], ["B-OG"], ["O", "O"], ["B-LC", "B-LC"]]
PREDICTIONS = [["B-PS", "I-PS", "O", "B-OG"], ["O", "I-DT", "I-DT"], ["B-OG"], ["B-PS", "O"], ["B-LC", "I-LC"]]


def test_sentence_counts_sum_to_the_metrics_f1():
    counts = sentence_entity_counts(PREDICTIONS, REFERENCES)
    assert counts == [[1, 2, 2], [0, 0, 1], [1, 1, 1], [0, 1, 0], [0, 1, 2]]  # a stray I- starts no entity
    scores = compute_scores(ner_predictions=PREDICTIONS, ner_references=REFERENCES)
    assert f1_of_counts(np.array(counts)) == pytest.approx(scores["ner_f1"], abs=1e-12)


def test_identical_systems_differ_by_nothing():
    counts = sentence_entity_counts(PREDICTIONS, REFERENCES)
    result = paired_f1_test(counts, counts, resamples=200)
    assert result["delta"] == 0 and result["p_value"] == 1.0
    assert result["ci95_low"] == result["ci95_high"] == 0


def test_exact_randomisation_oracle():
    """With 8 sentences every one of the 2**8 swaps can be enumerated: the sampled p-value approaches the exact
    one."""
    rng = np.random.default_rng(3)
    gold = rng.integers(1, 4, size=8)
    a = np.stack([gold, gold, gold], axis=1)  # system A finds every entity
    b = np.stack([rng.integers(0, 2, size=8), gold, gold], axis=1)
    b[:, 0] = np.minimum(b[:, 0], gold)
    observed = abs(f1_of_counts(a) - f1_of_counts(b))
    extreme = 0
    for swap in itertools.product([False, True], repeat=8):
        swap = np.array(swap)[:, None]
        extreme += abs(f1_of_counts(np.where(swap, b, a)) - f1_of_counts(np.where(swap, a, b))) >= observed - 1e-12
    exact = extreme / 2**8
    result = paired_f1_test(a.tolist(), b.tolist(), resamples=20_000, seed=1)
    assert result["delta"] == pytest.approx(f1_of_counts(a) - f1_of_counts(b))
    assert result["p_value"] == pytest.approx(exact, abs=0.01)


def test_a_clearly_better_system_is_significant_and_its_interval_excludes_zero():
    rng = np.random.default_rng(0)
    gold = rng.integers(1, 3, size=400)
    better = np.stack([gold, gold, gold], axis=1)
    worse = np.stack([np.where(rng.random(400) < 0.7, gold, 0), gold, gold], axis=1)
    result = paired_f1_test(better.tolist(), worse.tolist(), resamples=2000)
    assert result["p_value"] < 0.01 and 0 < result["ci95_low"] < result["delta"] < result["ci95_high"]
    assert paired_f1_test(better.tolist(), worse.tolist(), resamples=2000) == result  # seeded: reproducible


def test_different_sentences_are_refused():
    with pytest.raises(ValueError, match="same gold entities"):
        paired_f1_test([[1, 1, 1]], [[0, 0, 2]])
    with pytest.raises(ValueError, match=r"Expected two \(sentences, 3\) count tables of one shape"):
        paired_f1_test([[1, 1, 1]], [[1, 1, 1], [0, 0, 0]])
