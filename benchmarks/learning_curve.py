#!/usr/bin/env python
"""The paper's claim as a learning curve: multi-task against single-task NER at growing training sizes.

    python benchmarks/learning_curve.py --runs_dir runs/learning-curve --train \
        --output benchmarks/results/learning-curve.json --markdown benchmarks/results/learning-curve.md \
        --figure benchmarks/results/learning-curve.png

Each point is an `examples/train.py --compare --compare_models mtl ner` run with the defaults (the ner2016 gazette,
fastText vectors trained on the point's own sentences) on a nested subset of the KLP 2016 training split
(`--max_train_sentences`: 250, 500, 1,000, 2,000), all of it, and KLP 2016 + ner2016; 5 seeds up to 1,000
sentences, 3 above. A subset smaller than 1,334 sentences trains for more than 12 epochs (`MIN_SENTENCE_PASSES`),
so that every point gets about 500 updates or more. Every point is tested on the KLP 2016 test split from raw text and on its gold morphemes; per
point the mean ± std of both models, the difference with its paired significance test (seeds pooled) and the train
time. With --train, a point without results is trained first; existing points are read as they are.

The unlabelled-text lever (`LEVERS`): multi-task models of a point trained again with the KLUE training text as
`--pos_only_corpora` (Kiwi's POS tags, entity labels withheld), 3 seeds, at 1,000 sentences and at KLP 2016 +
ner2016. A single-task NER model cannot use such text, so each lever is compared, seed by seed on the same test
sentences, with its point's single-task model (does it restore the multi-task gain?) and its point's multi-task
model (what the text adds).
"""

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmark_common import REPO_ROOT, SHARED_DATA, emit, run_comparison

from modeling_mtl_bilstm.training.reporting import ner_f1_deltas
from modeling_mtl_bilstm.training.run_info import RESULTS_JSON, RunInfo


KLP_DIR, NER2016_DIR = SHARED_DATA / "klp2016", SHARED_DATA / "ner2016-competition"
# --analyzer corpus and word dropout 0.3: the defaults until 2026-12-07, with which the curve in benchmarks/results/
# was trained.
KLP = ["--dataset", "klp2016", "--data_dir", str(KLP_DIR), "--gazetteer", str(NER2016_DIR / "gazette.txt"),
       "--analyzer", "corpus", "--word_dropout", "0.3"]  # fmt: skip
# A subset trains for at least this many sentence passes (about 500 updates of 32 sentences): 12 epochs of 250
# sentences (96 updates) leave the models undertrained, their dev F1 still rising steeply at the last epoch.
MIN_SENTENCE_PASSES = 16_000
# Updates between two dev evaluations (and checkpoints) of a subset trained for more than 12 epochs.
EVAL_STEPS = 64


def subset_arguments(size: int) -> list[str]:
    """examples/train.py arguments for `size` KLP 2016 training sentences: more epochs where 12 would give fewer than
    `MIN_SENTENCE_PASSES`, evaluated every `EVAL_STEPS` updates instead of every epoch."""
    arguments = [*KLP, "--max_train_sentences", str(size)]
    epochs = max(12, math.ceil(MIN_SENTENCE_PASSES / size))
    if epochs > 12:
        steps = ["--eval_strategy", "steps", "--eval_steps", str(EVAL_STEPS), "--save_strategy", "steps",
                 "--save_steps", str(EVAL_STEPS)]  # fmt: skip
        arguments += ["--num_train_epochs", str(epochs), *steps]
    return arguments


# Point name -> (examples/train.py arguments, seeds).
POINTS = {
    **{
        str(size): (subset_arguments(size), [1, 2, 3, 4, 5] if size <= 1000 else [1, 2, 3])
        for size in (250, 500, 1000, 2000)
    },
    "klp2016": (KLP, [1, 2, 3]),
    "klp2016+ner2016": ([*KLP, "--extra_train_corpora", f"ner2016={NER2016_DIR}"], [1, 2, 3]),
}
# Lever name -> (the point it extends, examples/train.py arguments besides the point's, seeds).
LEVERS = {
    f"{point}+klue-text": (point, ["--pos_only_corpora", f"klue={SHARED_DATA / 'klue-ner'}"], [1, 2, 3])
    for point in ("1000", "klp2016+ner2016")
}
METRICS = {"raw_ner_f1": "raw text", "ner_f1": "gold morphemes"}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs_dir", type=Path, default=REPO_ROOT / "runs" / "learning-curve")
    parser.add_argument("--points", nargs="+", choices=list(POINTS), default=list(POINTS))
    parser.add_argument("--levers", nargs="*", choices=list(LEVERS), default=list(LEVERS))
    parser.add_argument("--train", action="store_true", help="Train the points and levers that have no results yet.")
    parser.add_argument("--output", type=Path, default=None, help="Also write the JSON result to this file.")
    parser.add_argument("--markdown", type=Path, default=None, help="Write the table to this file.")
    parser.add_argument("--figure", type=Path, default=None, help="Write the figure (PNG) to this file.")
    return parser.parse_args(argv)


