"""Batched, vectorised linear-chain conditional random field (CRF) for sequence labelling, with Viterbi decoding
that can be restricted to valid IOB2 tag sequences."""

from typing import NamedTuple

import torch
from torch import nn

from .tags_mtl_bilstm import IGNORE_INDEX, iob2_allowed_moves


_REDUCTIONS = ("none", "sum", "mean", "token_mean")


class TransitionConstraints(NamedTuple):
    """
    Which tag paths decoding may produce, as bool tensors (True: allowed).

    Args:
        start (`torch.BoolTensor` of shape `(num_tags,)`): whether a sequence may begin with each tag.
        transitions (`torch.BoolTensor` of shape `(num_tags, num_tags)`): `transitions[i, j]` is whether tag `j`
            may follow tag `i`.
        end (`torch.BoolTensor` of shape `(num_tags,)`): whether a sequence may end with each tag.
    """

    start: torch.Tensor
    transitions: torch.Tensor
    end: torch.Tensor


def allowed_transitions(id2label: dict[int, str] | list[str] | tuple[str, ...]) -> TransitionConstraints:
    """
    The moves of valid IOB2 tag sequences ([`iob2_allowed_moves`], the rule the numpy decoder shares): `I-X` only
    after `B-X` or `I-X`, every other move allowed, every tag may end a sequence.

    Args:
        id2label (`dict[int, str]` with ids `0 .. num_tags - 1`, or a list of tag names in id order).

    Returns:
        [`TransitionConstraints`] of CPU bool tensors.
    """
    start, transitions, end = iob2_allowed_moves(id2label)
    return TransitionConstraints(
        start=torch.tensor(start), transitions=torch.tensor(transitions), end=torch.tensor(end)
    )


def viterbi_decode(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    transitions: torch.Tensor | None = None,
    start_transitions: torch.Tensor | None = None,
    end_transitions: torch.Tensor | None = None,
    constraints: TransitionConstraints | None = None,
    pad_tag_id: int = IGNORE_INDEX,
) -> torch.LongTensor:
    """
    Highest-scoring tag path of each sequence (Viterbi algorithm), the score of a path being its emission scores
    plus its start, transition and end scores (each zero where not given). With `constraints`, disallowed moves
    score `-inf`, so the path is the best one among the allowed paths. Without transition scores or constraints
    this is the per-position argmax; over log-softmax scores with IOB2 constraints it is the most probable valid
    IOB2 sequence of a softmax tagger.

    Args:
        emissions (`torch.FloatTensor` of shape `(batch_size, sequence_length, num_tags)`): per-position tag scores.
        mask (`torch.BoolTensor` of shape `(batch_size, sequence_length)`): left-aligned mask of real positions.
        transitions (`torch.FloatTensor` of shape `(num_tags, num_tags)`, *optional*): score of tag `i` -> tag `j`.
        start_transitions / end_transitions (`torch.FloatTensor` of shape `(num_tags,)`, *optional*).
        constraints ([`TransitionConstraints`], *optional*): allowed moves, e.g. from [`allowed_transitions`].
        pad_tag_id (`int`, *optional*, defaults to -100): value written at padding positions.

    Returns:
        `torch.LongTensor` of shape `(batch_size, sequence_length)` on the emissions' device.
    """
    emissions, mask = _checked_emissions_and_mask(emissions, mask, num_tags=None)
    zeros = emissions.new_zeros(emissions.size(2))
    start, end, transitions = _constrained_scores(
        zeros if start_transitions is None else start_transitions.to(emissions.dtype),
        zeros if end_transitions is None else end_transitions.to(emissions.dtype),
        zeros.expand(emissions.size(2), -1) if transitions is None else transitions.to(emissions.dtype),
        constraints,
    )
    return _viterbi(emissions, mask, start, end, transitions, pad_tag_id)


