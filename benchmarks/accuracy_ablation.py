#!/usr/bin/env python
"""The accuracy ablation table: one row per configuration (lever or combination) and model, from the results.json
of the training runs that tried it.

    python benchmarks/accuracy_ablation.py \
        "KLP 2016 only (baseline)=benchmarks/results/klp2016-compare" \
        "+ ner2016 training data=runs/mtl_extra" "+ ner2016 training data=runs/ner_extra" \
        --output benchmarks/results/accuracy-ablation

Each argument is LABEL=FOLDER, FOLDER holding a results.json written by examples/train.py; folders under one
label are merged (e.g. the multi-task and the single-task runs of a configuration, or more seeds). Per label and
model: dev and test NER F1 as mean ± sample std over the seeds found (the number of seeds is a column: a row with
one seed is a screening run), and the mean training time. Writes OUTPUT.json and OUTPUT.md.

`--previous TABLE.json` keeps the rows of an earlier table first (its run folders need not exist any more) and adds
the new ones after them; a configuration and model it already has is an error.
"""

import argparse
import json
import statistics
from pathlib import Path

from accuracy_report import read_results
from benchmark_common import emit


COLUMNS = (("dev_ner_f1", "dev NER F1"), ("ner_f1", "test NER F1"))


def merge_runs(arguments: list[str]) -> dict[str, dict[str, dict[str, dict]]]:
    """`{label: {model: {seed: metrics}}}` from LABEL=FOLDER arguments, in the order given."""
    table: dict[str, dict[str, dict[str, dict]]] = {}
    for argument in arguments:
        label, separator, folder = argument.rpartition("=")
        if not separator or not label:
            raise SystemExit(f"expected LABEL=FOLDER, received {argument!r}")
        for model, summary in read_results(Path(folder) / "results.json").items():
            seeds = table.setdefault(label, {}).setdefault(model, {})
            for seed, metrics in summary["seeds"].items():
                if seed in seeds:
                    raise SystemExit(f"{folder}: {label!r} already has {model} seed {seed} from another folder")
                seeds[seed] = metrics
    return table


def summarize(table: dict) -> list[dict]:
    rows = []
    for label, models in table.items():
        for model, seeds in models.items():
            if not any("ner_f1" in metrics for metrics in seeds.values()):
                continue  # single-task POS runs have no NER score
            row = {"configuration": label, "model": model, "seeds": sorted(seeds, key=int)}
            for name, _ in COLUMNS:
                values = [metrics[name] for metrics in seeds.values() if name in metrics]
                row[name] = {
                    "mean": statistics.fmean(values),
                    "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                    "per_seed": {seed: metrics[name] for seed, metrics in seeds.items() if name in metrics},
                }
            row["train_seconds"] = statistics.fmean(metrics["train_seconds"] for metrics in seeds.values())
            rows.append(row)
    return rows


def previous_rows(path: Path | None) -> list[dict]:
    if path is None:
        return []
    rows = json.loads(path.read_text(encoding="utf-8")).get("rows")
    if not isinstance(rows, list) or not all(isinstance(row, dict) and "configuration" in row for row in rows):
        raise SystemExit(f"{path}: expected a table written by this script ({{'rows': [...]}}).")
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| configuration | model | seeds | " + " | ".join(title for _, title in COLUMNS) + " | train s |",
        "|---|---|---:|" + "---:|" * len(COLUMNS) + "---:|",
    ]
    for row in rows:
        cells = [f"{100 * row[name]['mean']:.2f} ± {100 * row[name]['std']:.2f}" for name, _ in COLUMNS]
        lines.append(
            f"| {row['configuration']} | {row['model']} | {len(row['seeds'])} | "
            + " | ".join(cells)
            + f" | {row['train_seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="LABEL=FOLDER, FOLDER holding a results.json")
    parser.add_argument("--output", type=Path, help="Write OUTPUT.json and OUTPUT.md.")
    parser.add_argument("--previous", type=Path, help="An earlier table's JSON, whose rows come first.")
    args = parser.parse_args(argv)
    result = {"rows": previous_rows(args.previous) + summarize(merge_runs(args.runs))}
    keys = [(row["configuration"], row["model"]) for row in result["rows"]]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise SystemExit(f"--previous {args.previous} already has rows for {repeated}: give them another label.")
    table = markdown(result["rows"])
    emit(result, args.output.with_suffix(".json") if args.output else None)
    if args.output:
        args.output.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table)
    return result


if __name__ == "__main__":
    main()
