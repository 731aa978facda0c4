"""The flags of examples/train.py (training/arguments.py): each one reaches what it names, the deprecated spellings
warn and map onto their replacements, and run_info.json records and reads them by today's names (the files of
earlier versions included)."""

import json
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForTokenClassification, HfArgumentParser

from modeling_mtl_bilstm import MTLBiLSTMTokenizer
from modeling_mtl_bilstm.hub.model_card import render_model_card
from modeling_mtl_bilstm.training.arguments import (
    ARGUMENT_CLASSES,
    DEPRECATED_ARGUMENTS,
    DataArguments,
    ExperimentArguments,
)
from modeling_mtl_bilstm.training.corpus import load_data
from modeling_mtl_bilstm.training.features import build_tokenizer
from modeling_mtl_bilstm.training.run_info import RENAMED_ARGUMENTS, RunInfo
from modeling_mtl_bilstm.training.runs import build_config, run_plan


REPO = Path(__file__).resolve().parents[1]
LABEL_NAMES = {"pos": ["NNG", "JKS"], "ner": ["O", "B-PS", "I-PS"]}


def without(flags: list[str], *names: str) -> list[str]:
    """Command-line flags without the named ones (and their values)."""
    kept, skip = [], False
    for flag in flags:
        if flag in names:
            skip = True
        elif skip and not flag.startswith("--"):
            continue
        else:
            kept.append(flag)
            skip = False
    return kept


def parse(argv: list[str]):
    """(experiment, data, model, training) arguments, parsed as examples/train.py parses them."""
    return HfArgumentParser(ARGUMENT_CLASSES).parse_args_into_dataclasses(args=[*argv, "--output_dir", "unused"])


def model_config(argv: list[str], tasks=("pos", "ner")):
    _, _, model_args, _ = parse(argv)
    tokenizer = MTLBiLSTMTokenizer.build([["사과", "가"], ["배", "가"]])
    return build_config(model_args, tokenizer, LABEL_NAMES, tasks, model_args.ner_crf)


# ---------------------------------------------------------------- flags -> config


def test_model_flags_set_the_config_they_name():
    config = model_config(
        ["--no_ner_crf", "--pos_crf", "--pos_hidden_size", "6", "--ner_hidden_size", "10", "--shared_num_layers", "2"]
        + ["--task_num_layers", "2", "--dropout", "0.25", "--pos_loss_weight", "2", "--ner_loss_weight", "0.5"]
    )
    assert config.use_crf == {"ner": False, "pos": True}
    assert (config.pos_hidden_size, config.ner_hidden_size) == (6, 10)
    assert (config.shared_num_layers, config.task_num_layers, config.dropout) == (2, 2, 0.25)
    assert config.loss_weights == {"pos": 2.0, "ner": 0.5}
    defaults = model_config([])
    assert defaults.use_crf == {"ner": True, "pos": False}
    assert (defaults.pos_hidden_size, defaults.ner_hidden_size) == (100, 100)


def test_pos_features_for_ner_is_for_multi_task_models_only():
    assert model_config([]).pos_features_for_ner is True
    assert model_config(["--no_pos_features_for_ner"]).pos_features_for_ner is False
    assert model_config([], tasks=("ner",)).pos_features_for_ner is False


def test_task_num_layers_zero_has_the_heads_read_the_shared_bilstm():
    from modeling_mtl_bilstm import MTLBiLSTMForTokenClassification

    config = model_config(["--task_num_layers", "0", "--shared_hidden_size", "12", "--embedding_dim", "8"])
    model = MTLBiLSTMForTokenClassification(config)
    assert config.task_num_layers == 0
    assert model.heads["pos"].encoder is None and model.heads["ner"].encoder is None
    assert model.heads["pos"].classifier.in_features == 2 * 12


@pytest.mark.parametrize(
    "argv, keys, ner_crf",
    [
        ([], ["mtl", "ner", "pos"], {"mtl": True, "ner": True, "pos": True}),
        (
            ["--compare_crf"],
            ["mtl", "ner", "pos", "mtl_no_crf", "ner_no_crf"],
            {"mtl": True, "ner": True, "pos": True, "mtl_no_crf": False, "ner_no_crf": False},
        ),
        (
            ["--compare_crf", "--no_ner_crf"],
            ["mtl", "ner", "pos", "mtl_crf", "ner_crf"],
            {"mtl": False, "ner": False, "pos": False, "mtl_crf": True, "ner_crf": True},
        ),
    ],
)
def test_compare_crf_adds_the_other_ner_crf_setting_to_every_model_with_ner(argv, keys, ner_crf):
    experiment, _, model_args, _ = parse(["--compare", "--compare_models", "mtl", "ner", "pos", *argv])
    plan = run_plan(experiment, model_args, default_seed=1)
    assert list(dict.fromkeys(run.key for run in plan)) == keys
    assert {run.key: run.ner_crf for run in plan} == ner_crf


