"""Batched, vectorised linear-chain conditional random field (CRF) for sequence labelling."""

import torch
from torch import nn


_REDUCTIONS = ("none", "sum", "mean", "token_mean")


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
    log-sum-exp recursion accumulates over the whole sequence.

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
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, reduction: str = "mean"
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

        Returns:
            `torch.FloatTensor` of shape `(batch_size,)` for `reduction="none"`, a scalar otherwise.
        """
        if reduction not in _REDUCTIONS:
            raise ValueError(f"Unknown reduction: expected one of {_REDUCTIONS}, received {reduction!r}")
        emissions, mask, tags = self._validate(emissions, mask, tags)
        nll = self._log_partition(emissions, mask) - self._path_score(emissions, tags, mask)
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
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor, pad_tag_id: int = -100) -> torch.LongTensor:
        """
        Highest-scoring tag path of each sequence (Viterbi algorithm).

        Args:
            emissions (`torch.FloatTensor` of shape `(batch_size, sequence_length, num_tags)`):
                Per-position tag scores.
            mask (`torch.BoolTensor` of shape `(batch_size, sequence_length)`):
                Left-aligned mask of real positions (any integer or bool dtype).
            pad_tag_id (`int`, *optional*, defaults to -100):
                Value written at padding positions of the returned paths.

        Returns:
            `torch.LongTensor` of shape `(batch_size, sequence_length)` on the emissions' device.
        """
        emissions, mask, _ = self._validate(emissions, mask)
        start_transitions, end_transitions, transitions = self._scores_in(emissions.dtype)
        batch_size, sequence_length, _ = emissions.shape
        # Past a sequence's end every tag points back to itself, so the backtrace carries its final tag unchanged.
        identity = torch.arange(self.num_tags, device=emissions.device).expand(batch_size, -1)
        score = start_transitions + emissions[:, 0]  # (batch_size, num_tags): best path ending in each tag
        backpointers = []
        for position in range(1, sequence_length):
            # (batch_size, previous tag, next tag) -> best previous tag for each next tag
            best_score, best_previous = (score.unsqueeze(2) + transitions).max(dim=1)
            is_real = mask[:, position].unsqueeze(1)
            score = torch.where(is_real, best_score + emissions[:, position], score)
            backpointers.append(torch.where(is_real, best_previous, identity))
        best_tag = (score + end_transitions).argmax(dim=1)
        path = [best_tag]
        for pointers in reversed(backpointers):
            best_tag = pointers.gather(1, best_tag.unsqueeze(1)).squeeze(1)
            path.append(best_tag)
        return torch.stack(path[::-1], dim=1).masked_fill(~mask, pad_tag_id)

    def _validate(self, emissions, mask, tags=None):
        """Check shapes and values; return emissions in the compute dtype, a bool mask and safe long tags."""
        if emissions.dim() != 3 or emissions.size(1) == 0:
            raise ValueError(
                "emissions must be 3-D with at least one position: expected shape "
                f"(batch_size, sequence_length >= 1, num_tags), received {tuple(emissions.shape)}"
            )
        if emissions.size(2) != self.num_tags:
            raise ValueError(
                f"emissions' last dimension must be num_tags: expected {self.num_tags}, received {emissions.size(2)}"
            )
        expected_shape = tuple(emissions.shape[:2])
        if tuple(mask.shape) != expected_shape:
            raise ValueError(
                f"mask must match emissions' first two dimensions: expected shape {expected_shape}, "
                f"received {tuple(mask.shape)}"
            )
        mask = mask.bool()
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
        emissions = emissions.to(compute_dtype).masked_fill(~mask.unsqueeze(2), 0.0)
        if tags is None:
            return emissions, mask, None
        if tuple(tags.shape) != expected_shape:
            raise ValueError(
                f"tags must match emissions' first two dimensions: expected shape {expected_shape}, "
                f"received {tuple(tags.shape)}"
            )
        if tags.dtype.is_floating_point or tags.dtype.is_complex or tags.dtype == torch.bool:
            raise ValueError(f"tags must hold integer tag ids: expected an integer dtype, received {tags.dtype}")
        out_of_range = mask & ((tags < 0) | (tags >= self.num_tags))
        if out_of_range.any():
            row, position = out_of_range.nonzero()[0].tolist()
            raise ValueError(
                f"tags at real positions must be tag ids: expected values in [0, {self.num_tags}), "
                f"received {tags[row, position].item()} at batch row {row}, position {position}"
            )
        # Padding tags may hold anything (e.g. -100); replace them so they can index the transition scores.
        return emissions, mask, tags.long().masked_fill(~mask, 0)

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
