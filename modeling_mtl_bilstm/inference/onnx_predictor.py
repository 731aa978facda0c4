"""The ONNX Runtime backend of [`KoreanNERPredictor`] (`KoreanNERPredictor.from_pretrained(folder, backend="onnx")`,
which builds a `predictor.ONNXKoreanNERPredictor` around it).

Everything but the model is the predictor's own code (Kiwi analysis, chunking, batching, encoding, entities and
offsets), so the output is the same dict. The model's part (tag scores, Viterbi, the CRF marginals that score
entities) is `ONNXRuntimeTagger`'s: an onnxruntime session and numpy. Nothing here imports torch or transformers:
the config and the tokenizer are read from the folder's JSON files, so the `serve` extra (onnxruntime, numpy,
kiwipiepy) is enough.
"""

from collections.abc import Mapping

import numpy as np

from .onnx_backend import ONNXRuntimeTagger, export_command
from .tagging import BatchTags


# The model config's file in a folder written by `save_pretrained` (transformers' CONFIG_NAME).
CONFIG_FILE = "config.json"


class ONNXBackend:
    """
    The predictor's backend for an [`ONNXRuntimeTagger`]: tags a padded numpy batch, as the torch backend does.

    Args:
        tagger ([`ONNXRuntimeTagger`]): the session over `model.onnx` or `model.int8.onnx`.
        config (`MTLBiLSTMConfig` or `dict`): the model's config (or its `config.json` read as a dict): its tag names
            must be those the ONNX file was exported with.
    """

    def __init__(self, tagger: ONNXRuntimeTagger, config):
        for task in tagger.tasks:
            expected = _config_id2label(config, task)
            if tagger.id2label[task] != expected:
                raise ValueError(
                    f"{tagger.path}: expected the {task.upper()} tags of the model's config {expected!r}, received "
                    f"{tagger.id2label[task]!r}: the ONNX file was exported from another model. Export it again: "
                    f"{export_command(tagger.path.parent, tagger.int8)}"
                )
        self.tagger = tagger
        self.tasks = tagger.tasks
        self.id2label = tagger.id2label

    def tag_batch(self, batch: Mapping[str, np.ndarray]) -> BatchTags:
        """Tag ids and NER tag probabilities (float32, as the torch backend gives them) of a padded batch."""
        logits = self.tagger.logits(batch)
        mask = batch["attention_mask"].astype(bool)
        ner_ids = self.tagger.decode("ner", logits["ner"], mask)
        probabilities = self.tagger.probabilities("ner", logits["ner"], mask).astype(np.float32, copy=False)
        ner_scores = np.take_along_axis(probabilities, np.clip(ner_ids, 0, None)[..., None], axis=2)[..., 0]
        pos_ids = self.tagger.decode("pos", logits["pos"], mask) if "pos" in self.tasks else None
        return BatchTags(ner_ids=ner_ids, ner_scores=ner_scores, pos_ids=pos_ids)

    def describe(self) -> str:
        return f"file={self.tagger.path.name!r}, quantized={self.tagger.int8}"


def _config_id2label(config, task: str) -> dict[int, str] | None:
    """A task's tag names in a model config, or in its `config.json` read as a dict (JSON keys are strings)."""
    if not isinstance(config, Mapping):
        return config.task_id2label(task)
    id2label = config.get(f"{task}_id2label")
    return None if id2label is None else {int(key): label for key, label in id2label.items()}


__all__ = ["ONNXBackend"]
