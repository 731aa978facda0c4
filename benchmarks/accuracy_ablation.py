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
one seed is a screening run), and the mean training time; and the same from raw text (the predictor's entities by
strict character span) where the runs scored it. Per label with both models: the multi-task minus
single-task difference (dev, test, test per seed) and, where the runs kept their per-sentence test counts, the
paired significance test of the comparison report pooled over the seeds they share. Writes OUTPUT.json and
OUTPUT.md.

`--previous TABLE.json` keeps the rows of an earlier table (its run folders need not exist any more): a
configuration given again replaces its earlier rows in place, a new model of a known configuration goes after its
rows, and new configurations go at the end.

`--reference LABEL` adds how each configuration differs from LABEL's on `--reference_metric` (raw-text dev F1 by
default, the measure that decides a default): per model, over the seeds both ran, the mean of the per-seed
differences and its standard error (their sample std over the square root of their number). Seeds pair up because
a seed fixes the initialisation and the data order of every configuration. A default changes where an alternative
leads by more than one standard error. Repeated, it gives one table per LABEL: each set of defaults a decision was
measured against keeps its own.
"""

import argparse
import json
import statistics
from pathlib import Path

from accuracy_report import read_results
from benchmark_common import emit

from modeling_mtl_bilstm.training.reporting import ner_f1_deltas, summarize_runs


# Gold-morpheme F1 (the paper's measure) and raw-text F1 (what users get; runs from before raw-text scoring have none).
COLUMNS = (
    ("dev_ner_f1", "dev NER F1"),
    ("ner_f1", "test NER F1"),
    ("dev_raw_ner_f1", "dev raw-text F1"),
    ("raw_ner_f1", "test raw-text F1"),
)
COMPARED = ("mtl", "ner")  # multi-task minus single-task, as in the comparison report


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
                if not values:
                    continue
                row[name] = {
                    "mean": statistics.fmean(values),
                    "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                    "per_seed": {seed: metrics[name] for seed, metrics in seeds.items() if name in metrics},
                }
            row["train_seconds"] = statistics.fmean(metrics["train_seconds"] for metrics in seeds.values())
            rows.append(row)
    return rows


def previous_table(path: Path | None) -> dict:
    if path is None:
        return {"rows": [], "differences": []}
    table = json.loads(path.read_text(encoding="utf-8"))
    rows = table.get("rows") if isinstance(table, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) and "configuration" in row for row in rows):
        raise SystemExit(f"{path}: expected a table written by this script ({{'rows': [...]}}).")
    return {"rows": rows, "differences": table.get("differences", [])}


def merge_rows(previous: list[dict], new: list[dict]) -> list[dict]:
    """Earlier rows with the new ones in place: a (configuration, model) given again replaces its row, a new model of
    a known configuration follows that configuration's rows, anything else goes at the end."""
    rows = list(previous)
    for row in new:
        keys = [(old["configuration"], old["model"]) for old in rows]
        if (row["configuration"], row["model"]) in keys:
            rows[keys.index((row["configuration"], row["model"]))] = row
        elif any(label == row["configuration"] for label, _ in keys):
            last = max(i for i, (label, _) in enumerate(keys) if label == row["configuration"])
            rows.insert(last + 1, row)
        else:
            rows.append(row)
    return rows


def differences(rows: list[dict], runs: dict, previous: list[dict]) -> list[dict]:
    """Multi-task minus single-task per configuration that has both. The significance test needs the runs'
    per-sentence counts, so a configuration not given again keeps the test of the earlier table."""
    earlier = {difference["configuration"]: difference for difference in previous}
    by_key = {(row["configuration"], row["model"]): row for row in rows}
    result = []
    for label in dict.fromkeys(row["configuration"] for row in rows):
        mtl, ner = by_key.get((label, COMPARED[0])), by_key.get((label, COMPARED[1]))
        if mtl is None or ner is None:
            continue
        shared = [seed for seed in mtl["seeds"] if seed in ner["seeds"]]
        difference = {"configuration": label, "seeds": shared}
        for name, _ in COLUMNS:
            if name not in mtl or name not in ner:
                continue
            difference[name] = {
                "mean": mtl[name]["mean"] - ner[name]["mean"],
                "per_seed": {seed: mtl[name]["per_seed"][seed] - ner[name]["per_seed"][seed] for seed in shared},
            }
        if label in runs:
            delta = ner_f1_deltas(summarize_runs(runs[label])).get("-".join(COMPARED), {})
            significance = delta.get("significance", {}).get("pooled")
        else:
            significance = earlier.get(label, {}).get("significance")
        difference["significance"] = significance
        result.append(difference)
    return result


