"""Decoding of tag scores in numpy, for the ONNX Runtime backend: Viterbi and posterior marginals of a linear-chain
CRF, restricted (as the torch path restricts them) to valid IOB2 paths.

Each function mirrors its torch counterpart in `crf.py` (`allowed_transitions`, `viterbi_decode`,
`ConditionalRandomField.decode` and `.marginals`): same arguments, same padding conventions, same results. This
module imports numpy only (and the import-free `tags_mtl_bilstm`), so that decoding needs no torch.
"""

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from ..tags_mtl_bilstm import IGNORE_INDEX, iob2_allowed_moves


class NumpyTransitionConstraints(NamedTuple):
    """Which tag paths decoding may produce, as bool arrays (True: allowed), like `crf.TransitionConstraints`.

    Args:
        start (`np.ndarray` of shape `(num_tags,)`): whether a sequence may begin with each tag.
        transitions (`np.ndarray` of shape `(num_tags, num_tags)`): `transitions[i, j]` is whether tag `j` may
            follow tag `i`.
        end (`np.ndarray` of shape `(num_tags,)`): whether a sequence may end with each tag.
    """

    start: np.ndarray
    transitions: np.ndarray
    end: np.ndarray


class CRFScores(NamedTuple):
    """The learnt scores of a CRF head: `start` and `end` of shape `(num_tags,)`, `transitions` of shape
    `(num_tags, num_tags)` (`transitions[i, j]` scores tag `i` -> tag `j`)."""

    start: np.ndarray
    transitions: np.ndarray
    end: np.ndarray


def iob2_constraints(id2label: Mapping[int, str] | Sequence[str]) -> NumpyTransitionConstraints:
    """The moves of valid IOB2 tag sequences ([`iob2_allowed_moves`], the rule `crf.allowed_transitions` shares):
    `I-X` only after `B-X` or `I-X` (so never first), every other move allowed, every tag may end a sequence.
    `id2label` may have the str keys of a JSON round trip."""
    start, transitions, end = iob2_allowed_moves(id2label)
    return NumpyTransitionConstraints(
        start=np.array(start, dtype=bool), transitions=np.array(transitions, dtype=bool), end=np.array(end, dtype=bool)
    )


def viterbi_decode(
    emissions: np.ndarray,
    mask: np.ndarray,
    scores: CRFScores | None = None,
    constraints: NumpyTransitionConstraints | None = None,
    pad_tag_id: int = IGNORE_INDEX,
) -> np.ndarray:
    """
    Highest-scoring tag path of each sequence: emission scores plus, where given, the CRF's start, transition and
    end scores; disallowed moves (with `constraints`) score `-inf`. Without scores or constraints this is the
    per-position argmax.

    Args:
        emissions (`np.ndarray` of shape `(batch_size, sequence_length, num_tags)`): per-position tag scores.
        mask (`np.ndarray` of shape `(batch_size, sequence_length)`): left-aligned mask of real positions.
        scores ([`CRFScores`], *optional*): the CRF's learnt scores (zero where not given).
        constraints ([`NumpyTransitionConstraints`], *optional*): allowed moves, e.g. from [`iob2_constraints`].
        pad_tag_id (`int`, defaults to -100): value written at padding positions.

    Returns:
        `np.ndarray` of int64, shape `(batch_size, sequence_length)`.
    """
    emissions, mask = _checked(emissions, mask, np.float32)
    batch_size, sequence_length, num_tags = emissions.shape
    if scores is None and constraints is None:
        return np.where(mask, emissions.argmax(axis=2), pad_tag_id)
    start, transitions, end = _constrained(scores, constraints, num_tags, emissions.dtype)
    # Past a sequence's end every tag points back to itself, so the backtrace carries its final tag unchanged.
    identity = np.broadcast_to(np.arange(num_tags), (batch_size, num_tags))
    score = start + emissions[:, 0]
    backpointers = np.empty((max(sequence_length - 1, 0), batch_size, num_tags), dtype=np.int64)
    for position in range(1, sequence_length):
        candidates = score[:, :, None] + transitions  # (batch, previous tag, next tag)
        best_previous = candidates.argmax(axis=1)
        best_score = np.take_along_axis(candidates, best_previous[:, None, :], axis=1)[:, 0]
        is_real = mask[:, position, None]
        score = np.where(is_real, best_score + emissions[:, position], score)
        backpointers[position - 1] = np.where(is_real, best_previous, identity)
    path = np.empty((batch_size, sequence_length), dtype=np.int64)
    best_tag = (score + end).argmax(axis=1)
    path[:, -1] = best_tag
    rows = np.arange(batch_size)
    for position in range(sequence_length - 2, -1, -1):
        best_tag = backpointers[position][rows, best_tag]
        path[:, position] = best_tag
    return np.where(mask, path, pad_tag_id)


