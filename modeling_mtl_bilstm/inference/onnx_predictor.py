"""[`KoreanNERPredictor`] with ONNX Runtime in place of the torch model: `KoreanNERPredictor.from_pretrained(folder,
backend="onnx")`.

Everything but the model is the predictor's own code (Kiwi analysis, chunking, batching, encoding, entities and
offsets), so the output is the same dict. The model's part (tag scores, Viterbi, the CRF marginals that score
entities) is `ONNXRuntimeTagger`'s: an onnxruntime session and numpy.
"""

import os
from collections.abc import Mapping

import numpy as np
import torch

from ..configuration_mtl_bilstm import TASKS, MTLBiLSTMConfig
from ..modeling_mtl_bilstm import MTLBiLSTMTokenClassifierOutput
from ..tokenization_mtl_bilstm import MTLBiLSTMTokenizer
from .morphology import KiwiMorphemeAnalyzer
from .onnx_backend import ONNXRuntimeTagger, export_command
from .predictor import DEFAULT_BATCH_SIZE, DEFAULT_MAX_LENGTH, KoreanNERPredictor


class ONNXKoreanNERPredictor(KoreanNERPredictor):
    """
    [`KoreanNERPredictor`] whose model runs under ONNX Runtime (CPU): same arguments and output, but an
    [`ONNXRuntimeTagger`] (a folder's `model.onnx`, or `model.int8.onnx`) and the model's config instead of the
    torch model. Build one with `KoreanNERPredictor.from_pretrained(folder, backend="onnx")`; the files come from
    `mtl-bilstm-ner export-onnx`.

    Where the ONNX file outputs NER scores only (exported with `tasks=("ner",)`), tokens get Kiwi's POS tags, as
    with a model trained without the POS task.
    """

    def __init__(
        self,
        tagger: ONNXRuntimeTagger,
        tokenizer: MTLBiLSTMTokenizer,
        config: MTLBiLSTMConfig,
        analyzer: KiwiMorphemeAnalyzer | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_length: int = DEFAULT_MAX_LENGTH,
    ):
        super().__init__(
            _ONNXModel(tagger, config),
            tokenizer,
            analyzer=analyzer,
            batch_size=batch_size,
            max_length=max_length,
            device="cpu",
        )
        self.tagger = tagger
        self.quantized = tagger.int8

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        revision: str | None = None,
        quantize: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        device: str | torch.device | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
        analyzer: KiwiMorphemeAnalyzer | None = None,
        num_threads: int | None = None,
        **hub_kwargs,
    ) -> "ONNXKoreanNERPredictor":
        """Loads `model.onnx` (`model.int8.onnx` with `quantize=True`), the config and the tokenizer of a folder or
        Hub repository. `num_threads`: onnxruntime's intra-op threads (its default, one per core, where None)."""
        if device is not None and torch.device(device).type != "cpu":
            raise ValueError(f"device: expected 'cpu' (or None) with backend='onnx', received {device!r}.")
        tagger = ONNXRuntimeTagger.from_pretrained(
            pretrained_model_name_or_path, int8=quantize, revision=revision, num_threads=num_threads, **hub_kwargs
        )
        config = MTLBiLSTMConfig.from_pretrained(pretrained_model_name_or_path, revision=revision, **hub_kwargs)
        tokenizer = MTLBiLSTMTokenizer.from_pretrained(pretrained_model_name_or_path, revision=revision, **hub_kwargs)
        return cls(tagger, tokenizer, config, analyzer=analyzer, batch_size=batch_size, max_length=max_length)

    def _ner_probabilities(self, logits: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        """The tag probabilities of the torch path (CRF marginals under the decoding constraints, in float64, or
        the softmax), computed in numpy."""
        probabilities = self.tagger.probabilities("ner", logits.numpy(), mask.numpy())
        return torch.from_numpy(probabilities.astype(np.float32, copy=False))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self.model.config.name_or_path!r}, file={self.tagger.path.name!r}, "
            f"quantized={self.quantized}, batch_size={self.batch_size}, max_length={self.max_length})"
        )


class _ExportedConfig:
    """The model's config, with `tasks` narrowed to the tasks the ONNX file outputs."""

    def __init__(self, config: MTLBiLSTMConfig, tasks: tuple[str, ...]):
        self._config = config
        self.tasks = tasks

    def __getattr__(self, name):
        return getattr(self._config, name)


class _ONNXModel:
    """What [`KoreanNERPredictor`] asks of its model (`config`, `model_inputs`, a forward pass on a padded batch,
    `decode_logits`), answered by an [`ONNXRuntimeTagger`]."""

    def __init__(self, tagger: ONNXRuntimeTagger, config: MTLBiLSTMConfig):
        for task in tagger.tasks:
            if tagger.id2label[task] != config.task_id2label(task):
                raise ValueError(
                    f"{tagger.path}: expected the {task.upper()} tags of the model's config "
                    f"{config.task_id2label(task)!r}, received {tagger.id2label[task]!r}: the ONNX file was exported "
                    f"from another model. Export it again: {export_command(tagger.path.parent, tagger.int8)}"
                )
        self.tagger = tagger
        self.config = _ExportedConfig(config, tagger.tasks)

    def to(self, device) -> "_ONNXModel":
        return self

    def eval(self) -> "_ONNXModel":
        return self

    def model_inputs(self, encoded: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """All of `encoded`: the ONNX session reads the graph's inputs among them and ignores the rest."""
        return dict(encoded)

    def __call__(self, return_dict: bool = True, **inputs) -> MTLBiLSTMTokenClassifierOutput:
        logits = self.tagger.logits({name: tensor.numpy() for name, tensor in inputs.items()})
        return MTLBiLSTMTokenClassifierOutput(
            **{f"{task}_logits": torch.from_numpy(logits[task]) for task in TASKS if task in logits}
        )

    def decode_logits(self, task: str, logits: torch.Tensor, mask: torch.Tensor) -> torch.LongTensor:
        return torch.from_numpy(self.tagger.decode(task, logits.numpy(), mask.bool().numpy()))


__all__ = ["ONNXKoreanNERPredictor"]
