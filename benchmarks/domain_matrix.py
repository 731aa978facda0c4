#!/usr/bin/env python
"""The domain matrix: models trained on one set of corpora, scored from raw text on the test splits of every corpus.

    python benchmarks/domain_matrix.py --runs_dir runs/domain --train \
        --output benchmarks/results/domain-matrix.json --markdown benchmarks/results/domain-matrix.md

Training sets (`TRAINING_SETS`, each a `examples/train.py --compare --compare_models mtl ner` run with the defaults,
3 seeds): KLP 2016 + ner2016 + its gazette (`klp`), the KLUE training split (`klue`), the culture sample (`sample`),
and all of them (`all`). With --train, a missing run is trained first (two gloo processes, as the README's
comparison); an existing one is scored as it is.

Test sets: the KLP 2016 test split, the fixed KLUE test split (`klue_split`) and the sample's test split; with
`--split validation`, their dev splits instead (what may choose which training set to recommend). Each model
of each seed (its best checkpoint on dev) runs as users run it, `KoreanNERPredictor` on each raw sentence, and its
entities are scored by strict character span (type, start, end) over the entity types that both the test corpus
annotates and the model knows (a model trained without KLUE knows no QT). Multi-task minus single-task comes with
the paired significance test of `modeling_mtl_bilstm.training.significance`, seeds pooled.

Corpora are read from ../shared/data/; a test set or training set whose corpus is absent is skipped and listed.
No corpus text is written to the results.
"""

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from benchmark_common import REPO_ROOT, SHARED_DATA, emit, environment, run_comparison

from modeling_mtl_bilstm import KoreanNERPredictor
from modeling_mtl_bilstm.data_scripts.formats import EntitySpan, load_entity_spans, read_klue
from modeling_mtl_bilstm.data_scripts.korean_ner import SAMPLE_DIR, klue_split
from modeling_mtl_bilstm.training.raw_text import scores_of_counts, span_counts, spans_of_types
from modeling_mtl_bilstm.training.run_info import RESULTS_JSON, RUN_RESULT_JSON, RUNS_DIR, RunInfo, run_folder
from modeling_mtl_bilstm.training.significance import paired_f1_test


KLP_DIR, NER2016_DIR, KLUE_DIR = SHARED_DATA / "klp2016", SHARED_DATA / "ner2016-competition", SHARED_DATA / "klue-ner"
KLP_TYPES = ("DT", "LC", "OG", "PS", "TI")
KLUE_TYPES = (*KLP_TYPES, "QT")
MODELS = ("mtl", "ner")
# Training set -> (the corpora it needs, examples/train.py arguments besides the comparison's). The KLUE, sample and
# every-corpus sets choose their best epoch on gold-morpheme dev F1, as they were trained before raw-text selection
# was the default; the KLP set is the learning curve's largest point, chosen on raw-text dev F1. The KLP and sample
# sets train on their corpus's morphemes alone (--analyzer corpus, the default until 2026-12-07). Every set keeps word
# dropout 0.3, the default until 2026-12-07.
SELECT_ON_GOLD = ["--select_on", "gold"]
CORPUS_MORPHEMES = ["--analyzer", "corpus"]
WORD_DROPOUT = ["--word_dropout", "0.3"]
TRAINING_SETS = {
    "klp": (
        (KLP_DIR, NER2016_DIR),
        ["--dataset", "klp2016", "--data_dir", str(KLP_DIR), "--extra_train_corpora", f"ner2016={NER2016_DIR}",
         "--gazetteer", str(NER2016_DIR / "gazette.txt"), *CORPUS_MORPHEMES, *WORD_DROPOUT],
    ),
    "klue": ((KLUE_DIR,), ["--dataset", "klue", "--data_dir", str(KLUE_DIR), *SELECT_ON_GOLD, *WORD_DROPOUT]),
    "sample": ((), ["--dataset", "sample", *SELECT_ON_GOLD, *CORPUS_MORPHEMES, *WORD_DROPOUT]),
    "all": (
        (KLP_DIR, NER2016_DIR, KLUE_DIR),
        ["--dataset", "klue", "--data_dir", str(KLUE_DIR), "--extra_train_corpora", f"klp2016={KLP_DIR}",
         f"ner2016={NER2016_DIR}", "sample", "--gazetteer", str(NER2016_DIR / "gazette.txt"), *SELECT_ON_GOLD,
         *WORD_DROPOUT],
    ),
}  # fmt: skip
# Variants of a training set, each compared with it on the multi-task model alone: variant -> (the set, the flags
# it adds). --unannotated_entity_types outside lets a sentence's O teach O for the types its corpus does not annotate.
VARIANTS = {"all-outside": ("all", ["--unannotated_entity_types", "outside"])}
TRAINING_SETS.update(
    {variant: (TRAINING_SETS[base][0], TRAINING_SETS[base][1] + flags) for variant, (base, flags) in VARIANTS.items()}
)
MATRIX_SETS = ("klp", "klue", "sample", "all")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs_dir", type=Path, default=REPO_ROOT / "runs" / "domain", help="One folder per set.")
    parser.add_argument(
        "--training_sets",
        nargs="+",
        choices=list(TRAINING_SETS),
        default=list(MATRIX_SETS),
        help="The sets to score (default: the matrix's); a variant (VARIANTS) is compared with its set where both "
        "are scored.",
    )
    parser.add_argument("--train", action="store_true", help="Train the training sets that have no results yet.")
    parser.add_argument(
        "--split",
        choices=["test", "validation"],
        default="test",
        help="Score on every corpus's test split (default) or on its dev split, the one that may choose a model.",
    )
    parser.add_argument("--batch_size", type=int, default=64, help="Sentences per forward pass (default: 64).")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads while scoring.")
    parser.add_argument("--output", type=Path, default=None, help="Also write the JSON result to this file.")
    parser.add_argument("--markdown", type=Path, default=None, help="Write the tables to this file.")
    return parser.parse_args(argv)