def crf_marginals(
    emissions: np.ndarray,
    mask: np.ndarray,
    scores: CRFScores,
    constraints: NumpyTransitionConstraints | None = None,
) -> np.ndarray:
    """
    Posterior marginal probability of each tag at each position, `P(y_t = j | emissions)`, by the forward-backward
    algorithm in float64 (as the predictor asks of the torch CRF). With `constraints` the distribution is over the
    allowed paths only, the one whose best path `viterbi_decode(..., constraints=...)` returns.

    The recursions run on probabilities rescaled at every position (a matrix product per step, where the log-space
    version takes a log-sum-exp over every pair of tags): the marginal at a position is the product of its forward
    and backward vectors normalised to sum to 1, so the scale factors cancel and the result is the log-space one.
    Scores so far apart that every allowed path underflows (differences of hundreds) fall back to log space.

    Returns:
        `np.ndarray` of float64, shape `(batch_size, sequence_length, num_tags)`: each real position sums to 1;
        padding positions are 0.
    """
    emissions, mask = _checked(emissions, mask, np.float64)
    batch_size, sequence_length, num_tags = emissions.shape
    start, transitions, end = _constrained(scores, constraints, num_tags, np.float64)
    # Scores shifted by their maximum before exp (a constant per position cancels): no overflow, and disallowed
    # moves (-inf) become probability 0.
    potentials = np.exp(emissions - emissions.max(axis=2, keepdims=True))
    moves = np.exp(transitions - transitions[np.isfinite(transitions)].max(initial=0.0))
    first, last = np.exp(start - start.max()), np.exp(end - end.max())
    # 0 / 0 where every allowed path underflowed: detected below, then recomputed in log space.
    with np.errstate(invalid="ignore", divide="ignore"):
        forward = np.empty_like(potentials)
        alpha = first * potentials[:, 0]
        forward[:, 0] = alpha = alpha / alpha.sum(axis=1, keepdims=True)
        for position in range(1, sequence_length):
            next_alpha = (alpha @ moves) * potentials[:, position]
            next_alpha /= next_alpha.sum(axis=1, keepdims=True)
            # Carried over padding, as the log-space recursion carries it.
            forward[:, position] = alpha = np.where(mask[:, position, None], next_alpha, alpha)
        backward = np.empty_like(potentials)
        final = np.broadcast_to(last / last.sum(), (batch_size, num_tags))
        backward[:, -1] = beta = final
        for position in range(sequence_length - 2, -1, -1):
            next_beta = (potentials[:, position + 1] * beta) @ moves.T
            next_beta /= next_beta.sum(axis=1, keepdims=True)
            # A sequence's last position (and, unused, its padding) reads the end scores.
            backward[:, position] = beta = np.where(mask[:, position + 1, None], next_beta, final)
        marginals = forward * backward
        marginals /= marginals.sum(axis=2, keepdims=True)
    if not np.isfinite(marginals[mask]).all():
        return _log_space_marginals(emissions, mask, start, transitions, end)
    return np.where(mask[:, :, None], marginals, 0.0)


