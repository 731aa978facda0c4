"""The model run by ONNX Runtime: a session over `model.onnx` (or `model.int8.onnx`) and the decoding of its tag
scores in numpy, as `MTLBiLSTMForTokenClassification.decode` and the predictor's scores do it in torch.

The ONNX files are written by `mtl-bilstm-ner export-onnx` (`onnx_export.export_onnx`). Each carries, in its
metadata (`mtl_bilstm`), what decoding needs besides the tag scores: the tasks whose logits it outputs, the tag
names, the CRF scores and whether NER decoding is restricted to valid IOB2. This module imports numpy,
onnxruntime and (for Hub repositories) huggingface_hub, never torch.
"""

import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..tags_mtl_bilstm import IGNORE_INDEX
from .numpy_crf import CRFScores, crf_marginals, iob2_constraints, log_softmax, softmax, viterbi_decode


ONNX_FILE = "model.onnx"
ONNX_INT8_FILE = "model.int8.onnx"
METADATA_KEY = "mtl_bilstm"
METADATA_FORMAT = 1
ONNX_EXTRA_INSTALL = 'pip install "mtl-bilstm-ner[onnx]"'
# The numpy type of each ONNX input type, as onnxruntime names them (ids and masks are int64; feature inputs may be
# float or bool).
_NUMPY_TYPES = {
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
}


def onnx_file_name(int8: bool = False) -> str:
    """`model.int8.onnx` for the int8 model, `model.onnx` otherwise."""
    return ONNX_INT8_FILE if int8 else ONNX_FILE


def export_command(model: str | os.PathLike, int8: bool = False) -> str:
    """The command that writes the ONNX files of a saved model into its own folder."""
    return f"mtl-bilstm-ner export-onnx --model {model} --output {model}" + (" --int8" if int8 else "")


def resolve_onnx_file(
    pretrained_model_name_or_path: str | os.PathLike, int8: bool = False, revision: str | None = None, **hub_kwargs
) -> Path:
    """The local path of a folder's (or a Hub repository's) ONNX file, downloaded where needed.

    Raises:
        FileNotFoundError: the folder or repository has no such file; the message gives the command that makes it.
    """
    name = onnx_file_name(int8)
    folder = Path(pretrained_model_name_or_path)
    missing = (
        f"{folder}: expected {name} for the ONNX Runtime backend, found none. Write it with: "
        f"{export_command(folder, int8)}"
        if folder.is_dir()
        else f"{pretrained_model_name_or_path}: expected {name} in the repository for the ONNX Runtime backend, found "
        "none. Publish it with `mtl-bilstm-ner push --with_onnx ...`, or export a local copy with: "
        f"{export_command('DIR', int8)}"
    )
    return resolve_model_file(pretrained_model_name_or_path, name, revision=revision, missing=missing, **hub_kwargs)


def resolve_model_file(
    pretrained_model_name_or_path: str | os.PathLike,
    filename: str,
    revision: str | None = None,
    missing: str | None = None,
    **hub_kwargs,
) -> Path:
    """The local path of one file of a model folder or Hub repository (downloaded with huggingface_hub where needed),
    without transformers. `missing` is the error message where there is no such file.

    Raises:
        FileNotFoundError: the folder or repository has no such file, or the name is neither.
    """
    missing = missing or f"{pretrained_model_name_or_path}: expected {filename}, found none."
    folder = Path(pretrained_model_name_or_path)
    if folder.is_dir():
        path = folder / (hub_kwargs.get("subfolder") or "") / filename
        if not path.is_file():
            raise FileNotFoundError(missing)
        return path
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, HFValidationError, LocalEntryNotFoundError
    except ImportError:
        raise FileNotFoundError(
            f"{pretrained_model_name_or_path}: expected a model folder, found none (a Hub repository needs "
            "huggingface_hub: pip install huggingface-hub)."
        ) from None

    download_kwargs = {
        key: hub_kwargs[key]
        for key in ("cache_dir", "force_download", "token", "local_files_only", "subfolder")
        if key in hub_kwargs
    }
    try:
        return Path(
            hf_hub_download(str(pretrained_model_name_or_path), filename, revision=revision, **download_kwargs)
        )
    except HFValidationError:
        raise FileNotFoundError(
            f"{pretrained_model_name_or_path}: expected a model folder or a Hub repository id, found neither."
        ) from None
    except LocalEntryNotFoundError:
        raise  # offline, or not in the cache: its message says so
    except EntryNotFoundError:
        raise FileNotFoundError(missing) from None