def against_reference(rows: list[dict], reference: str, metric: str) -> list[dict]:
    """Each row minus the row of `reference` with the same model on `metric`, over the seeds both have (2 or more)."""
    by_model = {row["model"]: row for row in rows if row["configuration"] == reference}
    if not by_model:
        raise SystemExit(f"--reference: expected a configuration of the table, received {reference!r}")
    result = []
    for row in rows:
        base = by_model.get(row["model"])
        if base is None or row is base or metric not in row or metric not in base:
            continue
        shared = [
            seed for seed in row["seeds"] if seed in base[metric]["per_seed"] and seed in row[metric]["per_seed"]
        ]
        if len(shared) < 2:
            continue
        per_seed = {seed: row[metric]["per_seed"][seed] - base[metric]["per_seed"][seed] for seed in shared}
        values = list(per_seed.values())
        result.append(
            {
                "configuration": row["configuration"],
                "model": row["model"],
                "mean": statistics.fmean(values),
                "standard_error": statistics.stdev(values) / len(values) ** 0.5,
                "per_seed": per_seed,
            }
        )
    return result


def reference_markdown(reference: str, metric: str, rows: list[dict]) -> str:
    title = dict(COLUMNS)[metric]
    lines = [
        f"Against {reference!r} on {title} (points): the mean of the per-seed differences over the seeds both ran,",
        "± its standard error.",
        "",
        f"| configuration | model | seeds | {title} − reference | per seed |",
        "|---|---|---:|---:|---|",
    ]
    for row in rows:
        per_seed = ", ".join(f"{100 * delta:+.2f}" for delta in row["per_seed"].values())
        lines.append(
            f"| {row['configuration']} | {row['model']} | {len(row['per_seed'])} | "
            f"{100 * row['mean']:+.2f} ± {100 * row['standard_error']:.2f} | {per_seed} |"
        )
    return "\n".join(lines) + "\n"


def markdown(rows: list[dict]) -> str:
    lines = [
        "| configuration | model | seeds | " + " | ".join(title for _, title in COLUMNS) + " | train s |",
        "|---|---|---:|" + "---:|" * len(COLUMNS) + "---:|",
    ]
    for row in rows:
        cells = [
            f"{100 * row[name]['mean']:.2f} ± {100 * row[name]['std']:.2f}" if name in row else "—"
            for name, _ in COLUMNS
        ]
        lines.append(
            f"| {row['configuration']} | {row['model']} | {len(row['seeds'])} | "
            + " | ".join(cells)
            + f" | {row['train_seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def differences_markdown(rows: list[dict]) -> str:
    lines = [
        "Multi-task minus single-task NER F1 (points) per configuration with both models: p by approximate",
        "randomisation and the 95% interval by paired bootstrap, over the test sentences of the shared seeds pooled",
        "(– where the runs did not keep their per-sentence counts).",
        "",
        "| configuration | seeds | dev mtl − ner | test mtl − ner | test per seed | p | 95% interval |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for row in rows:
        per_seed = ", ".join(f"{100 * delta:+.2f}" for delta in row["ner_f1"]["per_seed"].values())
        test = row["significance"]
        p_value, interval = (
            (f"{test['p_value']:.3f}", f"[{100 * test['ci95_low']:+.2f}, {100 * test['ci95_high']:+.2f}]")
            if test
            else ("–", "–")
        )
        lines.append(
            f"| {row['configuration']} | {len(row['seeds'])} | {100 * row['dev_ner_f1']['mean']:+.2f} | "
            f"{100 * row['ner_f1']['mean']:+.2f} | {per_seed} | {p_value} | {interval} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="LABEL=FOLDER, FOLDER holding a results.json")
    parser.add_argument("--output", type=Path, help="Write OUTPUT.json and OUTPUT.md.")
    parser.add_argument("--previous", type=Path, help="An earlier table's JSON, whose rows it keeps.")
    parser.add_argument(
        "--reference",
        action="append",
        default=[],
        help="A configuration of the table to measure the others against; repeat it for one table per reference.",
    )
    parser.add_argument(
        "--reference_metric",
        choices=[name for name, _ in COLUMNS],
        default="dev_raw_ner_f1",
        help="The score of --reference (default: dev_raw_ner_f1).",
    )
    args = parser.parse_args(argv)
    if not args.runs and args.previous is None:
        parser.error("expected LABEL=FOLDER arguments, --previous, or both")
    previous, runs = previous_table(args.previous), merge_runs(args.runs)
    rows = merge_rows(previous["rows"], summarize(runs))
    result = {"rows": rows, "differences": differences(rows, runs, previous["differences"])}
    table = markdown(result["rows"])
    if result["differences"]:
        table += "\n" + differences_markdown(result["differences"])
    if args.reference:
        metric = args.reference_metric
        result["against_references"] = [
            {"reference": label, "metric": metric, "rows": against_reference(rows, label, metric)}
            for label in args.reference
        ]
        for compared in result["against_references"]:
            table += "\n" + reference_markdown(compared["reference"], compared["metric"], compared["rows"])
    emit(result, args.output.with_suffix(".json") if args.output else None)
    if args.output:
        args.output.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table)
    return result


if __name__ == "__main__":
    main()
