#!/usr/bin/env python
"""The paper's claim as a learning curve: multi-task against single-task NER at growing training sizes.

    python benchmarks/learning_curve.py --runs_dir runs/learning-curve --train \
        --output benchmarks/results/learning-curve.json --markdown benchmarks/results/learning-curve.md \
        --figure benchmarks/results/learning-curve.png

Each point is an `examples/train.py --compare --compare_models mtl ner` run with the defaults (the ner2016 gazette,
fastText vectors trained on the point's own sentences) on a nested subset of the KLP 2016 training split
(`--max_train_sentences`: 250, 500, 1,000, 2,000), all of it, and KLP 2016 + ner2016; 5 seeds up to 1,000
sentences, 3 above. Every point is tested on the KLP 2016 test split from raw text and on its gold morphemes; per
point the mean ± std of both models, the difference with its paired significance test (seeds pooled) and the train
time. With --train, a point without results is trained first; existing points are read as they are.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmark_common import REPO_ROOT, SHARED_DATA, emit, run_comparison


KLP_DIR, NER2016_DIR = SHARED_DATA / "klp2016", SHARED_DATA / "ner2016-competition"
KLP = ["--dataset", "klp2016", "--data_dir", str(KLP_DIR), "--gazetteer", str(NER2016_DIR / "gazette.txt")]
# Point name -> (examples/train.py arguments, seeds).
POINTS = {
    **{
        str(size): ([*KLP, "--max_train_sentences", str(size)], [1, 2, 3, 4, 5] if size <= 1000 else [1, 2, 3])
        for size in (250, 500, 1000, 2000)
    },
    "klp2016": (KLP, [1, 2, 3]),
    "klp2016+ner2016": ([*KLP, "--extra_train_corpora", f"ner2016={NER2016_DIR}"], [1, 2, 3]),
}
METRICS = {"raw_ner_f1": "raw text", "ner_f1": "gold morphemes"}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs_dir", type=Path, default=REPO_ROOT / "runs" / "learning-curve")
    parser.add_argument("--points", nargs="+", choices=list(POINTS), default=list(POINTS))
    parser.add_argument("--train", action="store_true", help="Train the points that have no results yet.")
    parser.add_argument("--output", type=Path, default=None, help="Also write the JSON result to this file.")
    parser.add_argument("--markdown", type=Path, default=None, help="Write the table to this file.")
    parser.add_argument("--figure", type=Path, default=None, help="Write the figure (PNG) to this file.")
    return parser.parse_args(argv)


def point_summary(run_dir: Path) -> dict:
    """One point: training sentences, both models' test F1 (mean, std) and train time, mtl - ner per metric."""
    results = json.loads((run_dir / "results.json").read_text())
    run_info = json.loads((run_dir / "run_info.json").read_text())
    summary = {"train_sentences": run_info["corpus"]["train"], "wall_minutes": round(run_info["wall_seconds"] / 60, 1)}
    for model in ("mtl", "ner"):
        mean, std = results[model]["mean"], results[model]["std"]
        summary[model] = {
            **{name: {"mean": mean[name], "std": std[name]} for name in METRICS if name in mean},
            "seeds": sorted(results[model]["seeds"], key=int),
            "train_seconds": mean["train_seconds"],
        }
    for name, deltas in (("ner_f1", run_info.get("ner_f1_deltas")), ("raw_ner_f1", run_info.get("raw_ner_f1_deltas"))):
        pooled = (deltas or {}).get("mtl-ner", {}).get("significance", {}).get("pooled")
        if pooled:
            summary.setdefault("mtl_minus_ner", {})[name] = pooled
    return summary


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
                f"{delta['p_value']:.3f}" if delta else "—",
                f"[{100 * delta['ci95_low']:+.2f}, {100 * delta['ci95_high']:+.2f}]" if delta else "—",
                f"{point['mtl']['train_seconds']:.0f} / {point['ner']['train_seconds']:.0f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(points: dict, path: Path, metric: str = "raw_ner_f1") -> None:
    """F1 of both models against training sentences (log scale, std error bars), the difference below with its
    95% interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = sorted((p for p in points.values() if metric in p["mtl"]), key=lambda p: p["train_sentences"])
    sizes = [p["train_sentences"] for p in shown]
    figure, (scores, differences) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, height_ratios=[2, 1])
    for model, label in (("mtl", "multi-task"), ("ner", "single-task NER")):
        means = [100 * p[model][metric]["mean"] for p in shown]
        stds = [100 * p[model][metric]["std"] for p in shown]
        scores.errorbar(sizes, means, yerr=stds, marker="o", capsize=4, label=label)
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
    differences.set_xlabel("training sentences")
    differences.set_ylabel("mtl − ner (points)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_args(argv)
    points, not_run = {}, []
    for name in args.points:
        run_dir = args.runs_dir / name
        arguments, seeds = POINTS[name]
        if not (run_dir / "results.json").is_file():
            if not args.train or not KLP_DIR.is_dir():
                not_run.append(name)
                continue
            run_comparison([*arguments, "--seeds", *map(str, seeds)], run_dir)
        points[name] = point_summary(run_dir)
    result = {
        "points": points,
        "not_run": not_run,
        "total_train_minutes": round(sum(p["wall_minutes"] for p in points.values()), 1),
        "command": "python benchmarks/learning_curve.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    emit(result, args.output)
    if args.markdown is not None:
        args.markdown.write_text(markdown(points), encoding="utf-8")
    if args.figure is not None and points:
        plot(points, args.figure)
    return result


if __name__ == "__main__":
    main()