def test_sets(split: str = "test") -> dict[str, tuple[tuple[str, ...], list[str], list[set]]]:
    """Test set -> (the types its corpus annotates, raw sentences, gold character spans), for the corpora present:
    each corpus's `split` (test, or validation: KLP 2016's dev.txt, KLUE's validation share, the sample's
    validation.txt)."""
    klp_file, sample_file = ("test.txt", "test.txt") if split == "test" else ("dev.txt", "validation.txt")
    sets = {}
    if (KLP_DIR / klp_file).is_file():
        sentences, _ = load_entity_spans(KLP_DIR / klp_file, errors="collect")  # misaligned '$' lines left out
        sets["klp2016"] = (KLP_TYPES, [s.text for s in sentences], [set(s.entities) for s in sentences])
    dev_files = sorted(KLUE_DIR.glob("klue-ner-v1.1_dev*.tsv"))
    if dev_files:
        sentences = [s for s in read_klue(dev_files[0]) if klue_split(s.source_id) == split]
        sets["klue"] = (KLUE_TYPES, [s.text for s in sentences], [set(s.entities) for s in sentences])
    sentences, _ = load_entity_spans(SAMPLE_DIR / sample_file)
    sets["sample"] = (KLP_TYPES, [s.text for s in sentences], [set(s.entities) for s in sentences])
    return sets


def best_checkpoint(run_dir: Path) -> Path:
    """The checkpoint that Trainer chose on dev in one (model, seed) run folder."""
    states = sorted(run_dir.glob("checkpoint-*/trainer_state.json"), key=lambda p: int(p.parent.name.split("-")[1]))
    if not states:
        raise SystemExit(f"{run_dir}: no checkpoint; train it again (--train) or remove the folder")
    best = json.loads(states[-1].read_text())["best_model_checkpoint"]
    return run_dir / Path(best).name


def sentence_counts(gold: list[set], predicted: list[set], types: set[str]) -> list[list[int]]:
    """`[correct, predicted, gold]` per sentence, entities of `types` only."""
    return span_counts(spans_of_types(gold, types), spans_of_types(predicted, types))


def f1(counts: list[list[int]]) -> float:
    return scores_of_counts(counts)["ner_f1"]


