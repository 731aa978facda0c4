"""Torch-free serving: the ONNX Runtime predictor of an exported model runs in a process where torch, transformers
and datasets cannot be imported (as in a `pip install "mtl-bilstm-ner[serve]"` environment), and gives the torch
backend's entities."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import TINY_MODEL_CONFIG
from remote_code import block_imports
from test_onnx import NER_LABELS, RAW_TEXTS, TRAINING_SENTENCES, requires_onnx


pytest.importorskip("kiwipiepy", reason="raw-text NER needs kiwipiepy: pip install -e '.[korean]'")

# Modules the `serve` extra does not install.
UNINSTALLED = ("torch", "transformers", "datasets")
TEXTS = RAW_TEXTS + [" ".join(RAW_TEXTS[:4]) * 40]  # and one text of several analysis blocks
# The modules the serve extra lacks are made unimportable before anything imports them.
SERVE_SCRIPT = block_imports(*UNINSTALLED) + textwrap.dedent(
    """
    import json
    import sys

    from modeling_mtl_bilstm import KoreanNERPredictor

    predictor = KoreanNERPredictor.from_pretrained(sys.argv[1], backend="onnx", num_threads=1, batch_size=3)
    results = predictor(json.loads(sys.stdin.read()))
    loaded = sorted(name for name in sys.modules if name.partition(".")[0] in {uninstalled!r})
    print(json.dumps({{"results": results, "loaded": loaded, "predictor": repr(predictor)}}, ensure_ascii=False))
    """
).format(uninstalled=UNINSTALLED)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny model with eojeol features (as trained by default), trained on TRAINING_SENTENCES and exported to ONNX."""
    requires_onnx()
    from modeling_mtl_bilstm import MTLBiLSTMConfig, MTLBiLSTMForTokenClassification, MTLBiLSTMTokenizer
    from modeling_mtl_bilstm.inference.onnx_export import export_onnx_from_pretrained

    tokens = [[form for form, _, _ in sentence] for sentence in TRAINING_SENTENCES]
    pos_labels = sorted({pos for sentence in TRAINING_SENTENCES for _, pos, _ in sentence})
    tokenizer = MTLBiLSTMTokenizer.build(tokens, eojeol_features=True)
    config = MTLBiLSTMConfig(
        **TINY_MODEL_CONFIG,
        vocab_size=tokenizer.vocab_size,
        char_vocab_size=tokenizer.char_vocab_size,
        dropout=0.0,
        use_eojeol_features=True,
        pos_id2label=dict(enumerate(pos_labels)),
        ner_id2label=dict(enumerate(NER_LABELS)),
    )
    torch.manual_seed(0)
    model = MTLBiLSTMForTokenClassification(config).train()
    batch = tokenizer(
        tokens,
        pos_tags=[[pos_labels.index(pos) for _, pos, _ in sentence] for sentence in TRAINING_SENTENCES],
        ner_tags=[[NER_LABELS.index(ner) for _, _, ner in sentence] for sentence in TRAINING_SENTENCES],
        word_ids=[list(range(len(sentence))) for sentence in tokens],
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(100):
        optimizer.zero_grad()
        model(**batch).loss.backward()
        optimizer.step()
    directory = tmp_path_factory.mktemp("serving-model")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    export_onnx_from_pretrained(directory)
    return directory


def test_onnx_predictor_runs_without_torch_and_gives_the_torch_entities(model_dir, kiwi_analyzer):
    from modeling_mtl_bilstm import KoreanNERPredictor

    served = subprocess.run(
        [sys.executable, "-c", SERVE_SCRIPT, str(model_dir)],
        input=json.dumps(TEXTS),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert served.returncode == 0, served.stderr
    output = json.loads(served.stdout)
    assert output["loaded"] == []
    assert "model.onnx" in output["predictor"]

    expected = KoreanNERPredictor.from_pretrained(model_dir, analyzer=kiwi_analyzer, batch_size=3)(TEXTS)
    assert sum(len(result["entities"]) for result in expected) > 40  # the model learnt its sentences
    for received, wanted in zip(output["results"], expected):
        scores = [entity.pop("score") for entity in received["entities"]]
        assert scores == pytest.approx([entity.pop("score") for entity in wanted["entities"]], abs=1e-5)
        assert received == wanted


@pytest.mark.parametrize(
    "script, argv, keys",
    [
        ("document_length", ["--base_bytes", "3000", "--repeats", "1"], {"sizes", "document_over_list_at_8x"}),
        (
            "serving_speed",
            ["--max_sentences", "60", "--repeats", "1"],
            {"sentences_per_second", "pool_entity_agreement"},
        ),
        ("serving_bound", ["--max_sentences", "60", "--repeats", "1"], {"backends", "cores"}),
    ],
)
def test_serving_benchmarks_run_at_tiny_sizes(script, argv, keys, tmp_path):
    """The serving benchmarks run end to end on a few KLUE sentences and write their JSON (speeds are not checked)."""
    requires_onnx()
    from pathlib import Path

    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    klue = benchmarks.parents[1] / "shared" / "data" / "klue-ner" / "klue-ner-v1.1_dev.part.tsv"
    if not klue.is_file():
        pytest.skip(f"the serving benchmarks read the KLUE-NER dev sentences, absent here: {klue}")
    output = tmp_path / f"{script}.json"
    run = subprocess.run(
        [sys.executable, str(benchmarks / f"{script}.py"), *argv, "--threads", "1", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(output.read_text(encoding="utf-8"))
    assert keys <= set(result)
    for backend in result.get("backends", {}).values():  # serving_bound: the cores over the stages' CPU cost
        cost = backend["cpu_microseconds_per_sentence"]
        assert cost["total"] == pytest.approx(cost["kiwi"] + cost["python"] + cost["model"], abs=0.2)
        assert backend["bound_sentences_per_second"] == pytest.approx(result["cores"] / cost["total"] * 1e6, rel=1e-3)
