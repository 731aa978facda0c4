#!/usr/bin/env python
"""The comparison figures of an examples/train.py run, as JSON and as a markdown table.

    python examples/train.py --compare --dataset klp2016 --data_dir ../shared/data/klp2016 --output_dir runs/klp2016
    python benchmarks/accuracy_report.py runs/klp2016/results.json --markdown benchmarks/results/accuracy.md

Reads results.json ({model: {"seeds": {seed: metrics}, "mean": ..., "std": ...}}) and, where it lies beside
it, run_info.json (for the dataset name). Reports per model the test NER F1, precision, recall and
per-type F1, and POS accuracy, each mean ± sample std over seeds, and the multi-task minus single-task
NER F1 delta (mean, per seed, and in how many seeds the multi-task model is ahead). The JSON goes to
stdout (and --output), the markdown table to stderr (and --markdown).
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

from benchmark_common import emit

from modeling_mtl_bilstm.training.reporting import ner_f1_deltas
from modeling_mtl_bilstm.training.run_info import RUN_INFO_JSON, RunInfo


SCORES = (("ner_f1", "NER F1"), ("ner_precision", "NER P"), ("ner_recall", "NER R"), ("pos_accuracy", "POS acc"))


def read_results(path: Path) -> dict:
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"{path}: no such file; expected the results.json written by examples/train.py.") from None
    except json.JSONDecodeError as error:
        raise SystemExit(f"{path}, line {error.lineno}: not valid JSON ({error.msg}).") from None
    expected = "{model: {'seeds': ..., 'mean': ..., 'std': ...}} as examples/train.py writes it"
    if not isinstance(results, dict) or not results:
        raise SystemExit(f"{path}: expected {expected}, received {str(results)[:80]}.")
    for key, summary in results.items():
        if not isinstance(summary, dict) or not {"seeds", "mean", "std"} <= summary.keys():
            raise SystemExit(f"{path}: expected {expected}, received under {key!r}: {str(summary)[:80]}.")
    return results


def model_figures(summary: dict) -> dict:
    figures = {"seeds": sorted(summary["seeds"], key=int)}
    for name, _ in SCORES:
        if name in summary["mean"]:
            figures[name] = {"mean": summary["mean"][name], "std": summary["std"][name]}
    entity_types = sorted(
        name[len("ner_") : -len("_f1")]
        for name in summary["mean"]
        if name.startswith("ner_") and name.endswith("_f1") and name != "ner_f1"
    )
    per_type = {
        t: {"mean": summary["mean"][f"ner_{t}_f1"], "std": summary["std"][f"ner_{t}_f1"]} for t in entity_types
    }
    if per_type:
        figures["ner_f1_per_type"] = per_type
    return figures


def delta_figures(results: dict) -> dict:
    deltas = {}
    for name, delta in ner_f1_deltas(results).items():
        per_seed = list(delta["per_seed"].values())
        deltas[name] = {
            "mean": delta["mean"],
            "per_seed": delta["per_seed"],
            "std": statistics.stdev(per_seed) if len(per_seed) > 1 else 0.0,
            "multi_task_ahead_in_seeds": sum(d > 0 for d in per_seed),
            "common_seeds": len(per_seed),
        }
    return deltas


def markdown_table(models: dict, deltas: dict, dataset: str | None) -> str:
    lines = [f"Test split of `{dataset or 'unknown dataset'}`, % (mean ± std over seeds).", ""]
    lines.append("| model | seeds | " + " | ".join(title for _, title in SCORES) + " |")
    lines.append("|---|---:|" + "---:|" * len(SCORES))
    for key, figures in models.items():
        cells = [
            f"{100 * figures[name]['mean']:.2f} ± {100 * figures[name]['std']:.2f}" if name in figures else "–"
            for name, _ in SCORES
        ]
        lines.append(f"| {key} | {len(figures['seeds'])} | " + " | ".join(cells) + " |")
    for name, delta in deltas.items():
        per_seed = ", ".join(f"seed {seed}: {100 * value:+.2f}" for seed, value in delta["per_seed"].items())
        lines.append(
            f"\nNER F1 {name.replace('-', ' − ')}: **{100 * delta['mean']:+.2f}** points "
            f"(± {100 * delta['std']:.2f}; {per_seed}; multi-task ahead in "
            f"{delta['multi_task_ahead_in_seeds']}/{delta['common_seeds']} seeds)."
        )
    return "\n".join(lines) + "\n"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results_json", type=Path, help="results.json written by examples/train.py.")
    parser.add_argument("--output", type=Path, default=None, help="Also write the JSON report to this file.")
    parser.add_argument("--markdown", type=Path, default=None, help="Also write the markdown table to this file.")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    results = read_results(args.results_json)
    run_info = RunInfo.read_if_present(args.results_json.with_name(RUN_INFO_JSON))
    dataset = run_info.dataset if run_info else None
    models = {key: model_figures(summary) for key, summary in results.items()}
    deltas = delta_figures(results)
    table = markdown_table(models, deltas, dataset)
    report = {
        "benchmark": "accuracy_report",
        "source": str(args.results_json),
        "dataset": dataset,
        "models": models,
        "ner_f1_deltas": deltas,
        "markdown": table,
    }
    print(table, file=sys.stderr)
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table, encoding="utf-8")
    emit(report, args.output)
    return report


if __name__ == "__main__":
    main()
