"""Export of a trained model to ONNX, for the ONNX Runtime backend (`onnx_backend.py`).

    mtl-bilstm-ner export-onnx --model DIR --output OUT [--int8] [--tasks ner]

The graph takes the inputs the tokenizer gives the model (`input_ids`, `attention_mask`, `char_ids` where the
model reads syllables, and any other tokenizer output that `forward` takes), with dynamic batch and length axes,
and outputs the tag scores of each exported task (`ner_logits`, `pos_logits`). It is traced from the model's own
`forward` by `torch.onnx.export` (the dynamo exporter), so embeddings, the syllable CNN and the linear heads are the
model's code; each Bi-LSTM (`MTLBiLSTMEncoder`) becomes one ONNX `LSTM` node per layer, bidirectional, whose
`sequence_lens` input (the lengths from the attention mask) runs each sentence's backward direction from its own last
morpheme, as the eager model's packed sequences do. So a sentence gets the same scores in any batch, and onnxruntime
runs its fused LSTM kernel, or its fused int8 one (`DynamicQuantizeLSTM`) in the int8 file.
"""

import contextlib
import copy
import inspect
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..configuration_mtl_bilstm import TASKS
from ..modeling_mtl_bilstm import MTLBiLSTMEncoder, MTLBiLSTMForTokenClassification
from ..tokenization_mtl_bilstm import MTLBiLSTMTokenizer
from .onnx_backend import METADATA_FORMAT, METADATA_KEY, ONNX_EXTRA_INSTALL, ONNX_FILE, ONNX_INT8_FILE


# The operators quantize_dynamic makes int8: the LSTMs (DynamicQuantizeLSTM), the linear heads (MatMulInteger) and
# the embedding lookups (int8 tables, rows dequantised once gathered: a third of the file size, same tags).
INT8_OPERATORS = ("LSTM", "MatMul", "Gather")
# Sentences of different lengths (and morphemes of different syllable counts) for tracing and for the check that
# the exported graph gives the eager model's scores. Their morphemes are taken from the tokenizer's vocabulary.
EXAMPLE_LENGTHS = (7, 2, 4)
# Largest difference allowed between the ONNX and the eager tag scores on the example batch (fp32 rounding).
CHECK_TOLERANCE = 1e-4
# forward() arguments that are never graph inputs.
NON_INPUT_ARGUMENTS = ("pos_labels", "ner_labels", "output_hidden_states", "return_dict")


def export_onnx(
    model: MTLBiLSTMForTokenClassification,
    tokenizer: MTLBiLSTMTokenizer,
    output_dir: str | os.PathLike,
    *,
    tasks: tuple[str, ...] | list[str] | None = None,
    int8: bool = False,
    example_inputs: dict[str, torch.Tensor] | None = None,
    check: bool = True,
) -> dict[str, Path]:
    """
    Writes `model.onnx` (and `model.int8.onnx` with `int8=True`) into `output_dir`.

    Args:
        model ([`MTLBiLSTMForTokenClassification`]): a float model (not torch-quantised); it is not modified.
        tokenizer ([`MTLBiLSTMTokenizer`]): its tokenizer: the graph's inputs are the tokenizer outputs that the
            model's `forward` takes.
        output_dir: the folder to write to (created where needed). Existing ONNX files there are replaced, and a
            `model.int8.onnx` of an earlier export is removed when `int8=False`, so that the folder never holds the
            files of two models.
        tasks (*optional*): the tasks whose tag scores the graph outputs; all of the model's by default. `("ner",)`
            leaves the POS branch out (smaller and faster; the predictor then reports Kiwi's POS tags).
        int8 (`bool`): also write `model.int8.onnx`, `onnxruntime.quantization.quantize_dynamic` of the LSTMs,
            linear heads and embedding tables (int8 weights, activations quantised on the fly).
        example_inputs (*optional*): a padded batch to trace with and check against, as the tokenizer gives it;
            by default one made of vocabulary morphemes, sentences of different lengths.
        check (`bool`): run the exported graph with onnxruntime on the example batch and raise unless it gives the
            eager model's tag scores.

    Returns:
        `{"fp32": path}` and, with `int8=True`, `{"int8": path}` too.
    """
    try:
        import onnx
    except ImportError as error:
        raise ImportError(f"Exporting to ONNX needs onnx and onnxscript: {ONNX_EXTRA_INSTALL}") from error
    tasks = _checked_tasks(model, tasks)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    training = model.training
    try:
        return _export(onnx, model.eval(), tokenizer, output_dir, tasks, int8, example_inputs, check)
    finally:
        model.train(training)