def point_summary(run_dir: Path) -> dict:
    """One point: training sentences, both models' test F1 (mean, std) and train time, mtl - ner per metric."""
    results = json.loads((run_dir / RESULTS_JSON).read_text())
    run_info = RunInfo.read(run_dir)
    summary = {"train_sentences": run_info.corpus["train"], "wall_minutes": round(run_info.wall_seconds / 60, 1)}
    for model in ("mtl", "ner"):
        mean, std = results[model]["mean"], results[model]["std"]
        summary[model] = {
            **{name: {"mean": mean[name], "std": std[name]} for name in METRICS if name in mean},
            "seeds": sorted(results[model]["seeds"], key=int),
            "train_seconds": mean["train_seconds"],
        }
    for name, deltas in (("ner_f1", run_info.ner_f1_deltas), ("raw_ner_f1", run_info.raw_ner_f1_deltas)):
        pooled = deltas.get("mtl-ner", {}).get("significance", {}).get("pooled")
        if pooled:
            summary.setdefault("mtl_minus_ner", {})[name] = pooled
    return summary


def lever_summary(run_dir: Path, point_dir: Path) -> dict:
    """One lever: its multi-task models' test F1 (mean, std) and train time, and per metric the paired tests (seeds
    pooled) of lever minus the point's single-task model and lever minus the point's multi-task model."""
    lever = json.loads((run_dir / RESULTS_JSON).read_text())["mtl"]
    point = json.loads((point_dir / RESULTS_JSON).read_text())
    run_info = RunInfo.read(run_dir)
    summary = {
        "train_sentences": run_info.corpus["train"],
        "wall_minutes": round(run_info.wall_seconds / 60, 1),
        "mtl": {
            **{
                name: {"mean": lever["mean"][name], "std": lever["std"][name]}
                for name in METRICS
                if name in lever["mean"]
            },
            "seeds": sorted(lever["seeds"], key=int),
            "train_seconds": lever["mean"]["train_seconds"],
        },
    }
    for baseline in ("ner", "mtl"):
        for name in METRICS:
            # ner_f1_deltas pairs the runs under the keys "mtl" and "ner": here the lever and the point's model.
            delta = ner_f1_deltas({"mtl": lever, "ner": point[baseline]}, name).get("mtl-ner", {})
            pooled = delta.get("significance", {}).get("pooled")
            if pooled:
                summary.setdefault(f"minus_point_{baseline}", {})[name] = pooled
    return summary


