"""Paired significance of an entity-F1 difference between two taggers scored on the same test sentences.

Each tagger's test output is kept as one `(correct, predicted, gold)` count of strict IOB2 entities per sentence.
Corpus F1 is not a mean over sentences, so the tests resample or swap whole sentences and recompute F1:

* approximate randomisation (Noreen 1989; Riezler and Maxwell 2005): under the null hypothesis the two systems
  are exchangeable, so each sentence's pair of outputs is swapped with probability 1/2; the p-value is the share
  of shuffles whose |F1 difference| reaches the observed one (two-sided, with the +1 correction);
* paired bootstrap (Koehn 2004; Berg-Kirkpatrick et al. 2012): sentences are drawn with replacement, the same
  draw for both systems; the 2.5th and 97.5th percentiles of the F1 difference give a 95% interval.

Several seeds are pooled by pairing run i of one model with run i of the other and treating every (seed,
sentence) as one unit.
"""

import numpy as np

from ..data_scripts.tag_schemes import iob2_spans


DEFAULT_RESAMPLES = 10_000
RESAMPLES_PER_CHUNK = 500


def sentence_entity_counts(predictions: list[list[str]], references: list[list[str]]) -> list[list[int]]:
    """`[correct, predicted, gold]` strict IOB2 entity counts of each sentence (`tag_schemes.iob2_spans`, as the
    korean_ner_pos metric counts entities: a stray `I-` starts no entity)."""
    counts = []
    for predicted, gold in zip(predictions, references, strict=True):
        predicted_entities, gold_entities = set(iob2_spans(predicted)), set(iob2_spans(gold))
        counts.append([len(predicted_entities & gold_entities), len(predicted_entities), len(gold_entities)])
    return counts


def f1_of_counts(counts: np.ndarray) -> np.ndarray:
    """Corpus F1 of `counts[..., sentence, (correct, predicted, gold)]` summed over sentences; 0 without entities."""
    correct, predicted, gold = (counts[..., i].sum(axis=-1) for i in range(3))
    denominator = predicted + gold
    return np.divide(2 * correct, denominator, out=np.zeros(np.shape(denominator), float), where=denominator > 0)


def paired_f1_test(
    counts_a: list[list[int]], counts_b: list[list[int]], resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> dict[str, float]:
    """Is system A's entity F1 different from system B's on the same sentences?

    Args:
        counts_a, counts_b: per-sentence `[correct, predicted, gold]` of each system, the same sentences in the same
            order (the gold counts must agree).
        resamples: shuffles for approximate randomisation and draws for the bootstrap.
        seed: of the random generator, so that a report is reproducible.

    Returns:
        `f1_a`, `f1_b`, `delta` (A minus B), `p_value` (approximate randomisation, two-sided), `ci95_low`,
        `ci95_high` (paired bootstrap percentile interval of the delta), `sentences`, `resamples`.
    """
    a, b = np.asarray(counts_a, dtype=np.int64), np.asarray(counts_b, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 3:
        raise ValueError(f"Expected two (sentences, 3) count tables of one shape, received {a.shape} and {b.shape}.")
    if not np.array_equal(a[:, 2], b[:, 2]):
        raise ValueError("Expected the same gold entities per sentence for both systems: the sentences differ.")
    rng = np.random.default_rng(seed)
    observed = float(f1_of_counts(a) - f1_of_counts(b))

    shuffled_deltas, bootstrap_deltas = [], []
    # In chunks of shuffles, so that memory stays at a few MB per chunk whatever the number of sentences.
    for chunk in np.array_split(np.arange(resamples), max(1, resamples // RESAMPLES_PER_CHUNK)):
        swap = rng.random((len(chunk), len(a), 1)) < 0.5
        shuffled_deltas.append(f1_of_counts(np.where(swap, b, a)) - f1_of_counts(np.where(swap, a, b)))
    for chunk in np.array_split(np.arange(resamples), max(1, resamples // RESAMPLES_PER_CHUNK)):
        draws = rng.integers(0, len(a), size=(len(chunk), len(a)))
        bootstrap_deltas.append(f1_of_counts(a[draws]) - f1_of_counts(b[draws]))
    shuffled_deltas, bootstrap_deltas = np.concatenate(shuffled_deltas), np.concatenate(bootstrap_deltas)
    # A small tolerance so that shuffles equal to the observed difference count despite float rounding.
    extreme = np.count_nonzero(np.abs(shuffled_deltas) >= abs(observed) - 1e-12)
    p_value = (extreme + 1) / (resamples + 1)
    low, high = np.percentile(bootstrap_deltas, [2.5, 97.5])
    return {
        "f1_a": float(f1_of_counts(a)),
        "f1_b": float(f1_of_counts(b)),
        "delta": observed,
        "p_value": float(p_value),
        "ci95_low": float(low),
        "ci95_high": float(high),
        "sentences": len(a),
        "resamples": resamples,
    }
