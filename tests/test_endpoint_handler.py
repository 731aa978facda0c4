"""Tests of the Inference Endpoints handler that `build_hub_folder` (`mtl-bilstm-ner push`) writes: `handler.py` is
loaded from the Hub folder by its path and called as the huggingface-inference-toolkit does (`EndpointHandler(
model_dir)`, then `handler({"inputs": ..., "parameters": ...})`), on a tiny model, with torch and with ONNX Runtime."""

import importlib.util
import json
import sys

import pytest


pytest.importorskip("kiwipiepy", reason="raw-text NER needs kiwipiepy: pip install -e '.[korean]'")

from tiny_models import train_marked_model, unmark  # noqa: E402

from modeling_mtl_bilstm import KoreanNERPredictor  # noqa: E402
from modeling_mtl_bilstm.hub import build_hub_folder  # noqa: E402


MARKED_SENTENCES = [
    "<세종대왕:PS>은 <1443년:DT>에 훈민정음을 창제했다.",
    "<이순신:PS>은 <1592년:DT>에 <한산도:LC>에서 크게 이겼다.",
    "어제 <부산:LC>에 갔어요.",
]
TEXTS = [unmark(marked)[0] for marked in MARKED_SENTENCES]
# The toolkit imports the custom handler under this module name (huggingface_inference_toolkit.const).
TOOLKIT_MODULE_NAME = "handler.EndpointHandler"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, kiwi_analyzer):
    return train_marked_model(tmp_path_factory.mktemp("tiny-ner-model"), kiwi_analyzer, MARKED_SENTENCES)


def load_endpoint_handler(folder):
    """`EndpointHandler(folder)` from the folder's handler.py, imported by path as the endpoint toolkit does."""
    spec = importlib.util.spec_from_file_location(TOOLKIT_MODULE_NAME, folder / "handler.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(folder))
    try:
        spec.loader.exec_module(module)
        return module.EndpointHandler(str(folder))
    finally:
        sys.path.remove(str(folder))


def as_token_classification(result: dict) -> list[dict]:
    return [
        {"entity_group": e["type"], "score": e["score"], "word": e["text"], "start": e["start"], "end": e["end"]}
        for e in result["entities"]
    ]


@pytest.fixture(scope="module")
def torch_folder(model_dir, tmp_path_factory):
    return build_hub_folder(model_dir, tmp_path_factory.mktemp("hub") / "model", repo_id="me/model")


@pytest.fixture(scope="module")
def torch_handler(torch_folder):
    return load_endpoint_handler(torch_folder)


def test_handler_serves_the_torch_model_like_token_classification(
    torch_folder, torch_handler, model_dir, kiwi_analyzer
):
    assert (torch_folder / "requirements.txt").read_text(encoding="utf-8").startswith("mtl-bilstm-ner[korean]")
    expected = KoreanNERPredictor.from_pretrained(model_dir, analyzer=kiwi_analyzer)(TEXTS)

    # One text: a list of entities, as a token-classification endpoint answers; JSON-serialisable.
    answer = torch_handler({"inputs": TEXTS[0], "parameters": {}})
    assert answer == as_token_classification(expected[0])
    assert [(e["word"], e["entity_group"]) for e in answer] == [("세종대왕", "PS"), ("1443년", "DT")]
    assert json.loads(json.dumps(answer, ensure_ascii=False)) == answer
    # A list of texts: one list each; no parameters at all is the same.
    assert torch_handler({"inputs": TEXTS}) == [as_token_classification(result) for result in expected]
    # return_tokens: the predictor's own dicts, morphemes included.
    assert torch_handler({"inputs": TEXTS, "parameters": {"return_tokens": True}}) == expected
    assert torch_handler({"inputs": TEXTS[1], "parameters": {"return_tokens": True}}) == expected[1]


@pytest.mark.parametrize(
    "data, error, message",
    [
        ({"inputs": 3}, TypeError, '"inputs": expected a string or a list of strings, received 3'),
        ({"inputs": ["a", None]}, TypeError, "received \\['a', None\\]"),
        ({"inputs": "a", "parameters": {"top_k": 3}}, ValueError, "expected only \\['return_tokens'\\], received \\['top_k'\\]"),
    ],
)  # fmt: skip
def test_handler_errors_say_expected_and_received(torch_handler, data, error, message):
    with pytest.raises(error, match=message):
        torch_handler(data)


def test_handler_serves_onnx_where_the_folder_has_it(model_dir, kiwi_analyzer, tmp_path):
    pytest.importorskip("onnxruntime", reason="the ONNX backend needs the onnx extra: pip install -e '.[onnx]'")
    pytest.importorskip("onnxscript", reason="ONNX export needs the onnx extra: pip install -e '.[onnx]'")
    folder = build_hub_folder(model_dir, tmp_path / "hub", repo_id="me/model", with_onnx=True)
    assert (folder / "requirements.txt").read_text(encoding="utf-8").startswith("mtl-bilstm-ner[korean,onnx]")
    request = {"inputs": TEXTS, "parameters": {"return_tokens": True}}
    for quantize in (True, False):  # model.int8.onnx where the folder has it, else model.onnx
        expected = KoreanNERPredictor.from_pretrained(
            folder, backend="onnx", quantize=quantize, analyzer=kiwi_analyzer
        )
        assert load_endpoint_handler(folder)(request) == expected(TEXTS), quantize
        (folder / "model.int8.onnx").unlink(missing_ok=True)