def _export(onnx, model, tokenizer, output_dir: Path, tasks, int8: bool, example_inputs, check: bool):
    if example_inputs is None:
        example_inputs = example_batch(model, tokenizer)
    input_names = graph_input_names(model, example_inputs)
    inputs = tuple(example_inputs[name] for name in input_names)

    exportable = _ExportedModel(model, input_names, tasks).eval()
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length")
    # Batch and length are shared by every input; further axes (a morpheme's syllables) are whatever the tracer
    # finds them to be, dynamic where the model lets them vary.
    dynamic_shapes = tuple(
        {0: batch, 1: length, **dict.fromkeys(range(2, tensor.dim()), torch.export.Dim.AUTO)} for tensor in inputs
    )
    with torch.inference_mode(False), torch.no_grad(), _quiet_exporter():
        program = torch.onnx.export(
            exportable,
            inputs,
            dynamo=True,
            input_names=list(input_names),
            output_names=[f"{task}_logits" for task in tasks],
            dynamic_shapes=(dynamic_shapes,),
            verbose=False,
        )
    fp32_path = output_dir / ONNX_FILE
    program.save(fp32_path, external_data=False)
    metadata = _metadata(model, tasks, input_names, int8=False)
    _write_metadata(onnx, fp32_path, metadata)
    paths = {"fp32": fp32_path}
    if check:
        check_onnx_file(fp32_path, model, example_inputs)
    int8_path = output_dir / ONNX_INT8_FILE
    if int8:
        quantize_onnx_int8(fp32_path, int8_path)
        _write_metadata(onnx, int8_path, {**metadata, "int8": True, "int8_operators": list(INT8_OPERATORS)})
        paths["int8"] = int8_path
    else:
        int8_path.unlink(missing_ok=True)
    return paths


def export_onnx_from_pretrained(
    pretrained_model_name_or_path: str | os.PathLike,
    output_dir: str | os.PathLike | None = None,
    *,
    tasks: tuple[str, ...] | list[str] | None = None,
    int8: bool = False,
    revision: str | None = None,
    **hub_kwargs,
) -> dict[str, Path]:
    """Loads a saved model (folder or Hub repository) and exports it with [`export_onnx`] into `output_dir` (the
    model's own folder by default). Where `output_dir` is another folder, the config and tokenizer files are saved
    there too, so that it loads with `KoreanNERPredictor.from_pretrained(output_dir, backend="onnx")`."""
    source = Path(pretrained_model_name_or_path)
    if output_dir is None:
        if not source.is_dir():
            raise ValueError(
                f"output_dir: expected a folder to write to for the Hub model {pretrained_model_name_or_path!r}, "
                "received None."
            )
        output_dir = source
    model = MTLBiLSTMForTokenClassification.from_pretrained(
        pretrained_model_name_or_path, revision=revision, **hub_kwargs
    )
    tokenizer = MTLBiLSTMTokenizer.from_pretrained(pretrained_model_name_or_path, revision=revision, **hub_kwargs)
    output_dir = Path(output_dir)
    if not (source.is_dir() and output_dir.resolve() == source.resolve()):
        output_dir.mkdir(parents=True, exist_ok=True)
        model.config.save_pretrained(output_dir)
        tokenizer.save_pretrained(output_dir)
    return export_onnx(model, tokenizer, output_dir, tasks=tasks, int8=int8)