# ---------------------------------------------------------------- deprecated spellings


@pytest.mark.parametrize(
    "argv, new_name, expected",
    [
        (["--no_use_crf"], "--ner_crf", {"ner_crf": False}),
        (["--use_crf", "false"], "--ner_crf", {"ner_crf": False}),
        (
            ["--task_hidden_size", "7"],
            "--pos_hidden_size and --ner_hidden_size",
            {"pos_hidden_size": 7, "ner_hidden_size": 7},
        ),
        (["--pretrained_embeddings", "v.txt"], "--morpheme_vectors_file", {"morpheme_vectors_file": "v.txt"}),
        (["--frozen_vectors"], "--frozen_embedding", {"frozen_embedding": True}),
    ],
)
def test_deprecated_flags_still_work_and_warn_naming_the_new_one(argv, new_name, expected):
    with pytest.warns(
        FutureWarning,
        match=rf"--{argv[0].removeprefix('--no_').removeprefix('--')} is deprecated.*{re.escape(new_name)}",
    ):
        _, _, model_args, _ = parse(argv)
    assert {name: getattr(model_args, name) for name in expected} == expected


def test_current_flags_do_not_warn(recwarn):
    parse(["--no_ner_crf", "--pos_hidden_size", "7", "--morpheme_vectors_file", "v.txt", "--frozen_embedding"])
    assert not [warning for warning in recwarn if issubclass(warning.category, FutureWarning)]


def test_pos_loss_weight_final_sits_beside_pos_loss_weight():
    _, _, model_args, _ = parse(["--pos_loss_weight", "2", "--pos_loss_weight_final", "0.5"])
    assert (model_args.pos_loss_weight, model_args.pos_loss_weight_final) == (2.0, 0.5)
    assert not hasattr(ExperimentArguments(), "pos_loss_weight_final")


# ---------------------------------------------------------------- tokenizer flags


@pytest.fixture(scope="module")
def sample_corpus():
    return load_data(DataArguments(analyzer="corpus"))


def test_min_frequency_leaves_rare_training_morphemes_unknown(sample_corpus):
    counts = {}
    for sentence in sample_corpus["train"]["tokens"]:
        for morpheme in sentence:
            counts[morpheme] = counts.get(morpheme, 0) + 1
    _, data_args, _, _ = parse(["--min_frequency", "2"])
    frequent = build_tokenizer(sample_corpus, data_args, None)
    everything = build_tokenizer(sample_corpus, DataArguments(), None)
    assert set(frequent.id_to_morpheme[2:]) == {morpheme for morpheme, count in counts.items() if count >= 2}
    assert set(everything.id_to_morpheme[2:]) == set(counts)


def test_char_unit_jamo_splits_syllables(sample_corpus):
    _, data_args, _, _ = parse(["--char_unit", "jamo"])
    jamo = build_tokenizer(sample_corpus, data_args, None)
    syllables = build_tokenizer(sample_corpus, DataArguments(), None)
    assert (jamo.char_unit, syllables.char_unit) == ("jamo", "syllable")
    assert "가" in syllables.id_to_char and "가" not in jamo.id_to_char
    assert jamo.char_vocab_size < syllables.char_vocab_size


# ---------------------------------------------------------------- training with the flags


