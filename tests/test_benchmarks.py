"""Smoke tests of benchmarks/*.py: each runs end to end at tiny sizes on the sample corpus and writes the
documented JSON. The numbers they measure are not checked, only their presence, sign and bookkeeping."""

import importlib.util
import json
import math
import shutil
import sys
from pathlib import Path

import pytest

from modeling_mtl_bilstm import load_korean_ner
from modeling_mtl_bilstm.training.reporting import TEST_SENTENCE_COUNTS


REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
TINY_MODEL = [
    "--embedding_dim",
    "16",
    "--char_cnn_filters",
    "8",
    "--shared_hidden_size",
    "16",
    "--pos_hidden_size",
    "8",
    "--ner_hidden_size",
    "8",
]
SAMPLE = ["--dataset", "sample", "--device", "cpu", "--threads", "1"]


def load_script(name: str):
    """A benchmark script as a module; the scripts import their sibling `benchmark_common` as run from benchmarks/."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(name: str, argv: list[str], output: Path) -> dict:
    returned = load_script(name).main([*argv, "--output", str(output)])
    written = json.loads(output.read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(returned))
    return written


@pytest.fixture(scope="module")
def sample_corpus():
    return load_korean_ner("sample")


@pytest.fixture(scope="module")
def memory_run(tmp_path_factory):
    """training_memory.py at 5 steps; its kept train.py output gives the model of the inference test."""
    directory = tmp_path_factory.mktemp("training_memory")
    argv = [*SAMPLE, "--max_steps", "5", *TINY_MODEL, "--train_output_dir", str(directory / "train")]
    return run_script("training_memory", argv, directory / "memory.json"), directory / "train"


def test_train_throughput_compares_paths_on_identical_batches(tmp_path, sample_corpus):
    # One epoch without warm-up: every training sentence is timed exactly once.
    epoch_steps = math.ceil(sample_corpus["train"].num_rows / 32)
    epoch_tokens = sum(map(len, sample_corpus["train"]["tokens"]))
    argv = [*SAMPLE, "--max_steps", str(epoch_steps), "--warmup_steps", "0", "--repeats", "1", *TINY_MODEL]
    result = run_script("train_throughput", argv, tmp_path / "throughput.json")

    assert result["environment"]["torch_threads"] == 1 and result["environment"]["device"] == "cpu"
    assert result["settings"]["batch_size"] == 32 and result["settings"]["train_sentences"] == 588
    assert set(result["configurations"]) == {"mtl/random", "mtl/group_by_length", "ner/random", "ner/group_by_length"}
    for name, configuration in result["configurations"].items():
        assert configuration["batches_match"], name
        assert configuration["max_mean_loss_difference"] < 1e-4, name
        for path in ("plain", "trainer"):
            run = configuration[path]
            assert run["tokens_per_second"] > 0 and len(run["tokens_per_second_runs"]) == 1
            assert run["timed_steps"] == epoch_steps and run["timed_tokens"] == epoch_tokens
            assert 0 < run["real_token_fraction"] <= 1
        assert configuration["trainer_over_plain"] > 0
    # Length grouping pads less than random batches, for either task.
    for task in ("mtl", "ner"):
        grouped = result["configurations"][f"{task}/group_by_length"]["plain"]["real_token_fraction"]
        assert grouped > result["configurations"][f"{task}/random"]["plain"]["real_token_fraction"]
    assert set(result["comparisons"]) == {
        f"{path}/{key}"
        for path in ("plain", "trainer")
        for key in (
            "mtl/group_by_length_over_random",
            "ner/group_by_length_over_random",
            "random/ner_over_mtl",
            "group_by_length/ner_over_mtl",
        )
    }
    assert all(ratio > 0 for ratio in result["comparisons"].values())


def test_train_throughput_rejects_a_missing_corpus(tmp_path, capsys):
    with pytest.raises(SystemExit):
        load_script("train_throughput").main(["--data_dir", str(tmp_path)])
    assert (
        f"--data_dir {tmp_path}: expected the KLP 2016 files train.txt, dev.txt, test.txt" in capsys.readouterr().err
    )


def test_training_memory_reports_the_child_peak(memory_run):
    result, _ = memory_run
    assert result["settings"]["max_steps"] == 5
    assert result["settings"]["command"].startswith("python examples/train.py --task mtl --seeds 1 --max_steps 5")
    for run in ("training", "imports_only"):
        assert result[run]["peak_rss_mb"] > 0 and result[run]["wall_seconds"] > 0
    assert result["training"]["peak_rss_mb"] >= result["imports_only"]["peak_rss_mb"] * 0.9
    assert result["target_mb"] == 2048.0
    assert result["under_target"] == (result["training"]["peak_rss_mb"] < 2048.0)


def test_inference_speed_fp32_and_int8(tmp_path, memory_run, sample_corpus):
    _, train_dir = memory_run
    argv = [*SAMPLE, "--model_dir", str(train_dir / "best_model"), "--batch_sizes", "1", "32", "--repeats", "1"]
    result = run_script("inference_speed", argv, tmp_path / "inference.json")

    test = sample_corpus["test"]
    assert result["settings"]["test_sentences"] == test.num_rows
    assert result["settings"]["test_morphemes"] == sum(map(len, test["tokens"]))
    for precision in ("fp32", "int8"):
        figures = result[precision]
        assert set(figures["sentences_per_second"]) == {"1", "32"}
        assert all(rate > 0 for rate in figures["sentences_per_second"].values())
        assert 0 <= figures["ner_f1"] <= 1 and figures["serialized_mb"] > 0
    assert result["int8"]["serialized_mb"] < result["fp32"]["serialized_mb"]
    assert 0 <= result["int8"]["ner_tag_agreement_with_fp32"] <= 1
    assert result["int8"]["quantization"]["api"] == "torch.ao.quantization.quantize_dynamic"
    assert result["int8_minus_fp32_ner_f1"] == pytest.approx(result["int8"]["ner_f1"] - result["fp32"]["ner_f1"])
    for precision in ("fp32", "int8"):
        end_to_end = result["end_to_end"][precision]
        assert end_to_end["sentences_per_second"] > 0 and end_to_end["kiwi_only_sentences_per_second"] > 0
    phases = [phase["phase"] for phase in result["memory"]["phases"]]
    assert phases == [
        "imports",
        "fp32 model loaded",
        "test batches encoded",
        "int8 model quantised",
        "timed",
        "end-to-end timed",
    ]
    peaks = [phase["peak_rss_mb"] for phase in result["memory"]["phases"]]
    assert peaks == sorted(peaks) and result["memory"]["peak_rss_mb"] >= peaks[-1] > 0


def test_int8_headroom_replays_every_matmul_of_the_decode(tmp_path, memory_run):
    _, train_dir = memory_run
    argv = [*SAMPLE, "--model_dir", str(train_dir / "best_model"), "--batch_sizes", "4", "32", "--repeats", "1"]
    result = run_script("int8_headroom", argv, tmp_path / "headroom.json")

    assert set(result["batch_sizes"]) == {"4", "32"}
    for figures in result["batch_sizes"].values():
        # The replay is the model's real work: as many products as the profiler sees in one fp32 decode.
        assert figures["replay_matches_profiler"] and figures["matmuls_replayed"] == figures["matmuls_profiled"] > 0
        assert 0 < figures["fp32_matmul_share"] < 1 and figures["speedup_bound_if_matmuls_were_free"] > 1
        assert figures["int8_speedup_measured"] == pytest.approx(figures["fp32_ms"] / figures["int8_ms"])
        assert figures["int8_ms_predicted"] == pytest.approx(
            figures["fp32_ms"] - figures["fp32_matmul_ms"] + figures["int8_matmul_ms"]
        )
    module = load_script("int8_headroom")
    assert module.matmul_speedup_needed(0.5, 1.5) == pytest.approx(3.0)  # 1/1.5 = 0.5 + 0.5/3
    assert module.matmul_speedup_needed(0.3, 1.5) == float("inf")  # 0.7 of the time alone exceeds 1/1.5
    # Smaller batches mean more recurrent steps, hence more products over the same sentences.
    assert result["batch_sizes"]["4"]["matmuls_replayed"] > result["batch_sizes"]["32"]["matmuls_replayed"]


def test_lstm_paths_times_both_paths_in_inference_training_and_end_to_end(tmp_path, memory_run):
    pytest.importorskip("kiwipiepy", reason="the end-to-end rows need kiwipiepy: pip install -e '.[korean]'")
    _, train_dir = memory_run
    argv = [*SAMPLE, "--batch_sizes", "1", "4", "--fills", "0.5", "1.0", "--sentences", "8", "--repeats", "1"]
    argv += [
        "--model_dir",
        str(train_dir / "best_model"),
        "--end_to_end_batch_sizes",
        "8",
        "--end_to_end_repeats",
        "2",
    ]
    result = run_script("lstm_paths", argv, tmp_path / "lstm_paths.json")
    end_to_end = result["end_to_end"]
    assert end_to_end["same_entities"] and end_to_end["test_sentences"] == 69
    assert [len(runs) for runs in end_to_end["sentences_per_second_runs"]["8"].values()] == [2, 2]
    assert set(end_to_end["default_over_packed"]) == {"8"}
    rows = result["results"]
    # Batch 1 has no padding: one fill; batch 4 one per --fills entry; both modes.
    assert [(row["mode"], row["batch_size"]) for row in rows] == [
        (mode, size) for mode in ("inference", "training") for size in (1, 4, 4)
    ]
    assert [row["fill"] for row in rows[:3]] == [1.0, 0.5, 1.0]
    for row in rows:
        assert set(row["sentences_per_second"]) == {"packed", "unpacked"}
        assert row["unpacked_over_packed"] == pytest.approx(
            row["sentences_per_second"]["unpacked"] / row["sentences_per_second"]["packed"]
        )
        if row["mode"] == "inference":
            assert row["max_abs_difference"] < 1e-5  # both paths compute the same outputs
    from modeling_mtl_bilstm import modeling_mtl_bilstm as modeling

    assert modeling.MTLBiLSTMEncoder._runs_unpacked is load_script("lstm_paths").CHOOSE_PATH  # restored
    assert result["settings"]["unpacked_min_fill"] == {
        "inference": modeling.UNPACKED_MIN_FILL,
        "training": modeling.UNPACKED_MIN_FILL_TRAINING,
    }


def test_seed_ensemble_of_copies_of_one_model_is_that_model(tmp_path, memory_run):
    _, train_dir = memory_run
    model_dir = str(train_dir / "best_model")
    argv = [*SAMPLE, "--model_dirs", model_dir, model_dir, "--repeats", "1", "--batch_size", "16"]
    result = run_script("seed_ensemble", argv, tmp_path / "seed_ensemble.json")
    for split in result["splits"].values():
        # The mean of identical scores is those scores: same path, same F1.
        assert split["ensemble_ner_f1"] == split["models_ner_f1"][0] == split["models_ner_f1"][1]
        assert split["ensemble_minus_mean_model"] == 0.0
    assert result["splits"]["test"]["sentences"] == 69
    cost = result["cost"]
    assert len(cost["model_seconds_median"]) == 2 and cost["model_time_over_one_model"] == pytest.approx(2.0)
    if importlib.util.find_spec("kiwipiepy") is not None:  # the analysis is shared: less than twice end to end
        assert cost["kiwi_analysis_seconds_median"] > 0 and 1.0 < cost["end_to_end_over_one_model"] < 2.0
    else:
        assert cost["kiwi_analysis_seconds_median"] is None and cost["end_to_end_over_one_model"] is None


def test_seed_ensemble_rejects_models_with_other_tags(tmp_path, memory_run):
    from modeling_mtl_bilstm import MTLBiLSTMForTokenClassification, MTLBiLSTMTokenizer

    _, train_dir = memory_run
    model_dir = train_dir / "best_model"
    model = MTLBiLSTMForTokenClassification.from_pretrained(model_dir)
    labels = list(model.config.ner_id2label.values())
    other = MTLBiLSTMForTokenClassification.from_pretrained(
        model_dir, ner_id2label=dict(enumerate(labels[::-1])), ignore_mismatched_sizes=True
    )
    other.save_pretrained(tmp_path / "other")
    MTLBiLSTMTokenizer.from_pretrained(model_dir).save_pretrained(tmp_path / "other")
    with pytest.raises(SystemExit, match="expected the NER tags of"):
        load_script("seed_ensemble").main([*SAMPLE, "--model_dirs", str(model_dir), str(tmp_path / "other")])


def test_int8_headroom_is_cpu_only(capsys):
    with pytest.raises(SystemExit):
        load_script("int8_headroom").parse_args(["--model_dir", "x", "--dataset", "sample", "--device", "cuda"])
    assert "int8 dynamic quantisation runs on CPU only" in capsys.readouterr().err


def test_accuracy_report_figures_and_table(tmp_path):
    def seed(ner_f1, pos_accuracy=None):
        metrics = {"ner_f1": ner_f1, "ner_precision": ner_f1, "ner_recall": ner_f1, "ner_PS_f1": ner_f1}
        return metrics if pos_accuracy is None else {**metrics, "pos_accuracy": pos_accuracy}

    results = {
        "ner": {"seeds": {"1": seed(0.80), "2": seed(0.84)}},
        "mtl": {"seeds": {"1": seed(0.83, 0.95), "2": seed(0.83, 0.97)}},
    }
    for summary in results.values():
        names = summary["seeds"]["1"]
        summary["mean"] = {n: sum(s[n] for s in summary["seeds"].values()) / 2 for n in names}
        summary["std"] = {n: abs(summary["seeds"]["1"][n] - summary["seeds"]["2"][n]) / math.sqrt(2) for n in names}
    (tmp_path / "results.json").write_text(json.dumps(results))
    (tmp_path / "run_info.json").write_text(json.dumps({"dataset": "klp2016"}))

    argv = [str(tmp_path / "results.json"), "--markdown", str(tmp_path / "table.md")]
    report = run_script("accuracy_report", argv, tmp_path / "report.json")

    assert report["dataset"] == "klp2016"
    assert report["models"]["mtl"]["ner_f1"] == {"mean": pytest.approx(0.83), "std": 0.0}
    assert report["models"]["ner"]["ner_f1"]["std"] == pytest.approx(0.04 / math.sqrt(2))
    assert report["models"]["mtl"]["pos_accuracy"]["mean"] == pytest.approx(0.96)
    assert "pos_accuracy" not in report["models"]["ner"]
    assert report["models"]["ner"]["ner_f1_per_type"] == {
        "PS": {"mean": pytest.approx(0.82), "std": pytest.approx(0.04 / math.sqrt(2))}
    }
    delta = report["ner_f1_deltas"]["mtl-ner"]
    assert delta["mean"] == pytest.approx(0.01)
    assert delta["per_seed"] == {"1": pytest.approx(0.03), "2": pytest.approx(-0.01)}
    assert delta["multi_task_ahead_in_seeds"] == 1 and delta["common_seeds"] == 2
    table = (tmp_path / "table.md").read_text()
    assert table == report["markdown"]
    assert "| ner | 2 | 82.00 ± 2.83 | 82.00 ± 2.83 | 82.00 ± 2.83 | – |" in table
    assert "| mtl | 2 | 83.00 ± 0.00 | 83.00 ± 0.00 | 83.00 ± 0.00 | 96.00 ± 1.41 |" in table
    assert (
        "NER F1 mtl − ner: **+1.00** points (± 2.83; seed 1: +3.00, seed 2: -1.00; multi-task ahead in 1/2 seeds)."
        in table
    )


def test_accuracy_report_rejects_other_json(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"mtl": {"ner_f1": 0.8}}))
    with pytest.raises(SystemExit, match=r"results.json: expected \{model: \{'seeds'"):
        load_script("accuracy_report").main([str(path)])


def test_accuracy_ablation_merges_runs_under_their_labels(tmp_path):
    def run_folder(name, models, counts=None):
        folder = tmp_path / name
        folder.mkdir()
        results = {
            model: {
                "seeds": {
                    seed: {"dev_ner_f1": dev, "ner_f1": test, "train_seconds": 10.0, **(counts or {}).get(model, {})}
                    for seed, (dev, test) in seeds.items()
                },
                "mean": {},
                "std": {},
            }
            for model, seeds in models.items()
        }
        (folder / "results.json").write_text(json.dumps(results))
        return folder

    # Per-sentence [correct, predicted, gold] counts: the multi-task model finds all 40 entities, single-task 20.
    counts = {
        "mtl": {TEST_SENTENCE_COUNTS: [[2, 2, 2]] * 20},
        "ner": {TEST_SENTENCE_COUNTS: [[1, 1, 2]] * 20},
    }
    baseline = run_folder(
        "baseline", {"mtl": {"1": (0.70, 0.72), "2": (0.74, 0.76)}, "ner": {"1": (0.68, 0.70)}}, counts
    )
    extra_mtl = run_folder("extra_mtl", {"mtl": {"1": (0.80, 0.81)}})
    extra_ner = run_folder("extra_ner", {"ner": {"1": (0.78, 0.79)}})
    argv = [f"baseline={baseline}", f"+ data={extra_mtl}", f"+ data={extra_ner}"]
    result = run_script("accuracy_ablation", argv, tmp_path / "ablation.json")

    rows = {(row["configuration"], row["model"]): row for row in result["rows"]}
    assert list(rows) == [("baseline", "mtl"), ("baseline", "ner"), ("+ data", "mtl"), ("+ data", "ner")]
    assert rows["baseline", "mtl"]["dev_ner_f1"]["mean"] == pytest.approx(0.72)
    assert rows["baseline", "mtl"]["ner_f1"]["std"] == pytest.approx(0.04 / math.sqrt(2))
    assert rows["+ data", "ner"]["seeds"] == ["1"] and rows["+ data", "ner"]["ner_f1"]["std"] == 0.0
    table = (tmp_path / "ablation.md").read_text()
    # Runs from before raw-text scoring have no raw-text F1: their cells say so.
    assert "| baseline | mtl | 2 | 72.00 ± 2.83 | 74.00 ± 2.83 | — | — | 10 |" in table
    with pytest.raises(SystemExit, match="already has mtl seed 1"):
        load_script("accuracy_ablation").main([f"x={extra_mtl}", f"x={extra_ner}", f"x={extra_mtl}"])

    # Multi-task minus single-task: means over each model's seeds, per seed over the shared ones, and the paired
    # test over the shared seeds' sentences where the runs kept their counts (seed 1 only: F1 1.0 against 2/3).
    baseline_difference, data_difference = result["differences"]
    assert baseline_difference["seeds"] == ["1"]
    assert baseline_difference["ner_f1"]["mean"] == pytest.approx(0.74 - 0.70)
    assert baseline_difference["ner_f1"]["per_seed"] == {"1": pytest.approx(0.02)}
    significance = baseline_difference["significance"]
    assert significance["delta"] == pytest.approx(1 - 2 / 3) and significance["sentences"] == 20
    assert significance["p_value"] < 0.01 and significance["ci95_low"] > 0
    assert data_difference["dev_ner_f1"]["mean"] == pytest.approx(0.02) and data_difference["significance"] is None
    assert "| baseline | 1 | +4.00 | +4.00 | +2.00 | 0.000 | [+33.33, +33.33] |" in table
    assert "| + data | 1 | +2.00 | +2.00 | +2.00 | – | – |" in table

    # A later table keeps these rows, and their tests, without their run folders; a configuration given again
    # replaces its rows in place, a new model of a known configuration follows its rows, new ones go last.
    for folder in (baseline, extra_mtl):
        (folder / "results.json").unlink()
    later = run_folder("later", {"mtl": {"1": (0.90, 0.91)}})
    rerun = run_folder("rerun", {"ner": {"1": (0.60, 0.61)}})
    argv = ["--previous", str(tmp_path / "ablation.json"), f"+ more={later}", f"+ data={rerun}", f"other={rerun}"]
    later_result = run_script("accuracy_ablation", argv, tmp_path / "later.json")
    keys = [(row["configuration"], row["model"]) for row in later_result["rows"]]
    assert keys == [*list(rows)[:4], ("+ more", "mtl"), ("other", "ner")]
    assert later_result["rows"][:3] == list(rows.values())[:3]
    assert later_result["rows"][3]["ner_f1"]["mean"] == pytest.approx(0.61)
    assert later_result["differences"][0] == result["differences"][0]
    assert later_result["differences"][1]["ner_f1"]["mean"] == pytest.approx(0.81 - 0.61)
    assert "| + more | mtl | 1 | 90.00 ± 0.00 | 91.00 ± 0.00 | — | — | 10 |" in (tmp_path / "later.md").read_text()

    # Runs that scored raw text show both measures.
    raw = tmp_path / "raw"
    raw.mkdir()
    seeds = {
        seed: {"dev_ner_f1": 0.8, "ner_f1": 0.8, "dev_raw_ner_f1": raw_f1, "raw_ner_f1": raw_f1, "train_seconds": 5.0}
        for seed, raw_f1 in (("1", 0.76), ("2", 0.78))
    }
    (raw / "results.json").write_text(json.dumps({"mtl": {"seeds": seeds, "mean": {}, "std": {}}}))
    raw_result = run_script("accuracy_ablation", [f"raw={raw}"], tmp_path / "raw.json")
    assert raw_result["rows"][0]["raw_ner_f1"]["mean"] == pytest.approx(0.77)
    assert (
        "| raw | mtl | 2 | 80.00 ± 0.00 | 80.00 ± 0.00 | 77.00 ± 1.41 | 77.00 ± 1.41 | 5 |"
        in (tmp_path / "raw.md").read_text()
    )


def test_accuracy_ablation_measures_configurations_against_a_reference_seed_by_seed(tmp_path):
    def raw_rows(label, dev_raw):
        seeds = {
            seed: {"dev_ner_f1": 0.8, "ner_f1": 0.8, "dev_raw_ner_f1": f1, "raw_ner_f1": f1, "train_seconds": 1.0}
            for seed, f1 in dev_raw.items()
        }
        folder = tmp_path / label
        folder.mkdir()
        (folder / "results.json").write_text(json.dumps({"mtl": {"seeds": seeds, "mean": {}, "std": {}}}))
        return f"{label}={folder}"

    argv = [
        raw_rows("defaults", {"1": 0.80, "2": 0.82, "3": 0.78}),
        raw_rows("lever", {"1": 0.81, "2": 0.84, "3": 0.78}),  # +1, +2, 0 points
        raw_rows("one seed", {"1": 0.90}),  # a single shared seed has no standard error: left out
        "--reference",
        "defaults",
    ]
    result = run_script("accuracy_ablation", argv, tmp_path / "reference.json")
    (compared,) = result["against_references"]
    assert compared["reference"] == "defaults" and compared["metric"] == "dev_raw_ner_f1"
    (lever,) = compared["rows"]
    assert lever["configuration"] == "lever" and lever["mean"] == pytest.approx(0.01)
    assert lever["standard_error"] == pytest.approx(0.01 / math.sqrt(3))
    assert "| lever | mtl | 3 | +1.00 ± 0.58 | +1.00, +2.00, +0.00 |" in (tmp_path / "reference.md").read_text()
    # The rows of an earlier table suffice; a reference the table lacks is refused.
    again = run_script(
        "accuracy_ablation",
        ["--previous", str(tmp_path / "reference.json"), "--reference", "defaults"],
        tmp_path / "again.json",
    )
    assert again["against_references"] == [compared]
    # One table per reference, in the order given.
    both = run_script(
        "accuracy_ablation",
        ["--previous", str(tmp_path / "reference.json"), "--reference", "defaults", "--reference", "lever"],
        tmp_path / "both.json",
    )
    assert [table["reference"] for table in both["against_references"]] == ["defaults", "lever"]
    assert both["against_references"][1]["rows"][0]["configuration"] == "defaults"
    assert both["against_references"][1]["rows"][0]["mean"] == pytest.approx(-0.01)
    with pytest.raises(SystemExit, match="--reference: expected a configuration of the table, received 'nope'"):
        load_script("accuracy_ablation").main(["--previous", str(tmp_path / "reference.json"), "--reference", "nope"])


def test_domain_matrix_scores_a_comparison_on_every_test_split(tmp_path, train, tiny_training_flags, monkeypatch):
    """A tiny comparison on the sample, scored as the matrix scores the real ones: every test set present, each
    seed's best checkpoint, the types both sides know, mtl - ner with its paired test."""
    domain_matrix = load_script("domain_matrix")
    run_dir = tmp_path / "runs" / "sample"
    flags = ["--compare", "--compare_models", "mtl", "ner", "--seeds", "1", "2", "--num_train_epochs", "1"]
    train([*flags, "--output_dir", str(run_dir), *tiny_training_flags])
    matrix = domain_matrix.main(
        ["--runs_dir", str(tmp_path / "runs"), "--training_sets", "sample", "klue", "--threads", "1",
         "--markdown", str(tmp_path / "matrix.md")]
    )  # fmt: skip
    assert matrix["not_run"] == ["klue"]
    run = matrix["runs"]["sample"]
    for model in ("mtl", "ner"):
        for entry in run[model].values():
            assert set(entry["seeds"]) == {"1", "2"} and 0.0 <= entry["mean"] <= 1.0
            assert "QT" not in entry["types"]  # the sample's models know no QT
    assert set(run["mtl_minus_ner"]) == set(matrix["tests"])
    assert "| sample | mtl (2 seeds) |" in (tmp_path / "matrix.md").read_text()
    # On the dev splits, which may choose a training set, the same models score other sentences.
    dev = domain_matrix.main(
        ["--runs_dir", str(tmp_path / "runs"), "--training_sets", "sample", "--split", "validation", "--threads", "1",
         "--markdown", str(tmp_path / "dev.md")]
    )  # fmt: skip
    assert dev["split"] == "validation" and "sample dev" in (tmp_path / "dev.md").read_text()
    assert dev["tests"]["sample"]["sentences"] != matrix["tests"]["sample"]["sentences"]
    # A comparison still training is scored on the runs it has finished; the test pairs the seeds both finished.
    (run_dir / "results.json").unlink()
    (run_dir / "runs" / "ner" / "seed2" / "run_result.json").unlink()
    partial = domain_matrix.main(["--runs_dir", str(tmp_path / "runs"), "--training_sets", "sample", "--threads", "1"])
    run = partial["runs"]["sample"]
    assert set(run["ner"]["sample"]["seeds"]) == {"1"} and set(run["mtl"]["sample"]["seeds"]) == {"1", "2"}
    assert run["mtl_minus_ner"]["sample"]["seeds"] == ["1"] and run["training"]["finished"] is True
    # A variant is compared with its set, multi-task against multi-task: a copy of the set differs by nothing.
    shutil.copytree(run_dir, tmp_path / "runs" / "sample-copy")
    monkeypatch.setitem(domain_matrix.VARIANTS, "sample-copy", ("sample", ["--seed_note", "copy"]))
    monkeypatch.setitem(domain_matrix.TRAINING_SETS, "sample-copy", domain_matrix.TRAINING_SETS["sample"])
    argv = ["--runs_dir", str(tmp_path / "runs"), "--training_sets", "sample", "sample-copy", "--threads", "1"]
    variant = domain_matrix.main([*argv, "--markdown", str(tmp_path / "variant.md")])["variants"]["sample-copy"]
    assert variant["compared_with"] == "sample" and set(variant["mtl_minus_base"]) == set(matrix["tests"])
    assert all(d["delta"] == 0 and d["seeds"] == ["1", "2"] for d in variant["mtl_minus_base"].values())
    assert "sample-copy (--seed_note copy) minus sample" in (tmp_path / "variant.md").read_text()