def quantize_onnx_int8(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """`onnxruntime.quantization.quantize_dynamic` of an exported model: int8 weights (signed, per tensor) for the
    `INT8_OPERATORS`, activations quantised at run time. The syllable CNN stays float, and so does decoding."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # quantize_dynamic advises (as a root-logger warning) a pre-processing pass meant for static quantisation.
    with _logger_level("", logging.ERROR):
        quantize_dynamic(
            Path(source), Path(target), op_types_to_quantize=list(INT8_OPERATORS), weight_type=QuantType.QInt8
        )
    return Path(target)


def check_onnx_file(
    path: str | os.PathLike,
    model: MTLBiLSTMForTokenClassification,
    inputs: dict[str, torch.Tensor],
    tolerance: float = CHECK_TOLERANCE,
) -> float:
    """Runs an exported fp32 file with onnxruntime on `inputs` and compares its tag scores with the eager model's at
    the real positions; returns the largest difference, or raises `RuntimeError` if it exceeds `tolerance`."""
    from .onnx_backend import ONNXRuntimeTagger

    tagger = ONNXRuntimeTagger(path, num_threads=1)
    onnx_logits = tagger.logits({name: tensor.numpy() for name, tensor in inputs.items()})
    with torch.no_grad():
        output = model(**{name: inputs[name] for name in tagger.input_names}, return_dict=True)
    mask = inputs["attention_mask"].bool().numpy()
    largest = 0.0
    for task, logits in onnx_logits.items():
        difference = np.abs(logits - output[f"{task}_logits"].numpy())[mask].max()
        largest = max(largest, float(difference))
    if not largest <= tolerance:
        raise RuntimeError(
            f"{path}: expected the eager model's tag scores within {tolerance}, received a difference of {largest}."
        )
    return largest


def example_batch(model: MTLBiLSTMForTokenClassification, tokenizer: MTLBiLSTMTokenizer) -> dict[str, torch.Tensor]:
    """A padded batch of sentences of different lengths made of vocabulary morphemes (the longest ones first, so
    that morphemes differ in their number of syllables), encoded and padded as the predictor does it."""
    vocabulary = tokenizer.id_to_morpheme[2:] or ["[UNK]"]
    by_length = sorted(vocabulary, key=len, reverse=True)
    morphemes = [by_length[i % len(by_length)] for i in range(sum(EXAMPLE_LENGTHS))]
    morphemes[-1] = vocabulary[-1]  # a short one too
    sentences, start = [], 0
    for length in EXAMPLE_LENGTHS:
        sentences.append(morphemes[start : start + length])
        start += length
    return dict(tokenizer.pad([tokenizer.encode(sentence) for sentence in sentences]))


def graph_input_names(model: MTLBiLSTMForTokenClassification, inputs: dict[str, torch.Tensor]) -> tuple[str, ...]:
    """The entries of a tokenizer batch that become graph inputs: those `forward` takes, labels and flags excepted,
    and `char_ids` only where the model reads syllables (as the predictor feeds it)."""
    parameters = inspect.signature(model.forward).parameters
    names = [name for name in inputs if name in parameters and name not in NON_INPUT_ARGUMENTS]
    if not model.config.char_vocab_size and "char_ids" in names:
        names.remove("char_ids")
    for required in ("input_ids", "attention_mask"):
        if required not in names:
            raise ValueError(
                f"inputs: expected {required!r} among the tokenizer's outputs, received {sorted(inputs)}."
            )
    return tuple(names)


class ONNXBiLSTM(nn.Module):
    """Stands in for an [`MTLBiLSTMEncoder`] during export (same call, same output): each layer is one ONNX `LSTM`
    node, bidirectional, with the sentence lengths as its `sequence_lens`.

    Its weights are the encoder's, rearranged as ONNX wants them, as buffers (so they become initializers that
    quantize_dynamic can quantise): per direction `W` (4 hidden, input), `R` (4 hidden, hidden) and `B` (8 hidden,
    the input and recurrent biases), gates in ONNX's order input, output, forget, cell where torch has input,
    forget, cell, output.
    """

    def __init__(self, encoder: MTLBiLSTMEncoder):
        super().__init__()
        lstm = encoder.lstm
        if not isinstance(lstm, nn.LSTM) or not lstm.bidirectional or not lstm.batch_first or lstm.proj_size:
            raise ValueError(
                "ONNX export: expected float bidirectional batch-first nn.LSTMs without projection, received "
                f"{type(lstm).__module__}.{type(lstm).__qualname__} (a torch-quantised model cannot be exported; "
                "export the float model and pass int8=True)."
            )
        self.hidden_size = encoder.hidden_size
        self.num_layers = encoder.num_layers
        self.output_size = encoder.output_size
        parameters = dict(lstm.named_parameters())
        for layer in range(self.num_layers):
            directions = [f"_l{layer}", f"_l{layer}_reverse"]
            weights = {
                "W": [_onnx_gate_order(parameters[f"weight_ih{d}"]) for d in directions],
                "R": [_onnx_gate_order(parameters[f"weight_hh{d}"]) for d in directions],
                "B": [
                    torch.cat(
                        [_onnx_gate_order(parameters[f"bias_ih{d}"]), _onnx_gate_order(parameters[f"bias_hh{d}"])]
                    )
                    for d in directions
                ],
            }
            for name, values in weights.items():
                self.register_buffer(f"{name}_{layer}", torch.stack(values).detach().float().clone())

    def forward(self, inputs, mask, output_layers: bool = False, traceable: bool | None = None):
        lengths = mask.sum(dim=1).to(torch.int32)
        keep = mask.unsqueeze(2).to(inputs.dtype)
        batch_size, length = inputs.shape[0], inputs.shape[1]
        states = inputs.transpose(0, 1)  # ONNX LSTM's default layout: (length, batch, features)
        layers = []
        for layer in range(self.num_layers):
            sequences = torch.onnx.ops.symbolic(
                "LSTM",
                (
                    states,
                    getattr(self, f"W_{layer}"),
                    getattr(self, f"R_{layer}"),
                    getattr(self, f"B_{layer}"),
                    lengths,
                ),
                {"direction": "bidirectional", "hidden_size": self.hidden_size},
                dtype=inputs.dtype,
                shape=(length, 2, batch_size, self.hidden_size),
            )
            # (length, direction, batch, hidden) -> (batch, length, 2 * hidden), forward then backward, as nn.LSTM;
            # zero at padding, as the packed eager path pads.
            outputs = sequences.permute(2, 0, 1, 3).reshape(batch_size, length, 2 * self.hidden_size) * keep
            layers.append(outputs)
            states = outputs.transpose(0, 1)
        return layers[-1], tuple(layers) if output_layers else ()


class _ExportedModel(nn.Module):
    """The model with its Bi-LSTMs as ONNX LSTM nodes, called with the graph inputs in order, returning the tag
    scores of the exported tasks."""

    def __init__(self, model: MTLBiLSTMForTokenClassification, input_names: tuple[str, ...], tasks: tuple[str, ...]):
        super().__init__()
        self.model = copy.deepcopy(model).eval()
        replaced = 0
        for name, module in list(self.model.named_modules()):
            if isinstance(module, MTLBiLSTMEncoder):
                parent_name, _, child = name.rpartition(".")
                setattr(self.model.get_submodule(parent_name), child, ONNXBiLSTM(module))
                replaced += 1
        stray = [name for name, module in self.model.named_modules() if isinstance(module, nn.RNNBase)]
        if not replaced or stray:
            raise ValueError(
                "ONNX export: expected every recurrent layer inside an MTLBiLSTMEncoder, received "
                f"{replaced} encoder(s) and recurrent layers outside them: {stray}."
            )
        self.input_names = input_names
        self.tasks = tasks

    def forward(self, *inputs):
        output = self.model(**dict(zip(self.input_names, inputs)), return_dict=True)
        return tuple(output[f"{task}_logits"] for task in self.tasks)


@contextlib.contextmanager
def _logger_level(name: str, level: int):
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)


@contextlib.contextmanager
def _quiet_exporter():
    """Leaves out the exporter's notes that concern it, not the caller: a warning per torchvision operator it cannot
    register (this model uses none), shared axis names, a deprecated pytree check."""
    with _logger_level("torch.onnx._internal.exporter._registration", logging.ERROR), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"# The axis name", category=UserWarning)
        warnings.filterwarnings("ignore", message=r".*LeafSpec", category=FutureWarning)
        yield


def _onnx_gate_order(values: torch.Tensor) -> torch.Tensor:
    """torch's gate blocks (input, forget, cell, output) in ONNX's order (input, output, forget, cell)."""
    input_gate, forget_gate, cell_gate, output_gate = values.chunk(4, dim=0)
    return torch.cat([input_gate, output_gate, forget_gate, cell_gate], dim=0)


def _checked_tasks(model, tasks) -> tuple[str, ...]:
    if tasks is None:
        return tuple(model.config.tasks)
    tasks = (tasks,) if isinstance(tasks, str) else tuple(tasks)
    unknown = [task for task in tasks if task not in model.config.tasks]
    if not tasks or unknown:
        raise ValueError(
            f"tasks: expected a non-empty subset of the model's tasks {model.config.tasks}, received {tasks!r}."
        )
    return tuple(task for task in TASKS if task in tasks)


def _metadata(model, tasks, input_names, int8: bool) -> dict:
    """What decoding needs besides the tag scores (see `onnx_backend`)."""
    config = model.config
    crf = {}
    for task in tasks:
        head_crf = model.heads[task].crf
        if head_crf is not None:
            crf[task] = {
                # float32 values written as the doubles they are: JSON reads them back exactly.
                name: getattr(head_crf, f"{name}_transitions" if name != "transitions" else name)
                .detach()
                .float()
                .numpy()
                .astype(np.float64)
                .tolist()
                for name in ("start", "transitions", "end")
            }
    constrained = [task for task in tasks if model.decoding_constraints(task) is not None]
    return {
        "format": METADATA_FORMAT,
        "model_type": config.model_type,
        "tasks": list(tasks),
        "inputs": list(input_names),
        "outputs": [f"{task}_logits" for task in tasks],
        "id2label": {task: [config.task_id2label(task)[i] for i in range(config.num_tags(task))] for task in tasks},
        "crf": crf,
        "constrained_tasks": constrained,
        "int8": int8,
        "exported_with": {"torch": torch.__version__},
    }


def _write_metadata(onnx, path: Path, metadata: dict) -> None:
    proto = onnx.load(str(path))
    entries = {entry.key: entry.value for entry in proto.metadata_props}
    entries[METADATA_KEY] = json.dumps(metadata, ensure_ascii=False)
    del proto.metadata_props[:]
    for key, value in entries.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))


__all__ = [
    "INT8_OPERATORS",
    "ONNXBiLSTM",
    "check_onnx_file",
    "example_batch",
    "export_onnx",
    "export_onnx_from_pretrained",
    "graph_input_names",
    "quantize_onnx_int8",
]
