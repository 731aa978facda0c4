"""What the predictor asks of a model backend and what a backend answers: the contract between the predictor's core
(`predictor.py`) and its backends (`torch_backend.TorchTagger`, `onnx_predictor.ONNXBackend`).

It imports nothing of the package, so that the backends and the predictor each import it without importing one
another back.
"""

from collections.abc import Mapping
from typing import NamedTuple, Protocol

import numpy as np


DEFAULT_BATCH_SIZE = 64
DEFAULT_MAX_LENGTH = 256


class BatchTags(NamedTuple):
    """A backend's answer for a padded batch: `(batch, seq_len)` NER tag ids and the probability of each, and POS
    tag ids (`None` without a POS head); padding positions hold anything."""

    ner_ids: np.ndarray
    ner_scores: np.ndarray
    pos_ids: np.ndarray | None


class TaggerBackend(Protocol):
    """What the predictor asks of the model: its tasks, their tag names, and the tags of a padded batch."""

    tasks: tuple[str, ...]
    id2label: Mapping[str, Mapping[int, str]]

    def tag_batch(self, batch: Mapping[str, np.ndarray]) -> BatchTags: ...

    def describe(self) -> str: ...


__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_MAX_LENGTH", "BatchTags", "TaggerBackend"]