def session_options(num_threads: int | None = None):
    """onnxruntime session options: `num_threads` intra-op threads (onnxruntime's choice, one per physical core,
    where None), one inter-op thread, and the whole graph optimised."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.inter_op_num_threads = 1
    if num_threads is not None:
        if not isinstance(num_threads, int) or isinstance(num_threads, bool) or num_threads < 1:
            raise ValueError(f"num_threads: expected a positive int or None, received {num_threads!r}.")
        options.intra_op_num_threads = num_threads
    return options


class ONNXRuntimeTagger:
    """
    An exported model under ONNX Runtime (CPU): tag scores from the session, tag ids and tag probabilities from
    numpy decoding, with the results of the torch model (`decode`, and the predictor's NER scores).

    Args:
        path (`str` or `os.PathLike`): an ONNX file written by `export_onnx` (`model.onnx`, `model.int8.onnx`).
        num_threads (`int`, *optional*): intra-op threads of the session; onnxruntime's default where None.
        options (`onnxruntime.SessionOptions`, *optional*): session options to use instead (then `num_threads`
            is ignored).

    Example:

    ```python
    >>> tagger = ONNXRuntimeTagger.from_pretrained("runs/compare/best_model", int8=True)
    >>> inputs = dict(tokenizer([["세종", "대왕"]]))  # numpy arrays or CPU tensors
    >>> tagger.decode_all(inputs)["ner"]  # (batch, seq_len) tag ids, -100 at padding
    ```
    """

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None, options=None):
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError(
                f"The ONNX Runtime backend needs onnxruntime, which is not installed: {ONNX_EXTRA_INSTALL}"
            ) from error
        self.path = Path(path)
        self.session = onnxruntime.InferenceSession(
            str(self.path), options or session_options(num_threads), providers=["CPUExecutionProvider"]
        )
        self.metadata = _read_metadata(self.session, self.path)
        self.tasks = tuple(self.metadata["tasks"])
        self.int8 = bool(self.metadata.get("int8", False))
        self.id2label = {task: dict(enumerate(labels)) for task, labels in self.metadata["id2label"].items()}
        self.crf_scores = {
            task: CRFScores(
                start=np.asarray(scores["start"], dtype=np.float32),
                transitions=np.asarray(scores["transitions"], dtype=np.float32),
                end=np.asarray(scores["end"], dtype=np.float32),
            )
            for task, scores in self.metadata.get("crf", {}).items()
        }
        self.constraints = {
            task: iob2_constraints(self.id2label[task]) for task in self.metadata.get("constrained_tasks", [])
        }
        self._inputs = [(node.name, _NUMPY_TYPES.get(node.type)) for node in self.session.get_inputs()]
        self.input_names = tuple(name for name, _ in self._inputs)
        self._outputs = [f"{task}_logits" for task in self.tasks]

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        int8: bool = False,
        revision: str | None = None,
        num_threads: int | None = None,
        **hub_kwargs,
    ) -> "ONNXRuntimeTagger":
        """The tagger of a folder's (or Hub repository's) `model.onnx`, or `model.int8.onnx` with `int8=True`."""
        path = resolve_onnx_file(pretrained_model_name_or_path, int8=int8, revision=revision, **hub_kwargs)
        return cls(path, num_threads=num_threads)

    def logits(self, inputs: Mapping[str, object]) -> dict[str, np.ndarray]:
        """`{task: (batch, seq_len, num_tags) float32 tag scores}` for a padded batch (numpy arrays, or anything
        `np.asarray` reads, such as CPU tensors) holding at least the graph's inputs; other entries are ignored."""
        missing = [name for name in self.input_names if name not in inputs]
        if missing:
            raise ValueError(
                f"inputs: expected the inputs of {self.path.name} {list(self.input_names)}, missing {missing} "
                f"(received {sorted(inputs)})."
            )
        feed = {name: np.asarray(inputs[name], dtype=dtype) for name, dtype in self._inputs}
        return dict(zip(self.tasks, self.session.run(self._outputs, feed)))

    def decode(self, task: str, logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Tag ids of one task, as the torch model's `decode_logits`: Viterbi over the CRF's scores (restricted to
        valid IOB2 where the export says so), Viterbi over the log-softmax scores for a constrained softmax head,
        argmax otherwise. Padding positions hold -100."""
        self._check_task(task)
        constraints = self.constraints.get(task)
        if task in self.crf_scores:
            return viterbi_decode(logits, mask, self.crf_scores[task], constraints, pad_tag_id=IGNORE_INDEX)
        if constraints is not None:
            return viterbi_decode(log_softmax(logits), mask, None, constraints, pad_tag_id=IGNORE_INDEX)
        return viterbi_decode(logits, mask, pad_tag_id=IGNORE_INDEX)

    def probabilities(self, task: str, logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(batch, seq_len, num_tags) probability of each tag, as the predictor scores entities: the CRF's posterior
        marginals under the decoding constraints (float64), or the softmax of a softmax head (float32)."""
        self._check_task(task)
        if task in self.crf_scores:
            return crf_marginals(logits, mask, self.crf_scores[task], self.constraints.get(task))
        return softmax(logits)

    def decode_all(self, inputs: Mapping[str, object]) -> dict[str, np.ndarray]:
        """Tag ids of every exported task for a padded batch, like the torch model's `decode`."""
        mask = np.asarray(inputs["attention_mask"]).astype(bool)
        return {task: self.decode(task, logits, mask) for task, logits in self.logits(inputs).items()}

    def _check_task(self, task: str):
        if task not in self.tasks:
            raise ValueError(f"{self.path.name} has no {task!r} output: expected one of {self.tasks}.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={str(self.path)!r}, tasks={self.tasks}, int8={self.int8})"


def _read_metadata(session, path: Path) -> dict:
    raw = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    if raw is None:
        raise ValueError(
            f"{path}: expected an ONNX file written by `mtl-bilstm-ner export-onnx` (with {METADATA_KEY!r} "
            "metadata), received one without it."
        )
    metadata = json.loads(raw)
    if metadata.get("format") != METADATA_FORMAT:
        raise ValueError(
            f"{path}: expected {METADATA_KEY!r} metadata format {METADATA_FORMAT}, received "
            f"{metadata.get('format')!r}; export the model again with this version of the package."
        )
    return metadata


__all__ = [
    "METADATA_KEY",
    "ONNX_FILE",
    "ONNX_INT8_FILE",
    "ONNXRuntimeTagger",
    "export_command",
    "onnx_file_name",
    "resolve_model_file",
    "resolve_onnx_file",
    "session_options",
]