def _log_space_marginals(emissions, mask, start, transitions, end) -> np.ndarray:
    """Forward-backward in log space, as `ConditionalRandomField.marginals` runs it (checked, constrained inputs)."""
    sequence_length = emissions.shape[1]
    alphas = [start + emissions[:, 0]]
    for position in range(1, sequence_length):
        next_alpha = _logsumexp(alphas[-1][:, :, None] + transitions, axis=1) + emissions[:, position]
        alphas.append(np.where(mask[:, position, None], next_alpha, alphas[-1]))
    log_partition = _logsumexp(alphas[-1] + end, axis=1)
    final_beta = np.broadcast_to(end, alphas[0].shape)
    betas = [final_beta]
    for position in range(sequence_length - 2, -1, -1):
        following = (emissions[:, position + 1] + betas[-1])[:, None, :]
        next_beta = _logsumexp(transitions + following, axis=2)
        betas.append(np.where(mask[:, position + 1, None], next_beta, final_beta))
    log_marginals = np.stack(alphas, axis=1) + np.stack(betas[::-1], axis=1)
    with np.errstate(invalid="ignore"):
        marginals = np.exp(log_marginals - log_partition[:, None, None])
    return np.where(mask[:, :, None], marginals, 0.0)


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    peak = values.max(axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)  # rows of -inf only stay -inf rather than become nan
    with np.errstate(divide="ignore"):
        return np.log(np.exp(values - peak).sum(axis=axis)) + np.squeeze(peak, axis=axis)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float32 (a softmax head's tag probabilities)."""
    logits = np.asarray(logits, dtype=np.float32)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis, in float32 (what a softmax head's constrained Viterbi reads)."""
    logits = np.asarray(logits, dtype=np.float32)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _checked(emissions, mask, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Shapes and left-aligned mask checked; emissions in `dtype` (at least), zero at padding as the torch CRF has
    them; a bool mask."""
    emissions = np.asarray(emissions)
    mask = np.asarray(mask).astype(bool, copy=False)
    if emissions.ndim != 3 or emissions.shape[1] == 0:
        raise ValueError(
            "emissions: expected shape (batch_size, sequence_length >= 1, num_tags), "
            f"received {tuple(emissions.shape)}."
        )
    if mask.shape != emissions.shape[:2]:
        raise ValueError(f"mask: expected shape {tuple(emissions.shape[:2])}, received {tuple(mask.shape)}.")
    if not mask[:, 0].all():
        raise ValueError(
            "mask: expected every sequence to start with a real position, received a padding position first in "
            f"batch rows {np.flatnonzero(~mask[:, 0]).tolist()}."
        )
    gaps = mask[:, 1:] & ~mask[:, :-1]
    if gaps.any():
        raise ValueError(
            "mask: expected left-aligned sequences (ones followed by zeros), received a zero before a one in batch "
            f"rows {np.flatnonzero(gaps.any(axis=1)).tolist()}."
        )
    compute_dtype = np.promote_types(emissions.dtype, dtype)
    return np.where(mask[:, :, None], emissions.astype(compute_dtype, copy=False), 0.0).astype(compute_dtype), mask


def _constrained(scores, constraints, num_tags, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start, transition and end scores (zeros where no CRF) in `dtype`, disallowed moves at -inf."""
    if scores is None:
        start, transitions, end = np.zeros(num_tags), np.zeros((num_tags, num_tags)), np.zeros(num_tags)
    else:
        start, transitions, end = (np.asarray(value) for value in scores)
    start, transitions, end = (value.astype(dtype) for value in (start, transitions, end))
    expected = {"start": (num_tags,), "transitions": (num_tags, num_tags), "end": (num_tags,)}
    received = {"start": start.shape, "transitions": transitions.shape, "end": end.shape}
    if received != expected:
        raise ValueError(f"CRF scores: expected shapes {expected} for {num_tags} tags, received {received}.")
    if constraints is not None:
        shapes = {name: np.shape(value) for name, value in constraints._asdict().items()}
        if shapes != expected:
            raise ValueError(f"constraints: expected shapes {expected} for {num_tags} tags, received {shapes}.")
        start = np.where(constraints.start, start, -np.inf).astype(dtype)
        transitions = np.where(constraints.transitions, transitions, -np.inf).astype(dtype)
        end = np.where(constraints.end, end, -np.inf).astype(dtype)
    return start, transitions, end


__all__ = [
    "CRFScores",
    "NumpyTransitionConstraints",
    "crf_marginals",
    "iob2_constraints",
    "log_softmax",
    "softmax",
    "viterbi_decode",
]