def p_value(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else "< 0.001"


def lever_markdown(levers: dict, points: dict) -> str:
    lines = [
        "| lever | train sentences (labelled + text) | metric | mtl + text | point's mtl | point's ner "
        "| − point's ner (p) | − point's mtl (p) |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, lever in levers.items():
        point = points[LEVERS[name][0]]
        for metric, title in METRICS.items():
            if metric not in lever["mtl"]:
                continue
            cells = [
                name,
                f"{point['train_sentences']:,} + {lever['train_sentences'] - point['train_sentences']:,}",
                title,
                *(
                    f"{100 * m[metric]['mean']:.2f} ± {100 * m[metric]['std']:.2f}"
                    for m in (lever["mtl"], point["mtl"], point["ner"])
                ),
            ]
            for baseline in ("ner", "mtl"):
                delta = lever.get(f"minus_point_{baseline}", {}).get(metric)
                cells.append(f"{100 * delta['delta']:+.2f} ({p_value(delta['p_value'])})" if delta else "—")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown(points: dict) -> str:
    lines = [
        "| point | train sentences | metric | mtl | ner | mtl − ner | p | 95% interval | train s (mtl / ner) |",
        "|---|---:|---|---:|---:|---:|---:|---|---:|",
    ]
    for name, point in points.items():
        for metric, title in METRICS.items():
            if metric not in point["mtl"]:
                continue
            delta = point.get("mtl_minus_ner", {}).get(metric)
            cells = [
                name,
                f"{point['train_sentences']:,}",
                title,
                *(
                    f"{100 * point[m][metric]['mean']:.2f} ± {100 * point[m][metric]['std']:.2f}"
                    for m in ("mtl", "ner")
                ),
                f"{100 * delta['delta']:+.2f}" if delta else "—",
                p_value(delta["p_value"]) if delta else "—",
                f"[{100 * delta['ci95_low']:+.2f}, {100 * delta['ci95_high']:+.2f}]" if delta else "—",
                f"{point['mtl']['train_seconds']:.0f} / {point['ner']['train_seconds']:.0f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(points: dict, path: Path, levers: dict | None = None, metric: str = "raw_ner_f1") -> None:
    """F1 of both models against training sentences (log scale, std error bars), the difference below with its
    95% interval; each lever as a marker at its point's labelled size."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = sorted((p for p in points.values() if metric in p["mtl"]), key=lambda p: p["train_sentences"])
    sizes = [p["train_sentences"] for p in shown]
    figure, (scores, differences) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, height_ratios=[2, 1])
    for model, label in (("mtl", "multi-task"), ("ner", "single-task NER")):
        means = [100 * p[model][metric]["mean"] for p in shown]
        stds = [100 * p[model][metric]["std"] for p in shown]
        scores.errorbar(sizes, means, yerr=stds, marker="o", capsize=4, label=label)
    shown_levers = [(name, lever) for name, lever in (levers or {}).items() if metric in lever["mtl"]]
    if shown_levers:
        sizes_of = [points[LEVERS[name][0]]["train_sentences"] for name, _ in shown_levers]
        means = [100 * lever["mtl"][metric]["mean"] for _, lever in shown_levers]
        stds = [100 * lever["mtl"][metric]["std"] for _, lever in shown_levers]
        scores.errorbar(sizes_of, means, yerr=stds, marker="^", capsize=4, linestyle="none", color="tab:green",
                        label="multi-task + KLUE text (no entity labels)")  # fmt: skip
    scores.set_xscale("log")
    scores.set_ylabel(f"KLP 2016 test F1, {METRICS[metric]} (%)")
    scores.legend()
    deltas = [p.get("mtl_minus_ner", {}).get(metric) for p in shown]
    kept = [(size, d) for size, d in zip(sizes, deltas) if d]
    if kept:
        x = [size for size, _ in kept]
        y = [100 * d["delta"] for _, d in kept]
        low = [100 * (d["delta"] - d["ci95_low"]) for _, d in kept]
        high = [100 * (d["ci95_high"] - d["delta"]) for _, d in kept]
        differences.errorbar(x, y, yerr=[low, high], marker="o", capsize=4, color="black")
    differences.axhline(0, color="grey", linewidth=0.8)
    differences.set_xticks(sizes, labels=[f"{size:,}" for size in sizes])
    differences.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    differences.set_xlabel("training sentences (log scale)")
    differences.set_ylabel("mtl − ner (points)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_args(argv)
    points, levers, not_run = {}, {}, []
    for name in args.points:
        run_dir = args.runs_dir / name
        arguments, seeds = POINTS[name]
        if not (run_dir / RESULTS_JSON).is_file():
            if not args.train or not KLP_DIR.is_dir():
                not_run.append(name)
                continue
            run_comparison([*arguments, "--seeds", *map(str, seeds)], run_dir)
        points[name] = point_summary(run_dir)
    for name in args.levers:
        run_dir = args.runs_dir / name
        point, arguments, seeds = LEVERS[name]
        if point not in points:
            not_run.append(name)
            continue
        if not (run_dir / RESULTS_JSON).is_file():
            if not args.train:
                not_run.append(name)
                continue
            run_comparison([*POINTS[point][0], *arguments, "--seeds", *map(str, seeds)], run_dir, models=["mtl"])
        levers[name] = lever_summary(run_dir, args.runs_dir / point)
    result = {
        "points": points,
        "levers": levers,
        "not_run": not_run,
        "total_train_minutes": round(sum(p["wall_minutes"] for p in points.values()), 1),
        "lever_train_minutes": round(sum(lever["wall_minutes"] for lever in levers.values()), 1),
        "command": "python benchmarks/learning_curve.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    emit(result, args.output)
    if args.markdown is not None:
        text = markdown(points)
        if levers:
            text += "\n" + lever_markdown(levers, points)
        args.markdown.write_text(text, encoding="utf-8")
    if args.figure is not None and points:
        plot(points, args.figure, levers)
    return result


if __name__ == "__main__":
    main()