class ConditionalRandomField(nn.Module):
    r"""
    Linear-chain conditional random field over `num_tags` tags.

    The score of a tag path `y_1 .. y_n` given emissions `e` is

        start_transitions[y_1] + sum_t e[t, y_t] + sum_{t > 1} transitions[y_{t-1}, y_t] + end_transitions[y_n]

    and its probability is `exp(score) / Z`, where the partition function `Z` sums `exp(score)` over all
    `num_tags ** n` paths (forward algorithm in log space).

    Every method is batched: Python loops run over time steps only. Sequences of different lengths share a batch
    through a left-aligned mask (ones then zeros, first position on), and each sequence gets exactly the result it
    would get alone. Scores are computed in float32 or wider: half-precision emissions are upcast, because the
    log-sum-exp recursion accumulates over the whole sequence. No method branches in Python on tensor values once
    its inputs are checked, and the checks are skipped under `torch.compile` / `torch.export`, so every method
    traces into a single graph.

    Args:
        num_tags (`int`):
            Number of tags.
    """

    def __init__(self, num_tags: int):
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"num_tags must be positive: expected >= 1, received {num_tags}")
        self.num_tags = num_tags
        self.start_transitions = nn.Parameter(torch.empty(num_tags))
        self.end_transitions = nn.Parameter(torch.empty(num_tags))
        # transitions[i, j] is the score of moving from tag i to tag j.
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise all transition scores uniformly in [-0.1, 0.1]."""
        for parameter in (self.start_transitions, self.end_transitions, self.transitions):
            nn.init.uniform_(parameter, -0.1, 0.1)

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}"

    def forward(
        self,
        emissions: torch.Tensor,
        tags: torch.Tensor,
        mask: torch.Tensor,
        reduction: str = "mean",
        allowed_tags: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """
        Negative log-likelihood of the gold tag paths.

        Args:
            emissions (`torch.FloatTensor` of shape `(batch_size, sequence_length, num_tags)`):
                Per-position tag scores (any floating dtype; values at padding positions are ignored).
            tags (`torch.LongTensor` of shape `(batch_size, sequence_length)`):
                Gold tag ids in `[0, num_tags)`; padding positions may hold anything (e.g. -100).
            mask (`torch.BoolTensor` of shape `(batch_size, sequence_length)`):
                Left-aligned mask of real positions (any integer or bool dtype).
            reduction (`str`, *optional*, defaults to `"mean"`):
                `"none"` returns one value per sequence, `"sum"` their sum, `"mean"` their mean over sequences and
                `"token_mean"` their sum divided by the number of real positions.
            allowed_tags (`torch.BoolTensor` of shape `(batch_size, sequence_length, num_tags)`, *optional*):
                Partial annotation (Tsuboi et al., 2008): the tags each real position may hold, the gold tag among
                them. The gold is then every path through allowed tags, and the loss is minus the log of their
                summed probability; a position that allows every tag adds no evidence.

        Returns:
            `torch.FloatTensor` of shape `(batch_size,)` for `reduction="none"`, a scalar otherwise.
        """
        if reduction not in _REDUCTIONS:
            raise ValueError(f"Unknown reduction: expected one of {_REDUCTIONS}, received {reduction!r}")
        emissions, mask, tags = self._validate(emissions, mask, tags)
        if allowed_tags is None:
            gold_score = self._path_score(emissions, tags, mask)
        else:
            allowed_tags = self._checked_allowed_tags(allowed_tags, tags, mask, emissions.shape)
            gold_score = self._log_partition(emissions.masked_fill(~allowed_tags, float("-inf")), mask)
        nll = self._log_partition(emissions, mask) - gold_score
        if reduction == "none":
            return nll
        if reduction == "sum":
            return nll.sum()
        if reduction == "mean":
            return nll.mean()
        return nll.sum() / mask.sum()

    def log_likelihood(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """
        Log-probability of each gold tag path (arguments as in `forward`).

        Returns:
            `torch.FloatTensor` of shape `(batch_size,)`.
        """
        emissions, mask, tags = self._validate(emissions, mask, tags)
        return self._path_score(emissions, tags, mask) - self._log_partition(emissions, mask)

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """
        Log of the partition function, i.e. log-sum-exp of the scores of all tag paths (arguments as in `forward`).

        Returns:
            `torch.FloatTensor` of shape `(batch_size,)`.
        """
        emissions, mask, _ = self._validate(emissions, mask)
        return self._log_partition(emissions, mask)

    @torch.no_grad()
    def marginals(
        self, emissions: torch.Tensor, mask: torch.Tensor, constraints: TransitionConstraints | None = None
    ) -> torch.FloatTensor:
        """
        Posterior marginal probability of each tag at each position, `P(y_t = j | emissions)`, by the
        forward-backward algorithm in log space (no autograd).

        Args:
            emissions (`torch.FloatTensor` of shape `(batch_size, sequence_length, num_tags)`):
                Per-position tag scores.
            mask (`torch.BoolTensor` of shape `(batch_size, sequence_length)`):
                Left-aligned mask of real positions (any integer or bool dtype).
            constraints ([`TransitionConstraints`], *optional*):
                Restrict the distribution to the allowed paths (e.g. valid IOB2, from [`allowed_transitions`]), the
                distribution whose best path `decode(..., constraints=constraints)` returns. At least one path must
                be allowed.

        Returns:
            `torch.FloatTensor` of shape `(batch_size, sequence_length, num_tags)` in the compute dtype (float32 or
            wider): each real position sums to 1 over the tags; padding positions are 0.
        """
        emissions, mask, _ = self._validate(emissions, mask)
        start, end, transitions = _constrained_scores(*self._scores_in(emissions.dtype), constraints)
        sequence_length = emissions.size(1)
        # alpha[t, j]: log-sum of the scores of the path prefixes ending in tag j at t (carried over padding).
        alphas = [start + emissions[:, 0]]
        for position in range(1, sequence_length):
            next_alpha = torch.logsumexp(alphas[-1].unsqueeze(2) + transitions, dim=1) + emissions[:, position]
            alphas.append(torch.where(mask[:, position].unsqueeze(1), next_alpha, alphas[-1]))
        log_partition = torch.logsumexp(alphas[-1] + end, dim=1)
        # beta[t, i]: log-sum of the scores of the path suffixes after tag i at t; the end score at a sequence's
        # last position (and, unused, at its padding).
        final_beta = end.expand_as(alphas[0])
        betas = [final_beta]
        for position in range(sequence_length - 2, -1, -1):
            following = (emissions[:, position + 1] + betas[-1]).unsqueeze(1)
            next_beta = torch.logsumexp(transitions + following, dim=2)
            betas.append(torch.where(mask[:, position + 1].unsqueeze(1), next_beta, final_beta))
        log_marginals = torch.stack(alphas, dim=1) + torch.stack(betas[::-1], dim=1)
        marginals = (log_marginals - log_partition[:, None, None]).exp()
        return marginals.masked_fill(~mask.unsqueeze(2), 0.0)

    @torch.no_grad()
    def decode(
        self,
        emissions: torch.Tensor,
        mask: torch.Tensor,
        pad_tag_id: int = IGNORE_INDEX,
        constraints: TransitionConstraints | None = None,
    ) -> torch.LongTensor:
        """
        Highest-scoring tag path of each sequence (Viterbi algorithm).

        Args:
            emissions (`torch.FloatTensor` of shape `(batch_size, sequence_length, num_tags)`):
                Per-position tag scores.
            mask (`torch.BoolTensor` of shape `(batch_size, sequence_length)`):
                Left-aligned mask of real positions (any integer or bool dtype).
            pad_tag_id (`int`, *optional*, defaults to -100):
                Value written at padding positions of the returned paths.
            constraints ([`TransitionConstraints`], *optional*):
                Hard constraints (e.g. valid IOB2, from [`allowed_transitions`]): disallowed starts, transitions and
                ends score `-inf`, so the result is the best allowed path.

        Returns:
            `torch.LongTensor` of shape `(batch_size, sequence_length)` on the emissions' device.
        """
        emissions, mask, _ = self._validate(emissions, mask)
        start, end, transitions = _constrained_scores(*self._scores_in(emissions.dtype), constraints)
        return _viterbi(emissions, mask, start, end, transitions, pad_tag_id)

    def _validate(self, emissions, mask, tags=None):
        """Check shapes and values; return emissions in the compute dtype, a bool mask and safe long tags."""
        emissions, mask = _checked_emissions_and_mask(emissions, mask, self.num_tags)
        if tags is None:
            return emissions, mask, None
        expected_shape = tuple(emissions.shape[:2])
        if tuple(tags.shape) != expected_shape:
            raise ValueError(
                f"tags must match emissions' first two dimensions: expected shape {expected_shape}, "
                f"received {tuple(tags.shape)}"
            )
        if tags.dtype.is_floating_point or tags.dtype.is_complex or tags.dtype == torch.bool:
            raise ValueError(f"tags must hold integer tag ids: expected an integer dtype, received {tags.dtype}")
        if not torch.compiler.is_compiling():
            out_of_range = mask & ((tags < 0) | (tags >= self.num_tags))
            if out_of_range.any():
                row, position = out_of_range.nonzero()[0].tolist()
                raise ValueError(
                    f"tags at real positions must be tag ids: expected values in [0, {self.num_tags}), "
                    f"received {tags[row, position].item()} at batch row {row}, position {position}"
                )
        # Padding tags may hold anything (e.g. -100); replace them so they can index the transition scores.
        return emissions, mask, tags.long().masked_fill(~mask, 0)

    def _checked_allowed_tags(self, allowed_tags, tags, mask, shape) -> torch.BoolTensor:
        """`allowed_tags` as a bool tensor that allows every tag at padding; the gold tag must be allowed."""
        if tuple(allowed_tags.shape) != tuple(shape):
            raise ValueError(
                f"allowed_tags must have the emissions' shape: expected {tuple(shape)}, received "
                f"{tuple(allowed_tags.shape)}"
            )
        allowed_tags = allowed_tags.bool() | ~mask.unsqueeze(2)
        if not torch.compiler.is_compiling():
            gold_allowed = allowed_tags.gather(2, tags.unsqueeze(2)).squeeze(2)
            if not gold_allowed.all():
                row, position = (~gold_allowed).nonzero()[0].tolist()
                raise ValueError(
                    f"allowed_tags must allow the gold tag: expected tag {tags[row, position].item()} allowed at "
                    f"batch row {row}, position {position}, received it disallowed"
                )
        return allowed_tags

    def _scores_in(self, dtype):
        """Start, end and transition scores cast to the compute dtype."""
        return self.start_transitions.to(dtype), self.end_transitions.to(dtype), self.transitions.to(dtype)

    def _path_score(self, emissions, tags, mask):
        """Score of the given tag paths, shape `(batch_size,)`; emissions are already zero at padding."""
        start_transitions, end_transitions, transitions = self._scores_in(emissions.dtype)
        last_tags = tags.gather(1, (mask.sum(dim=1) - 1).unsqueeze(1)).squeeze(1)
        emission_scores = emissions.gather(2, tags.unsqueeze(2)).squeeze(2).sum(dim=1)
        transition_scores = transitions[tags[:, :-1], tags[:, 1:]].masked_fill(~mask[:, 1:], 0.0).sum(dim=1)
        return start_transitions[tags[:, 0]] + emission_scores + transition_scores + end_transitions[last_tags]

    def _log_partition(self, emissions, mask):
        """Forward algorithm in log space, shape `(batch_size,)`."""
        start_transitions, end_transitions, transitions = self._scores_in(emissions.dtype)
        score = start_transitions + emissions[:, 0]  # (batch_size, num_tags): log-sum of paths ending in each tag
        for position in range(1, emissions.size(1)):
            # (batch_size, previous tag, next tag) -> sum out the previous tag
            next_score = torch.logsumexp(score.unsqueeze(2) + transitions, dim=1) + emissions[:, position]
            score = torch.where(mask[:, position].unsqueeze(1), next_score, score)
        return torch.logsumexp(score + end_transitions, dim=1)


def _checked_emissions_and_mask(emissions, mask, num_tags):
    """Check shapes (and, outside tracing, mask values); return emissions in the compute dtype, zero at padding,
    and a bool mask."""
    if emissions.dim() != 3 or emissions.size(1) == 0:
        raise ValueError(
            "emissions must be 3-D with at least one position: expected shape "
            f"(batch_size, sequence_length >= 1, num_tags), received {tuple(emissions.shape)}"
        )
    if num_tags is not None and emissions.size(2) != num_tags:
        raise ValueError(
            f"emissions' last dimension must be num_tags: expected {num_tags}, received {emissions.size(2)}"
        )
    expected_shape = tuple(emissions.shape[:2])
    if tuple(mask.shape) != expected_shape:
        raise ValueError(
            f"mask must match emissions' first two dimensions: expected shape {expected_shape}, "
            f"received {tuple(mask.shape)}"
        )
    mask = mask.bool()
    # Data-dependent checks would break a traced graph; traced callers (the model) pass masks they built.
    if not torch.compiler.is_compiling():
        if not mask[:, 0].all():
            rows = (~mask[:, 0]).nonzero().flatten().tolist()
            raise ValueError(
                f"mask[:, 0] must be on for every sequence: expected all True, received False in batch rows {rows}"
            )
        gaps = mask[:, 1:] & ~mask[:, :-1]
        if gaps.any():
            rows = gaps.any(dim=1).nonzero().flatten().tolist()
            raise ValueError(
                "mask must be left-aligned: expected ones followed by zeros, "
                f"received a zero before a one in batch rows {rows}"
            )
    compute_dtype = torch.promote_types(emissions.dtype, torch.float32)
    # Zero the padding so that whatever it holds (even inf or nan) reaches neither the scores nor the gradients.
    return emissions.to(compute_dtype).masked_fill(~mask.unsqueeze(2), 0.0), mask


def _constrained_scores(start, end, transitions, constraints):
    """Start, end and transition scores with the disallowed moves set to -inf."""
    if constraints is None:
        return start, end, transitions
    num_tags = start.size(0)
    shapes = {name: tuple(value.shape) for name, value in constraints._asdict().items()}
    expected = {"start": (num_tags,), "transitions": (num_tags, num_tags), "end": (num_tags,)}
    if shapes != expected:
        raise ValueError(f"constraints: expected shapes {expected} for {num_tags} tags, received {shapes}")
    device = start.device
    return (
        start.masked_fill(~constraints.start.to(device), float("-inf")),
        end.masked_fill(~constraints.end.to(device), float("-inf")),
        transitions.masked_fill(~constraints.transitions.to(device), float("-inf")),
    )


def _viterbi(emissions, mask, start, end, transitions, pad_tag_id):
    """Viterbi over checked inputs: tensor backpointers, no Python branch on tensor values."""
    batch_size, sequence_length, num_tags = emissions.shape
    # Past a sequence's end every tag points back to itself, so the backtrace carries its final tag unchanged.
    identity = torch.arange(num_tags, device=emissions.device).expand(batch_size, -1)
    score = start + emissions[:, 0]  # (batch_size, num_tags): best path ending in each tag
    backpointers = []
    for position in range(1, sequence_length):
        # (batch_size, previous tag, next tag) -> best previous tag for each next tag
        best_score, best_previous = (score.unsqueeze(2) + transitions).max(dim=1)
        is_real = mask[:, position].unsqueeze(1)
        score = torch.where(is_real, best_score + emissions[:, position], score)
        backpointers.append(torch.where(is_real, best_previous, identity))
    best_tag = (score + end).argmax(dim=1)
    path = [best_tag]
    for pointers in reversed(backpointers):
        best_tag = pointers.gather(1, best_tag.unsqueeze(1)).squeeze(1)
        path.append(best_tag)
    return torch.stack(path[::-1], dim=1).masked_fill(~mask, pad_tag_id)


__all__ = ["ConditionalRandomField", "TransitionConstraints", "allowed_transitions", "viterbi_decode"]
