"""Hugging Face Inference Endpoints handler of an mtl-bilstm-ner model.

`build_hub_folder` copies this file into the Hub folder as `handler.py`, beside a `requirements.txt` that installs
the mtl-bilstm-ner package (the Kiwi analyser, the predictor and, for a folder with ONNX files, ONNX Runtime): the
endpoint's toolkit installs the requirements, loads `handler.py` by its path and calls
`EndpointHandler(model_dir)`, then the handler on each request body.

Requests are `{"inputs": str | list[str], "parameters": {...}}`. The answer follows the toolkit's
`token-classification` convention (what `huggingface_hub.InferenceClient.token_classification` reads): for a text,
a list of `{"entity_group", "score", "word", "start", "end"}` (character offsets into the text); for a list of
texts, one such list per text. `"parameters": {"return_tokens": true}` answers the `KoreanNERPredictor` output
instead: for each text a dict of `text`, `entities` and `tokens` (morphemes with their POS and NER tags).

The model runs with ONNX Runtime where the folder holds `model.int8.onnx` (preferred) or `model.onnx`, with torch
otherwise. This file imports only the mtl-bilstm-ner package, never the folder's modeling code, so that it works
copied anywhere.
"""

from pathlib import Path
from typing import Any


# ONNX files in order of preference, and whether each is the int8 one (`quantize=True` loads it).
ONNX_FILES = (("model.int8.onnx", True), ("model.onnx", False))
PARAMETERS = ("return_tokens",)
WARM_UP_TEXT = "서울에 갔다."


class EndpointHandler:
    """Serves a `KoreanNERPredictor` loaded from the endpoint's model folder `path`."""

    def __init__(self, path: str = ""):
        try:
            from modeling_mtl_bilstm import KoreanNERPredictor
            from modeling_mtl_bilstm.inference.predictor import token_classification_entities
        except ImportError as error:
            raise ImportError(
                f"handler.py serves the model with the mtl-bilstm-ner package: expected it installed from "
                f"{Path(path, 'requirements.txt')}, received {error}"
            ) from error
        folder = Path(path)
        backend, quantize = "torch", False
        for name, int8 in ONNX_FILES:
            if (folder / name).is_file():
                backend, quantize = "onnx", int8
                break
        self.predictor = KoreanNERPredictor.from_pretrained(str(folder), backend=backend, quantize=quantize)
        self.as_entities = token_classification_entities
        self.predictor([WARM_UP_TEXT])  # loads Kiwi now, not on the first request

    def __call__(self, data: dict[str, Any]) -> list:
        """The entities of `data["inputs"]` (see the module docstring for the answer's shape)."""
        inputs = data.get("inputs")
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
            raise TypeError(f'"inputs": expected a string or a list of strings, received {inputs!r}')
        parameters = data.get("parameters") or {}
        unknown = sorted(set(parameters) - set(PARAMETERS))
        if unknown:
            raise ValueError(f'"parameters": expected only {list(PARAMETERS)}, received {unknown}')
        results = self.predictor(texts)
        if not parameters.get("return_tokens", False):
            results = [self.as_entities(result) for result in results]
        return results[0] if isinstance(inputs, str) else results