def test_domain_matrix_counts_only_the_types_both_sides_know():
    domain_matrix = load_script("domain_matrix")
    span = domain_matrix.EntitySpan
    gold = [{span(0, 2, "PS"), span(3, 5, "QT")}]
    predicted = [{span(0, 2, "PS"), span(6, 7, "QT"), span(8, 9, "LC")}]
    assert domain_matrix.sentence_counts(gold, predicted, {"PS", "LC"}) == [[1, 2, 1]]
    assert domain_matrix.f1([[1, 2, 1], [0, 0, 0]]) == pytest.approx(2 / 3)


def test_learning_curve_summarises_points_into_table_and_figure(tmp_path, train, tiny_training_flags):
    learning_curve = load_script("learning_curve")
    for size in (100, 300):
        flags = ["--compare", "--compare_models", "mtl", "ner", "--seeds", "1", "2", "--num_train_epochs", "1"]
        train([*flags, "--max_train_sentences", str(size), "--output_dir", str(tmp_path / "runs" / str(size)),
               *tiny_training_flags])  # fmt: skip
    # The lever: multi-task models of the 100 point trained again with text that has no entity labels.
    lever_flags = ["--compare", "--compare_models", "mtl", "--seeds", "1", "2", "--num_train_epochs", "1"]
    train([*lever_flags, "--max_train_sentences", "100", "--pos_only_corpora", "sample",
           "--output_dir", str(tmp_path / "runs" / "100+text"), *tiny_training_flags])  # fmt: skip
    learning_curve.POINTS = {str(size): ([], [1, 2]) for size in (100, 300)}
    learning_curve.LEVERS = {"100+text": ("100", [], [1, 2])}
    result = learning_curve.main(
        ["--runs_dir", str(tmp_path / "runs"), "--points", "100", "300", "--markdown", str(tmp_path / "curve.md"),
         "--figure", str(tmp_path / "curve.png")]
    )  # fmt: skip
    points = result["points"]
    assert [points[name]["train_sentences"] for name in ("100", "300")] == [100, 300]
    for point in points.values():
        assert set(point["mtl_minus_ner"]) == {"ner_f1", "raw_ner_f1"}
        assert point["mtl"]["seeds"] == ["1", "2"]
    lever = result["levers"]["100+text"]
    assert lever["train_sentences"] > 100 and lever["mtl"]["seeds"] == ["1", "2"]
    for baseline in ("ner", "mtl"):
        assert set(lever[f"minus_point_{baseline}"]) == {"ner_f1", "raw_ner_f1"}
        for metric, delta in lever[f"minus_point_{baseline}"].items():
            # Paired seed by seed on the same test sentences as the point's own comparison.
            assert delta["sentences"] == points["100"]["mtl_minus_ner"][metric]["sentences"]
    table = (tmp_path / "curve.md").read_text()
    assert table.count("| 100 |") == 2 and "raw text" in table and "gold morphemes" in table
    assert table.count("| 100+text |") == 2
    assert (tmp_path / "curve.png").stat().st_size > 0