def test_comparison_of_both_crf_settings_with_small_task_bilstms(train, tiny_training_flags, tmp_path):
    """--compare_crf trains each NER model with and without the NER CRF; --pos_crf puts a CRF on the POS head,
    --pos_hidden_size and --ner_hidden_size size the task Bi-LSTMs apart, and run_info.json records today's names."""
    train(
        ["--compare", "--compare_models", "mtl", "ner", "--compare_crf", "--seeds", "1", "--max_steps", "1"]
        + ["--output_dir", str(tmp_path), *without(tiny_training_flags, "--task_hidden_size")]
        + ["--pos_crf", "--pos_hidden_size", "6", "--ner_hidden_size", "10"]
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert list(results) == ["mtl", "ner", "mtl_no_crf", "ner_no_crf"]
    for key, ner_crf in (("mtl", True), ("mtl_no_crf", False), ("ner_no_crf", False)):
        [checkpoint] = (tmp_path / "runs" / key / "seed1").glob("checkpoint-*")
        config = json.loads((checkpoint / "config.json").read_text())
        assert config["use_crf"]["ner"] is ner_crf
        assert (config["pos_hidden_size"], config["ner_hidden_size"]) == (6, 10)
        if key.startswith("mtl"):
            assert config["use_crf"]["pos"] is True
            assert "heads.pos.crf.transitions" in load_file(checkpoint / "model.safetensors")
    info = RunInfo.read(tmp_path)
    assert set(info.ner_f1_deltas) == {"mtl-ner", "mtl_no_crf-ner_no_crf"}
    recorded = info.arguments["model"]
    assert recorded["ner_crf"] is True and recorded["pos_crf"] is True
    assert not set(DEPRECATED_ARGUMENTS) & set(recorded)


def test_extend_vocabulary_adds_the_morphemes_of_the_vectors(train, tiny_training_flags, tmp_path):
    unseen = "한번도안나온형태소"
    vectors = {unseen: [0.5] * 16, "이": [0.25] * 16}
    vectors_file = tmp_path / "vectors.txt"
    vectors_file.write_text(
        f"{len(vectors)} 16\n" + "".join(f"{word} {' '.join(map(str, v))}\n" for word, v in vectors.items()),
        encoding="utf-8",
    )
    flags = [*without(tiny_training_flags, "--morpheme_vectors"), "--morpheme_vectors_file", str(vectors_file)]
    for extend in (False, True):
        output_dir = tmp_path / f"extend-{extend}"
        train(["--task", "ner", "--max_steps", "1", "--output_dir", str(output_dir), *flags]
              + (["--extend_vocabulary"] if extend else []))  # fmt: skip
        tokenizer = MTLBiLSTMTokenizer.from_pretrained(output_dir / "best_model")
        assert (unseen in tokenizer.morpheme_to_id) is extend
        assert "이" in tokenizer.morpheme_to_id
    model = AutoModelForTokenClassification.from_pretrained(output_dir / "best_model")
    row = model.embeddings.morpheme_embeddings.weight[tokenizer.morpheme_to_id[unseen]]
    # Never seen in training, the morpheme keeps its vector (no gradient reaches its row).
    assert torch.allclose(row, torch.full((16,), 0.5))


# ---------------------------------------------------------------- run_info.json


COMMITTED_RUN_INFOS = sorted((REPO / "benchmarks" / "results").glob("*/run_info.json"))


@pytest.mark.parametrize("path", COMMITTED_RUN_INFOS, ids=[path.parent.name for path in COMMITTED_RUN_INFOS])
def test_committed_run_infos_read_by_todays_names_and_write_back_unchanged(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    info = RunInfo.read(path)
    written = info.to_dict()
    assert {name: written[name] for name in data} == data  # every key kept, in the layout on disk
    assert info.corpus == data["corpus"] and info.wall_seconds == data["wall_seconds"]
    model = data["arguments"]["model"]
    if "use_crf" in model:
        assert info.argument("model", "ner_crf") is model["use_crf"]
    if "task_hidden_size" in model:
        assert info.argument("model", "pos_hidden_size") == info.argument("model", "ner_hidden_size")
    if "pos_loss_weight_final" in data["arguments"].get("experiment", {}):
        assert (
            info.argument("model", "pos_loss_weight_final") == data["arguments"]["experiment"]["pos_loss_weight_final"]
        )
    old_names = {name for (_, name) in RENAMED_ARGUMENTS if name not in ("pos_loss_weight_final",)}
    assert not old_names & set(info.hyperparameters())


def test_a_model_card_from_an_old_run_info_lists_todays_names(tiny_config):
    old = {
        "dataset": "sample",
        "arguments": {
            "experiment": {"seeds": [1], "pos_loss_weight_final": 0.0},
            "data": {"extra_train_corpora": []},
            "model": {"use_crf": False, "task_hidden_size": 8, "pretrained_embeddings": None, "frozen_vectors": False},
            "training": {"learning_rate": 0.005},
        },
        "corpus": {"train": 10},
        "wall_seconds": 1.0,
    }
    card = str(render_model_card(tiny_config(), 100, run_info=old))
    for name in ("ner_crf", "pos_hidden_size", "ner_hidden_size", "morpheme_vectors_file", "frozen_embedding"):
        assert f"- {name}: `" in card
    for name in ("use_crf", "task_hidden_size", "pretrained_embeddings", "frozen_vectors"):
        assert f"- {name}: `" not in card


def test_run_info_keeps_keys_it_does_not_know():
    info = RunInfo.from_dict({"dataset": "klue", "something_later": {"a": 1}})
    assert info.dataset == "klue" and info.extra == {"something_later": {"a": 1}}
    assert info.to_dict()["something_later"] == {"a": 1}
    with pytest.raises(TypeError, match="expected a JSON object, received list"):
        RunInfo.from_dict([])