def finished_seeds(run_dir: Path, model: str) -> list[str]:
    """The seeds of `model` whose training finished (their run_result.json exists), in order."""
    found = (run_dir / RUNS_DIR / model).glob(f"seed*/{RUN_RESULT_JSON}")
    return sorted((path.parent.name.removeprefix("seed") for path in found), key=int)


def score_run(run_dir: Path, tests: dict, batch_size: int) -> dict:
    """Per model and test set: raw-text F1 of each finished seed, mean and std, and the mtl - ner test pooled over
    the seeds both finished (a comparison still training is scored on what it has)."""
    scores, train_minutes = {}, {}
    for model in MODELS:
        seeds = finished_seeds(run_dir, model)
        if not seeds:
            continue
        per_test = {name: {"seeds": {}, "counts": {}} for name in tests}
        for seed in seeds:
            checkpoint = best_checkpoint(run_dir / "runs" / model / f"seed{seed}")
            predictor = KoreanNERPredictor.from_pretrained(checkpoint, batch_size=batch_size)
            known = {label[2:] for label in predictor.ner_id2label.values() if label != "O"}
            for name, (test_types, texts, gold) in tests.items():
                started = time.perf_counter()
                outputs = predictor(texts)
                seconds = time.perf_counter() - started
                predicted = [{EntitySpan(e["start"], e["end"], e["type"]) for e in out["entities"]} for out in outputs]
                types = set(test_types) & known
                counts = sentence_counts(gold, predicted, types)
                per_test[name]["seeds"][seed] = {"f1": f1(counts), "sentences_per_second": len(texts) / seconds}
                per_test[name]["counts"][seed] = counts
                per_test[name]["types"] = sorted(types)
        scores[model] = per_test
        seconds = [
            json.loads((run_folder(run_dir, model, int(seed)) / RUN_RESULT_JSON).read_text())["train_seconds"]
            for seed in seeds
        ]
        train_minutes[model] = round(float(np.mean(seconds)) / 60, 1)
    summary = {}
    for model, per_test in scores.items():
        summary[model] = {}
        for name, entry in per_test.items():
            values = [seed["f1"] for seed in entry["seeds"].values()]
            summary[model][name] = {
                "types": entry["types"],
                "seeds": entry["seeds"],
                "mean": float(np.mean(values)),
                "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            }
    if set(MODELS) <= set(scores):
        both = [
            seed
            for seed in scores["mtl"][next(iter(tests))]["counts"]
            if seed in scores["ner"][next(iter(tests))]["counts"]
        ]
        summary["mtl_minus_ner"] = (
            {
                name: {
                    "seeds": both,
                    **paired_f1_test(
                        [row for seed in both for row in scores["mtl"][name]["counts"][seed]],
                        [row for seed in both for row in scores["ner"][name]["counts"][seed]],
                    ),
                }
                for name in tests
            }
            if both
            else {}
        )
    summary["training"] = {**training_summary(run_dir), "train_minutes_per_seed": train_minutes}
    return summary, {
        model: {name: entry["counts"] for name, entry in per_test.items()} for model, per_test in scores.items()
    }


def variant_differences(variant_counts: dict, base_counts: dict) -> dict:
    """Per test set: the variant's multi-task model minus its set's, paired over the seeds both finished."""
    differences = {}
    for name, variant_seeds in variant_counts.get("mtl", {}).items():
        base_seeds = base_counts.get("mtl", {}).get(name, {})
        both = [seed for seed in variant_seeds if seed in base_seeds]
        if both:
            differences[name] = {
                "seeds": both,
                **paired_f1_test(
                    [row for seed in both for row in variant_seeds[seed]],
                    [row for seed in both for row in base_seeds[seed]],
                ),
            }
    return differences


def training_summary(run_dir: Path) -> dict:
    """The comparison's command, corpus sizes and wall time (run_info.json), or, while it is still training, the
    train time of its finished runs."""
    run_info = RunInfo.read_if_present(run_dir)
    if run_info is not None:
        return {
            "finished": True,
            "command": run_info.command,
            "wall_minutes": round(run_info.wall_seconds / 60, 1),
            "corpus": run_info.corpus,
        }
    results = [json.loads(path.read_text()) for path in run_dir.glob(f"{RUNS_DIR}/*/seed*/{RUN_RESULT_JSON}")]
    return {"finished": False, "wall_minutes": round(sum(r["train_seconds"] for r in results) / 60, 1)}


def markdown(matrix: dict, tests: dict) -> str:
    split = "test" if matrix["split"] == "test" else "dev"
    header = "| trained on | model | " + " | ".join(f"{name} {split}" for name in tests) + " | train min / seed |"
    lines = [header, "|---|---|" + "---:|" * (len(tests) + 1)]
    for name, run in matrix["runs"].items():
        for model in MODELS:
            if model not in run:
                continue
            cells = [
                f"{100 * run[model][t]['mean']:.2f} ± {100 * run[model][t]['std']:.2f}" if t in run[model] else "—"
                for t in tests
            ]
            seeds = len(next(iter(run[model].values()))["seeds"])
            lines.append(
                f"| {name} | {model} ({seeds} seeds) | "
                + " | ".join(cells)
                + f" | {run['training']['train_minutes_per_seed'][model]} |"
            )
    lines += [
        "",
        "Multi-task minus single-task (seeds pooled, approximate randomisation; 95% bootstrap interval):",
        "",
    ]
    lines += ["| trained on | " + " | ".join(tests) + " |", "|---|" + "---|" * len(tests)]
    for name, run in matrix["runs"].items():
        deltas = run.get("mtl_minus_ner")
        if deltas is None:  # a variant, or a set with one model
            continue
        cells = [_difference(deltas.get(t)) for t in tests]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for variant, entry in matrix.get("variants", {}).items():
        lines += [
            "",
            f"{variant} ({' '.join(entry['flags'])}) minus {entry['compared_with']}, multi-task models (seeds pooled):",
            "",
            "| " + " | ".join(tests) + " |",
            "|" + "---|" * len(tests),
            "| " + " | ".join(_difference(entry["mtl_minus_base"].get(t)) for t in tests) + " |",
        ]
    lines += ["", f"Not run: {', '.join(matrix['not_run']) or 'none'}."]
    return "\n".join(lines) + "\n"


def _difference(d: dict | None) -> str:
    if not d:
        return "—"
    return (
        f"{100 * d['delta']:+.2f} (p = {d['p_value']:.3f}; [{100 * d['ci95_low']:+.2f}, {100 * d['ci95_high']:+.2f}])"
    )


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    tests = test_sets(args.split)
    matrix = {
        "split": args.split,
        "tests": {name: {"types": list(t), "sentences": len(texts)} for name, (t, texts, _) in tests.items()},
    }
    matrix["runs"], matrix["not_run"], counts = {}, [], {}
    for name in args.training_sets:
        run_dir = args.runs_dir / name
        needs = TRAINING_SETS[name][0]
        if not (run_dir / RESULTS_JSON).is_file() and args.train and all(path.is_dir() for path in needs):
            # An interrupted comparison continues where it stopped; a variant trains the multi-task model alone.
            run_comparison(TRAINING_SETS[name][1], run_dir, models=("mtl",) if name in VARIANTS else MODELS)
        if not any(finished_seeds(run_dir, model) for model in MODELS):
            matrix["not_run"].append(name)
            continue
        print(f"Scoring {name} ({run_dir})", file=sys.stderr)
        matrix["runs"][name], counts[name] = score_run(run_dir, tests, args.batch_size)
    matrix["variants"] = {
        variant: {
            "compared_with": base,
            "flags": flags,
            "mtl_minus_base": variant_differences(counts[variant], counts[base]),
        }
        for variant, (base, flags) in VARIANTS.items()
        if variant in counts and base in counts
    }
    matrix["environment"] = environment(torch.device("cpu"))
    matrix["command"] = "python benchmarks/domain_matrix.py " + " ".join(argv if argv is not None else sys.argv[1:])
    emit(matrix, args.output)
    if args.markdown is not None:
        args.markdown.write_text(markdown(matrix, tests), encoding="utf-8")
    return matrix


if __name__ == "__main__":
    main()
