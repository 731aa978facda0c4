"""The torch backend of [`KoreanNERPredictor`]: a trained [`MTLBiLSTMForTokenClassification`] tags padded batches
(numpy in, numpy out), optionally with dynamic int8 weights. The ONNX Runtime backend (`onnx_predictor.py`) answers
the same `tag_batch`."""

import warnings
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from ..modeling_mtl_bilstm import MTLBiLSTMForTokenClassification
from .tagging import BatchTags


# The modules `quantize_dynamic_int8` gives int8 weights.
QUANTIZED_MODULES = {nn.LSTM, nn.Linear}


class TorchTagger:
    """
    Tags padded batches with a torch model: constrained decoding of each task's scores, and the probability of each
    decoded NER tag (see [`KoreanNERPredictor`] for the scores).

    Args:
        model ([`MTLBiLSTMForTokenClassification`]): the model; moved to `device` and set to eval mode.
        device (`str` or `torch.device`, *optional*): defaults to CUDA when available (and not quantizing), else CPU.
        quantize (`bool`, defaults to `False`): dynamic int8 weights ([`quantize_dynamic_int8`], CPU only).
    """

    def __init__(
        self, model: MTLBiLSTMForTokenClassification, device: str | torch.device | None = None, quantize: bool = False
    ):
        if device is None:
            device = "cuda" if torch.cuda.is_available() and not quantize else "cpu"
        device = torch.device(device)
        if quantize and device.type != "cpu":
            raise ValueError(f"quantize=True: expected device 'cpu' (int8 kernels are CPU-only), received {device}.")
        model = model.to(device).eval()
        self.model = quantize_dynamic_int8(model) if quantize else model
        self.device = device
        self.quantized = quantize
        self.tasks = tuple(model.config.tasks)
        self.id2label = {task: model.config.task_id2label(task) for task in self.tasks}

    @torch.inference_mode()
    def tag_batch(self, batch: Mapping[str, np.ndarray]) -> "BatchTags":
        """Tag ids and NER tag probabilities of a batch padded by the tokenizer (`return_tensors="np"`)."""
        inputs = self.model.model_inputs({name: torch.from_numpy(array) for name, array in batch.items()})
        output = self.model(**inputs, return_dict=True)
        mask = inputs["attention_mask"].bool()
        ner_ids = self.model.decode_logits("ner", output.ner_logits, mask)
        probabilities = self.ner_probabilities(output.ner_logits, mask)
        ner_scores = probabilities.gather(2, ner_ids.clamp(min=0).unsqueeze(2)).squeeze(2)
        pos_ids = self.model.decode_logits("pos", output.pos_logits, mask) if "pos" in self.tasks else None
        return BatchTags(
            ner_ids=ner_ids.cpu().numpy(),
            ner_scores=ner_scores.cpu().numpy(),
            pos_ids=None if pos_ids is None else pos_ids.cpu().numpy(),
        )

    def ner_probabilities(self, logits: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        """(batch, seq_len, num_tags) probability of each NER tag at each position: the CRF's posterior marginals
        under the constraints that decoding applies (so a decoded tag's score is its probability among the paths
        the decoder may output), or the softmax of a softmax head."""
        crf = self.model.heads["ner"].crf
        if crf is None:
            return logits.float().softmax(dim=-1)
        # In float64: the forward-backward sums over whole sentences, and scores must not depend on the batch.
        return crf.marginals(logits.double(), mask, constraints=self.model.decoding_constraints("ner")).float()

    def describe(self) -> str:
        return f"model={self.model.config.name_or_path!r}, device={str(self.device)!r}, quantized={self.quantized}"


def quantize_dynamic_int8(model: nn.Module) -> nn.Module:
    """A copy of `model` with int8 weights in its LSTMs and linear layers (activations quantized on the fly).

    `torch.ao.quantization.quantize_dynamic` is deprecated in favour of torchao, whose `quantize_` converts
    linear layers only; the LSTMs, where this model spends its time, still need torch.ao. It supports the
    packed sequences of the model's LSTMs.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning
        )
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor.*deprecated", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(model, QUANTIZED_MODULES, dtype=torch.qint8)


__all__ = ["QUANTIZED_MODULES", "TorchTagger", "quantize_dynamic_int8"]
