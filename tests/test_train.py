"""End-to-end tests of examples/train.py on the bundled sample corpus, with a tiny model."""

import importlib.util
import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from transformers import AutoModelForTokenClassification

REPO = Path(__file__).resolve().parents[1]
TINY = [
    "--embedding_dim", "16", "--char_embedding_dim", "8", "--char_cnn_filters", "8",
    "--shared_hidden_size", "16", "--task_hidden_size", "8", "--per_device_train_batch_size", "32",
    "--learning_rate", "0.01", "--disable_tqdm", "true", "--torch_num_threads", "1",
]


@pytest.fixture(scope="module")
def train_script():
    spec = importlib.util.spec_from_file_location("train_example", REPO / "examples" / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def comparison(train_script, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("compare")
    train_script.main(["--compare", "--seeds", "1", "2", "--num_train_epochs", "2", "--output_dir", str(output_dir), *TINY])
    return output_dir


def test_comparison_writes_results_in_range(comparison):
    results = json.loads((comparison / "results.json").read_text())
    assert set(results) == {"mtl", "ner", "pos"}
    for key, summary in results.items():
        assert set(summary["seeds"]) == {"1", "2"}
        for name in ("train_seconds", "train_tokens_per_second"):
            assert summary["mean"][name] > 0
        scores = ["pos_accuracy"] if key == "pos" else ["ner_f1", "ner_precision", "ner_recall"]
        if key == "mtl":
            scores.append("pos_accuracy")
        for name in scores:
            values = [seed[name] for seed in summary["seeds"].values()]
            assert all(0.0 <= v <= 1.0 for v in values), (key, name, values)
            assert summary["mean"][name] == pytest.approx(sum(values) / 2)
            assert summary["std"][name] == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))
    assert "pos_accuracy" not in results["ner"]["mean"] and "ner_f1" not in results["pos"]["mean"]
    assert any(name.startswith("ner_") and name.endswith("_f1") and name != "ner_f1" for name in results["mtl"]["mean"])
    assert len(results["mtl"]["seeds"]["1"]["dev_curve"]) == 2


def test_comparison_writes_table_figure_and_best_model(comparison):
    table = (comparison / "results.md").read_text()
    assert "| mtl |" in table and "| ner |" in table and "| pos |" in table
    assert "NER F1 delta mtl − ner" in table
    assert (comparison / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    info = json.loads((comparison / "run_info.json").read_text())
    assert info["best_model"]["key"] in {"mtl", "ner"}
    best = comparison / "best_model"
    for name in ("model.safetensors", "config.json", "vocab.json", "tokenizer_config.json", "README.md"):
        assert (best / name).exists(), name
    model = AutoModelForTokenClassification.from_pretrained(best)
    card = ModelCard.load(best / "README.md")
    assert card.data.language == "ko" and card.data.pipeline_tag == "token-classification"
    results = json.loads((comparison / "results.json").read_text())
    measured = results[info["best_model"]["key"]]["seeds"][str(info["best_model"]["seed"])]
    f1 = [r for r in card.data.eval_results if r.metric_type == "f1"][0]
    assert f1.metric_value == pytest.approx(measured["ner_f1"], abs=1e-4)
    assert model.config.ner_id2label[0] == "O"


def run_task(train_script, output_dir, *extra):
    train_script.main(
        ["--task", "ner", "--seeds", "3", "--num_train_epochs", "3", "--output_dir", str(output_dir), *TINY, *extra]
    )
    return json.loads((output_dir / "results.json").read_text())["ner"]["seeds"]["3"]


def test_fixed_seed_gives_same_f1_and_resume_continues_to_same_result(train_script, tmp_path, monkeypatch):
    reference = run_task(train_script, tmp_path / "reference")
    again = run_task(train_script, tmp_path / "again")
    assert again["ner_f1"] == reference["ner_f1"]

    # Interrupt the run in its third epoch, after the second epoch's checkpoint was written.
    from modeling_mtl_bilstm.trainer import MTLBiLSTMTrainer

    original_step = MTLBiLSTMTrainer.training_step

    def interrupted_step(self, *args, **kwargs):
        if self.state.epoch is not None and self.state.epoch >= 2.3:
            raise KeyboardInterrupt("simulated interruption")
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(MTLBiLSTMTrainer, "training_step", interrupted_step)
    with pytest.raises(KeyboardInterrupt):
        run_task(train_script, tmp_path / "resumed")
    monkeypatch.setattr(MTLBiLSTMTrainer, "training_step", original_step)
    assert list((tmp_path / "resumed" / "runs" / "ner" / "seed3").glob("checkpoint-*"))
    resumed = run_task(train_script, tmp_path / "resumed", "--resume_from_checkpoint", "last")
    assert resumed["ner_f1"] == reference["ner_f1"]
    assert resumed["epochs"] == reference["epochs"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--task", "chunk"], "invalid choice"),
        (["--fp16", "true"], "need a CUDA GPU"),
        (["--dataset", "klp2016"], "needs --data_dir"),
        (["--dataset", "conll"], "needs --train_file"),
        (["--resume_from_checkpoint", "/no/such/checkpoint"], "expected 'last' or a checkpoint folder"),
    ],
)
def test_nonsense_arguments_fail_clearly(train_script, tmp_path, argv, message, capsys):
    if "--fp16" in argv and torch.cuda.is_available():
        pytest.skip("a GPU is available here")
    with pytest.raises(SystemExit) as raised:
        train_script.main([*argv, "--output_dir", str(tmp_path)])
    assert message in str(raised.value) + capsys.readouterr().err


def test_missing_data_dir_fails_naming_the_files(train_script, tmp_path):
    with pytest.raises(Exception, match="train"):
        train_script.main(["--dataset", "klp2016", "--data_dir", str(tmp_path), "--output_dir", str(tmp_path / "out")])


@pytest.mark.skipif(shutil.which("accelerate") is None, reason="accelerate CLI not installed")
def test_two_process_cpu_run_with_accelerate(tmp_path):
    """Two gloo ranks on CPU (the shipped accelerate config): data sharded, files written once."""
    output_dir = tmp_path / "ddp"
    command = [
        "accelerate", "launch", "--config_file", str(REPO / "examples" / "accelerate_cpu_2proc.yaml"),
        str(REPO / "examples" / "train.py"), "--task", "mtl", "--seeds", "1", "--num_train_epochs", "1",
        "--output_dir", str(output_dir), *TINY,
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    info = json.loads((output_dir / "run_info.json").read_text())
    assert info["num_processes"] == 2
    results = json.loads((output_dir / "results.json").read_text())
    assert 0.0 <= results["mtl"]["mean"]["ner_f1"] <= 1.0
