"""End-to-end tests of the training engine (`modeling_mtl_bilstm.training`, run as examples/train.py runs it) on
the bundled sample corpus, with a tiny model."""

import importlib.util
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from safetensors.torch import load_file
from transformers import AutoModelForTokenClassification

from modeling_mtl_bilstm.training import ArgumentError
from modeling_mtl_bilstm.training.trainer import MTLBiLSTMTrainer


REPO = Path(__file__).resolve().parents[1]


def read_standard_json(path: Path):
    """JSON as the standard defines it: NaN and Infinity are not values."""

    def refuse(constant):
        raise ValueError(f"{path}: {constant} is not standard JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.fixture(scope="module")
def comparison(train, tiny_training_flags, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("compare")
    train(
        [
            "--compare",
            "--seeds",
            "1",
            "2",
            "--num_train_epochs",
            "2",
            "--output_dir",
            str(output_dir),
            *tiny_training_flags,
        ]
    )
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
    assert any(
        name.startswith("ner_") and name.endswith("_f1") and name != "ner_f1" for name in results["mtl"]["mean"]
    )
    assert len(results["mtl"]["seeds"]["1"]["dev_curve"]) == 2


def test_comparison_writes_table_figure_and_best_model(comparison):
    table = (comparison / "results.md").read_text()
    assert "| mtl |" in table and "| ner |" in table and "| pos |" in table
    assert "NER F1 delta mtl − ner" in table
    assert "Pooled over seeds" in table and "(approximate randomisation)" in table
    significance = json.loads((comparison / "run_info.json").read_text())["ner_f1_deltas"]["mtl-ner"]["significance"]
    assert set(significance["per_seed"]) == {"1", "2"}
    test_sentences = len(
        json.loads((comparison / "results.json").read_text())["mtl"]["seeds"]["1"]["test_ner_sentence_counts"]
    )
    assert significance["pooled"]["sentences"] == 2 * test_sentences
    assert 0 < significance["pooled"]["p_value"] <= 1
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


def run_task(train, tiny_training_flags, output_dir, *extra, task="ner", seeds=("3",)):
    train(
        ["--task", task, "--seeds", *seeds, "--num_train_epochs", "3", "--output_dir", str(output_dir)]
        + [*tiny_training_flags, *extra]
    )
    return json.loads((output_dir / "results.json").read_text())[task]["seeds"]


def test_fixed_seed_gives_same_f1_and_resume_continues_to_same_result(
    train, tiny_training_flags, tmp_path, monkeypatch
):
    reference = run_task(train, tiny_training_flags, tmp_path / "reference")["3"]
    again = run_task(train, tiny_training_flags, tmp_path / "again")["3"]
    assert again["ner_f1"] == reference["ner_f1"]  # same machine, same process: exactly

    # Interrupt the run in its third epoch, after the second epoch's checkpoint was written.
    original_step = MTLBiLSTMTrainer.training_step

    def interrupted_step(self, *args, **kwargs):
        if self.state.epoch is not None and self.state.epoch >= 2.3:
            raise KeyboardInterrupt("simulated interruption")
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(MTLBiLSTMTrainer, "training_step", interrupted_step)
    with pytest.raises(KeyboardInterrupt):
        run_task(train, tiny_training_flags, tmp_path / "resumed")
    monkeypatch.setattr(MTLBiLSTMTrainer, "training_step", original_step)
    assert list((tmp_path / "resumed" / "runs" / "ner" / "seed3").glob("checkpoint-*"))
    resumed = run_task(train, tiny_training_flags, tmp_path / "resumed", "--resume_from_checkpoint", "last")["3"]
    assert resumed["ner_f1"] == reference["ner_f1"]
    assert resumed["epochs"] == reference["epochs"]


def test_resumed_comparison_keeps_the_best_run_finished_before_the_interruption(
    train, tiny_training_flags, tmp_path, monkeypatch
):
    """Two runs, interrupted between them: the resumed comparison selects among both runs exactly as an
    uninterrupted one does, even when the better run is the one that finished before the interruption."""
    # Long and fast enough for the two seeds to differ on dev.
    settings = ["--num_train_epochs", "4", "--learning_rate", "0.03"]

    def run(folder, order, *extra):
        train(
            ["--task", "ner", "--seeds", *order, "--output_dir", str(folder), *tiny_training_flags, *settings, *extra]
        )
        return json.loads((folder / "results.json").read_text())["ner"]["seeds"]

    uninterrupted, order = tmp_path / "uninterrupted", ["1", "2"]
    scores = run(uninterrupted, order)
    if scores["1"]["dev_ner_f1"] == scores["2"]["dev_ner_f1"]:
        pytest.skip("both seeds tie on dev: no better run to lose")
    if scores["2"]["dev_ner_f1"] > scores["1"]["dev_ner_f1"]:
        # The better seed first, so that it finishes before the interruption.
        order = ["2", "1"]
        shutil.rmtree(uninterrupted)
        run(uninterrupted, order)

    original_train = MTLBiLSTMTrainer.train
    calls = []

    def interrupted_train(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("simulated interruption before the second run")
        return original_train(self, *args, **kwargs)

    resumed = tmp_path / "resumed"
    monkeypatch.setattr(MTLBiLSTMTrainer, "train", interrupted_train)
    with pytest.raises(KeyboardInterrupt):
        run(resumed, order)
    monkeypatch.setattr(MTLBiLSTMTrainer, "train", original_train)
    run(resumed, order, "--resume_from_checkpoint", "last")

    expected, received = (
        read_standard_json(folder / "run_info.json")["best_model"] for folder in (uninterrupted, resumed)
    )
    assert received == expected and expected["seed"] == int(order[0])
    expected_weights = load_file(uninterrupted / "best_model" / "model.safetensors")
    received_weights = load_file(resumed / "best_model" / "model.safetensors")
    assert expected_weights.keys() == received_weights.keys()
    for name, tensor in expected_weights.items():
        assert torch.equal(received_weights[name], tensor), name
    expected_scores, received_scores = (
        {
            seed: {name: value for name, value in metrics.items() if not name.startswith("train_")}
            for seed, metrics in json.loads((folder / "results.json").read_text())["ner"]["seeds"].items()
        }
        for folder in (uninterrupted, resumed)
    )
    assert received_scores == expected_scores


def test_single_task_pos_run_selects_on_dev_pos_accuracy_and_writes_standard_json(
    train, tiny_training_flags, tmp_path
):
    scores = run_task(train, tiny_training_flags, tmp_path, task="pos", seeds=("1", "2"))
    info = read_standard_json(tmp_path / "run_info.json")
    best_seed = max(scores, key=lambda seed: (scores[seed]["dev_pos_accuracy"], -int(seed)))
    assert info["best_model"] == {
        "key": "pos",
        "seed": int(best_seed),
        "metric": "dev_pos_accuracy",
        "value": scores[best_seed]["dev_pos_accuracy"],
    }
    read_standard_json(tmp_path / "results.json")
    card = (tmp_path / "best_model" / "README.md").read_text()
    assert "chosen on the\ndevelopment split (dev POS accuracy" in card and "-inf" not in card


@pytest.mark.parametrize(
    "extra, expected_seeds", [([], {"1"}), (["--seed", "7"], {"7"}), (["--seeds", "4", "5"], {"4", "5"})]
)
def test_one_model_trains_one_seed_unless_seeds_are_given(train, tiny_training_flags, tmp_path, extra, expected_seeds):
    train(["--task", "mtl", "--max_steps", "2", "--output_dir", str(tmp_path), *tiny_training_flags, *extra])
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results) == {"mtl"} and set(results["mtl"]["seeds"]) == expected_seeds


def test_early_stopping_stops_without_dev_gain_and_keeps_quiet_after_training(
    train, tiny_training_flags, tmp_path, caplog
):
    # Learning rate 0: dev F1 never improves on epoch 1, so patience 1 stops training after epoch 2 of 5.
    argv = ["--task", "ner", "--num_train_epochs", "5", "--early_stopping_patience", "1", "--output_dir", tmp_path]
    transformers_logger = logging.getLogger("transformers")  # it does not propagate to the root logger
    transformers_logger.addHandler(caplog.handler)
    try:
        train([*map(str, argv), *tiny_training_flags, "--learning_rate", "0"])  # after the tiny flags' rate
    finally:
        transformers_logger.removeHandler(caplog.handler)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["ner"]["seeds"]["1"]["epochs"] == 2
    assert "early stopping" not in caplog.text  # the final dev_* evaluation does not look like a missing metric


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--fp16", "true"], "need a CUDA GPU"),
        (["--dataset", "klp2016"], "needs --data_dir"),
        (["--dataset", "conll"], "needs --train_file"),
        (["--resume_from_checkpoint", "/no/such/checkpoint"], "expected 'last' or a checkpoint folder"),
        (["--compare", "--task", "ner"], "drop --task"),
    ],
)
def test_nonsense_arguments_fail_clearly(train, tmp_path, argv, message):
    if "--fp16" in argv and torch.cuda.is_available():
        pytest.skip("a GPU is available here")
    with pytest.raises(ArgumentError, match=message):
        train([*argv, "--output_dir", str(tmp_path)])


def test_script_reports_bad_arguments_as_usage_errors(tmp_path):
    for argv, message in ((["--task", "chunk"], "invalid choice"), (["--dataset", "klp2016"], "needs --data_dir")):
        result = subprocess.run(
            [sys.executable, str(REPO / "examples" / "train.py"), *argv, "--output_dir", str(tmp_path)],
            capture_output=True,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
        )
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_missing_data_dir_fails_naming_the_files(train, tmp_path):
    with pytest.raises(Exception, match="train"):
        train(["--dataset", "klp2016", "--data_dir", str(tmp_path), "--output_dir", str(tmp_path / "out")])


@pytest.mark.skipif(shutil.which("accelerate") is None, reason="accelerate CLI not installed")
def test_two_process_cpu_run_with_accelerate(tiny_training_flags, tmp_path):
    """Two gloo ranks on CPU (the shipped accelerate config): data sharded, files written once."""
    output_dir = tmp_path / "ddp"
    command = [
        "accelerate",
        "launch",
        "--config_file",
        str(REPO / "examples" / "accelerate_cpu_2proc.yaml"),
        str(REPO / "examples" / "train.py"),
        "--task",
        "mtl",
        "--seeds",
        "1",
        "--num_train_epochs",
        "1",
        "--output_dir",
        str(output_dir),
        *tiny_training_flags,
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    info = json.loads((output_dir / "run_info.json").read_text())
    assert info["num_processes"] == 2
    results = json.loads((output_dir / "results.json").read_text())
    assert 0.0 <= results["mtl"]["mean"]["ner_f1"] <= 1.0


def test_extra_training_corpora_and_kiwi_analysis_extend_the_training_split(train, tiny_training_flags, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    sentence = "세종\tNNP\tB-PS\n이\tJKS\tO\n한글\tNNP\tB-OG\n을\tJKO\tO\n만들\tVV\tO\n었\tEP\tO\n다\tEF\tO\n"
    (extra / "train.txt").write_text("\n".join([sentence] * 3), encoding="utf-8")
    common = ["--task", "ner", "--max_steps", "1", *tiny_training_flags]
    train([*common, "--output_dir", str(tmp_path / "extra_run"), "--extra_train_corpora", f"conll={extra}"])
    corpus = json.loads((tmp_path / "extra_run" / "run_info.json").read_text())["corpus"]
    assert corpus["train"] == 588 + 3 and corpus["validation"] == 73 and corpus["test"] == 69
    # A Kiwi-analysed copy of the extra corpus too, analysed in the text Kiwi rebuilds from its morphemes.
    flags = ["--extra_train_corpora", f"conll={extra}", "--extra_corpora_analyzer", "both", "--analyzer", "corpus"]
    train([*common, "--output_dir", str(tmp_path / "extra_both"), *flags])
    assert json.loads((tmp_path / "extra_both" / "run_info.json").read_text())["corpus"]["train"] == 588 + 2 * 3
    card = " ".join((tmp_path / "extra_both" / "best_model" / "README.md").read_text(encoding="utf-8").split())
    assert "extra corpora are there twice as well (`--extra_corpora_analyzer both`)" in card

    train([*common, "--output_dir", str(tmp_path / "both"), "--analyzer", "both"])
    corpus = json.loads((tmp_path / "both" / "run_info.json").read_text())["corpus"]
    assert corpus["train"] == 2 * 588 and corpus["validation"] == 73
    # The default, auto: both for a corpus with raw sentences in the KLP layout, and a CoNLL corpus's own morphemes.
    train([*common, "--output_dir", str(tmp_path / "auto"), "--analyzer", "auto"])
    auto = json.loads((tmp_path / "auto" / "run_info.json").read_text())
    assert auto["corpus"]["train"] == 2 * 588 and auto["arguments"]["data"]["analyzer"] == "both"  # what it chose
    card = (tmp_path / "auto" / "best_model" / "README.md").read_text(encoding="utf-8")
    assert "holds each training sentence of sample twice (`--analyzer both`)" in " ".join(card.split())
    conll = [f"--{split}_file={extra / 'train.txt'}" for split in ("train", "validation", "test")]
    train([*common, "--output_dir", str(tmp_path / "conll"), "--analyzer", "auto", "--dataset", "conll", *conll])
    assert json.loads((tmp_path / "conll" / "run_info.json").read_text())["corpus"]["train"] == 3

    with pytest.raises(ArgumentError, match="expected NAME=DIR"):
        train([*common, "--output_dir", str(tmp_path / "bad"), "--extra_train_corpora", str(extra)])


def test_fine_tuning_a_saved_model_on_a_subset_of_entity_types(comparison, train, tmp_path):
    """The documented command: start from a trained model, keep PS and LC, the other types become O."""
    initial = comparison / "best_model"
    output_dir = tmp_path / "ps-lc"
    train(
        ["--task", "mtl", "--init_from", str(initial), "--ner_types", "PS", "LC", "--num_train_epochs", "1"]
        + ["--output_dir", str(output_dir), "--disable_tqdm", "true", "--torch_num_threads", "1"]
    )
    model = AutoModelForTokenClassification.from_pretrained(output_dir / "best_model")
    expected_tags = {0: "O", 1: "B-LC", 2: "I-LC", 3: "B-PS", 4: "I-PS"}
    assert model.config.ner_id2label == expected_tags and model.config.id2label == expected_tags
    assert model.config.label2id == {tag: i for i, tag in expected_tags.items()}
    assert model.heads["ner"].classifier.out_features == 5
    original = AutoModelForTokenClassification.from_pretrained(initial)
    assert model.config.pos_id2label == original.config.pos_id2label  # the POS head keeps its tags
    assert model.config.vocab_size == original.config.vocab_size
    assert (output_dir / "best_model" / "vocab.json").read_text() == (initial / "vocab.json").read_text()
    results = json.loads((output_dir / "results.json").read_text())["mtl"]["seeds"]["1"]
    assert {name for name in results if name.endswith("_f1") and name.startswith("ner_") and name != "ner_f1"} <= {
        "ner_LC_f1",
        "ner_PS_f1",
    }
    with pytest.raises(ArgumentError, match=r"--ner_types: expected types of the corpus .*received \['XX'\]"):
        train(["--init_from", str(initial), "--ner_types", "XX", "--output_dir", str(tmp_path / "bad")])


def test_fine_tuning_keeps_the_saved_models_input_features(train, tiny_training_flags, tmp_path, caplog):
    """The feature defaults are for new models: `--init_from` keeps the saved model's, and the log says so."""
    plain = tmp_path / "plain"
    features_off = ["--no_use_eojeol_features", "--no_gazetteer_from_training"]
    train(
        ["--task", "mtl", "--num_train_epochs", "1", "--output_dir", str(plain), *tiny_training_flags, *features_off]
    )
    tuned = tmp_path / "tuned"
    with caplog.at_level("INFO", logger="modeling_mtl_bilstm.training"):
        train(["--task", "mtl", "--init_from", str(plain / "best_model"), "--num_train_epochs", "1"]
              + ["--output_dir", str(tuned), "--disable_tqdm", "true", "--torch_num_threads", "1"])  # fmt: skip
    assert "keeping the saved model's eojeol features (off)" in caplog.text
    assert "keeping its trained morpheme embeddings" in caplog.text  # vectors are on by default, for new models
    assert not list(tuned.glob("kiwi_vectors_*")) and not list(tuned.glob("local_*"))
    with pytest.raises(ArgumentError, match="drop --morpheme_vectors_file"):
        train(["--init_from", str(plain / "best_model"), "--morpheme_vectors_file", "vectors.txt"]
              + ["--output_dir", str(tmp_path / "bad")])  # fmt: skip
    model = AutoModelForTokenClassification.from_pretrained(tuned / "best_model")
    assert model.config.use_eojeol_features is False and model.config.gazetteer_types is None
    assert not (tuned / "best_model" / "gazetteer.json").exists()
    assert json.loads((tuned / "run_info.json").read_text())["arguments"]["model"]["use_eojeol_features"] is False


# ---------------------------------------------------------------- input features (issue 13)


def default_vector_flags(tiny_training_flags: list[str]) -> list[str]:
    """The tiny flags without their `--morpheme_vectors none`."""
    at = tiny_training_flags.index("--morpheme_vectors")
    return tiny_training_flags[:at] + tiny_training_flags[at + 2 :]


@pytest.mark.parametrize(
    "flags, vectors_glob, least_hit_rate",
    [([], "local_fasttext_16d_*.txt", 1.0), (["--morpheme_vectors", "kiwi"], "kiwi_vectors_16d.txt", 0.5)],
    ids=["default_fasttext", "kiwi"],
)
def test_new_models_start_from_vectors(
    train, tiny_training_flags, tmp_path, caplog, flags, vectors_glob, least_hit_rate
):
    if flags:
        pytest.importorskip("kiwipiepy", reason="Kiwi vectors need kiwipiepy: pip install -e '.[korean]'")
    else:
        pytest.importorskip("gensim", reason="fastText vectors need gensim: pip install -e '.[vectors]'")
    with caplog.at_level("INFO", logger="modeling_mtl_bilstm.training.pretrained_embeddings"):
        train(["--task", "ner", "--max_steps", "1", "--output_dir", str(tmp_path)]
              + default_vector_flags(tiny_training_flags) + flags)  # fmt: skip
    [vectors] = tmp_path.glob(vectors_glob)
    found = re.search(rf"Pretrained embeddings {re.escape(str(vectors))}: (\d+) of (\d+) morphemes found", caplog.text)
    assert found and int(found[1]) >= least_hit_rate * int(found[2]), caplog.text
    expected = flags[1] if flags else "fasttext"
    assert json.loads((tmp_path / "run_info.json").read_text())["arguments"]["model"]["morpheme_vectors"] == expected


def test_kiwi_vectors_without_kiwipiepy_fail_before_training_naming_the_fix(train, tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "kiwipiepy" else find_spec(name, *a)
    )
    with pytest.raises(
        ArgumentError, match=r"--morpheme_vectors kiwi needs kiwipiepy.*\[korean\].*--morpheme_vectors none"
    ):
        train(["--task", "ner", "--morpheme_vectors", "kiwi", "--output_dir", str(tmp_path)])
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "flags, eojeol, word_dropout",
    [
        ([], True, 0.7),  # the defaults: eojeol features, the training gazetteer and word dropout
        (["--use_eojeol_features", "false", "--gazetteer_from_training", "false", "--word_dropout", "0"], False, 0.0),
        (["--gazetteer_folds", "3", "--gazetteer", "GAZETTE", "--eojeol_embedding_dim", "4"], True, 0.7),
        (["--word_dropout", "0.5", "--no_use_eojeol_features"], False, 0.5),
    ],
    ids=["defaults", "all_off", "gazette", "word_dropout"],
)
def test_training_with_each_input_feature(train, tiny_training_flags, tmp_path, flags, eojeol, word_dropout):
    gazette = tmp_path / "gazette.txt"
    gazette.write_text("가나다 라마\tOG\n세종대왕\tPS\n홍길동\tXX\n", encoding="utf-8")
    flags = [str(gazette) if flag == "GAZETTE" else flag for flag in flags]
    output_dir = tmp_path / "run"
    train(["--task", "mtl", "--num_train_epochs", "1", "--output_dir", str(output_dir), *tiny_training_flags, *flags])
    best = output_dir / "best_model"
    model = AutoModelForTokenClassification.from_pretrained(best)
    tokenizer_config = json.loads((best / "tokenizer_config.json").read_text())
    assert model.config.use_eojeol_features == eojeol == tokenizer_config["eojeol_features"]
    info = json.loads((output_dir / "run_info.json").read_text())
    assert info["arguments"]["model"]["word_dropout"] == word_dropout
    assert info["arguments"]["model"]["use_eojeol_features"] == eojeol
    if "false" in flags:
        assert model.config.gazetteer_types is None and not (best / "gazetteer.json").exists()
        assert info["arguments"]["data"]["gazetteer_from_training"] is False
        return
    assert info["arguments"]["data"]["gazetteer_from_training"] is True
    assert model.config.gazetteer_types == ("DT", "LC", "OG", "PS", "TI")
    gazetteer = json.loads((best / "gazetteer.json").read_text(encoding="utf-8"))
    assert (
        gazetteer["entries"]["경복궁"] == gazetteer["entries"]["광화문광장"] == ["LC"]
    )  # entities of the training data
    assert "홍길동" not in gazetteer["entries"]  # XX is not a type of the corpus
    assert (gazetteer["entries"].get("가나다라마") == ["OG"]) == ("--gazetteer" in flags)
    assert_predictor_uses_the_saved_gazetteer(best)


def assert_predictor_uses_the_saved_gazetteer(folder):
    pytest.importorskip("kiwipiepy", reason="raw-text NER needs kiwipiepy: pip install -e '.[korean]'")
    from modeling_mtl_bilstm import KoreanNERPredictor

    predictor = KoreanNERPredictor.from_pretrained(folder)
    seen, forward = [], predictor.model.forward
    predictor.model.forward = lambda **inputs: seen.append(inputs) or forward(**inputs)
    result = predictor("광화문 광장에서 경복궁을 보았다.")
    forms = [token["form"] for token in result["tokens"]]
    flags = seen[0]["gazetteer_flags"][0].tolist()
    lc = predictor.model.config.gazetteer_types.index("LC")
    starts = [form for form, row in zip(forms, flags) if row[2 * lc]]
    assert starts == ["광화문", "경복궁"], list(zip(forms, flags))


def test_word_dropout_acts_on_training_batches_only_and_is_seeded(train, tiny_training_flags, tmp_path, monkeypatch):
    from modeling_mtl_bilstm.tokenization_mtl_bilstm import SINGLETON_MASK, DataCollatorForMTLBiLSTM

    batches = []
    original = DataCollatorForMTLBiLSTM.__call__

    def spy(self, features):
        batch = original(self, features)
        plain = original(DataCollatorForMTLBiLSTM(self.tokenizer), features)["input_ids"]
        dropped = batch["input_ids"] != plain
        assert (batch["input_ids"][dropped] == self.tokenizer.unk_token_id).all()
        batches.append((SINGLETON_MASK in features[0], int(dropped.sum())))
        return batch

    monkeypatch.setattr(DataCollatorForMTLBiLSTM, "__call__", spy)
    flags = ["--word_dropout", "1.0", *tiny_training_flags]
    reference = run_task(train, flags, tmp_path / "reference", seeds=("1",))["1"]
    training = [dropped for marked, dropped in batches if marked]
    evaluation = [dropped for marked, dropped in batches if not marked]
    assert len(training) == 3 * 19 and all(training)  # 588 sentences in batches of 32, 3 epochs; singletons everywhere
    assert len(evaluation) > 0 and sum(evaluation) == 0
    again = run_task(train, flags, tmp_path / "again", seeds=("1",))["1"]
    assert again["ner_f1"] == reference["ner_f1"] and again["dev_ner_f1"] == reference["dev_ner_f1"]
    weights = [load_file(tmp_path / run / "best_model" / "model.safetensors") for run in ("reference", "again")]
    assert all(torch.equal(weights[0][name], weights[1][name]) for name in weights[0])  # same seed, same draws


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--gazetteer_from_training", "--gazetteer_folds", "1"], "--gazetteer_folds: expected at least 2 folds"),
        (["--word_dropout", "1.5"], r"--word_dropout: expected a probability in \[0, 1\], received 1.5"),
        (["--init_from", "some/model", "--gazetteer", "g.txt"], "--init_from keeps the saved model's input features"),
    ],
)
def test_feature_arguments_fail_clearly(train, tmp_path, argv, message):
    with pytest.raises(ArgumentError, match=message):
        train([*argv, "--output_dir", str(tmp_path)])
