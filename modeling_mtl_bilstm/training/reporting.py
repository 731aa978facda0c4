"""Results of a training run or comparison: per-seed metrics -> mean/std, results.json, results.md, a figure."""

import json
import math
import statistics
from dataclasses import replace
from pathlib import Path

from .run_info import RESULTS_JSON, RESULTS_MD, RESULTS_PNG, RunInfo
from .significance import paired_f1_test


# Per-sentence [correct, predicted, gold] test entity counts of a run, kept for the significance test: on the corpus's
# morphemes (gold) and from raw text.
TEST_SENTENCE_COUNTS = "test_ner_sentence_counts"
TEST_RAW_SENTENCE_COUNTS = "test_raw_ner_sentence_counts"
SENTENCE_COUNTS = {"ner_f1": TEST_SENTENCE_COUNTS, "raw_ner_f1": TEST_RAW_SENTENCE_COUNTS}
SIGNIFICANCE_LEVEL = 0.05
# Single-task baseline each multi-task variant is compared with.
BASELINES = {"mtl": "ner", "mtl_crf": "ner_crf", "mtl_no_crf": "ner_no_crf"}


def summarize_runs(per_seed: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """`{model: {seed: metrics}}` -> `{model: {"seeds": ..., "mean": ..., "std": ...}}` over the scalar
    metrics (sample standard deviation; 0.0 for a single seed)."""
    summary = {}
    for key, seeds in per_seed.items():
        names = sorted({name for m in seeds.values() for name, v in m.items() if _is_number(v)})
        mean, std = {}, {}
        for name in names:
            values = [m[name] for m in seeds.values() if name in m]
            mean[name] = statistics.fmean(values)
            std[name] = statistics.stdev(values) if len(values) > 1 else 0.0
        summary[key] = {"seeds": seeds, "mean": mean, "std": std}
    return summary


def ner_f1_deltas(results: dict[str, dict], metric: str = "ner_f1") -> dict[str, dict]:
    """Multi-task minus single-task NER F1 (`metric`: `ner_f1` on the corpus's morphemes, `raw_ner_f1` from raw
    text): mean over seeds, per seed where both ran it and, where the runs kept their per-sentence test counts, a
    paired significance test per seed and pooled over the seeds (see `significance.paired_f1_test`)."""
    counts = SENTENCE_COUNTS[metric]
    deltas = {}
    for mtl_key, ner_key in BASELINES.items():
        if mtl_key in results and ner_key in results and metric in results[mtl_key]["mean"]:
            mtl_seeds, ner_seeds = results[mtl_key]["seeds"], results[ner_key]["seeds"]
            common = sorted(set(mtl_seeds) & set(ner_seeds), key=int)
            delta = {
                "mean": results[mtl_key]["mean"][metric] - results[ner_key]["mean"][metric],
                "per_seed": {s: mtl_seeds[s][metric] - ner_seeds[s][metric] for s in common},
            }
            counted = [s for s in common if counts in mtl_seeds[s] and counts in ner_seeds[s]]
            if counted:
                delta["significance"] = {
                    "test": "approximate randomisation (p-value) and paired bootstrap (95% interval) over test sentences",
                    "per_seed": {s: paired_f1_test(mtl_seeds[s][counts], ner_seeds[s][counts]) for s in counted},
                    "pooled": paired_f1_test(
                        [row for s in counted for row in mtl_seeds[s][counts]],
                        [row for s in counted for row in ner_seeds[s][counts]],
                    ),
                }
            deltas[f"{mtl_key}-{ner_key}"] = delta
    return deltas


def significance_sentence(name: str, delta: dict, alpha: float = SIGNIFICANCE_LEVEL) -> str:
    """One line saying whether the pooled difference is significant, with its p-value and 95% interval."""
    pooled = delta["significance"]["pooled"]
    verdict = "significant" if pooled["p_value"] < alpha else "**not** significant"
    per_seed = ", ".join(
        f"seed {s}: p = {test['p_value']:.3f}" for s, test in delta["significance"]["per_seed"].items()
    )
    return (
        f"Pooled over seeds ({pooled['sentences']:,} sentence outputs), the difference {name.replace('-', ' − ')} of "
        f"{100 * pooled['delta']:+.2f} points is {verdict} at the {alpha:.2f} level: p = {pooled['p_value']:.4f} "
        f"(approximate randomisation), 95% interval [{100 * pooled['ci95_low']:+.2f}, {100 * pooled['ci95_high']:+.2f}] "
        f"(paired bootstrap); {per_seed}."
    )


def results_markdown(results: dict[str, dict], run_info: RunInfo | None = None) -> str:
    """The comparison table, mean ± std over seeds, percentages for the scores."""
    entity_types = sorted(
        {
            name[4:-3]
            for r in results.values()
            for name in r["mean"]
            if name.startswith("ner_") and name.endswith("_f1")
        }
        - {""}
    )
    columns = [("ner_f1", "NER F1"), ("ner_precision", "NER P"), ("ner_recall", "NER R")]
    # From raw text, and on dev, where the runs have them.
    columns += [
        (name, title)
        for name, title in (
            ("raw_ner_f1", "raw NER F1"),
            ("dev_ner_f1", "dev NER F1"),
            ("dev_raw_ner_f1", "dev raw F1"),
        )
        if any(name in r["mean"] for r in results.values())
    ]
    columns += [("pos_accuracy", "POS acc")] + [(f"ner_{t}_f1", f"{t} F1") for t in entity_types]
    lines = []
    if run_info:
        lines.append(
            f"Dataset: `{run_info.dataset}`; seeds: {', '.join(next(iter(results.values()))['seeds'])}; "
            f"wall time: {(run_info.wall_seconds or 0) / 60:.1f} min; test split scores (%), mean ± std.\n"
        )
    header = ["model", *[title for _, title in columns], "train s", "train tok/s"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for key, summary in results.items():
        cells = [key]
        for name, _ in columns:
            cells.append(_mean_std(summary, name, scale=100, digits=2))
        cells.append(_mean_std(summary, "train_seconds", scale=1, digits=0))
        cells.append(_mean_std(summary, "train_tokens_per_second", scale=1, digits=0))
        lines.append("| " + " | ".join(cells) + " |")
    for metric, what in (("ner_f1", "NER F1"), ("raw_ner_f1", "Raw-text NER F1")):
        for name, delta in ner_f1_deltas(results, metric).items():
            per_seed = ", ".join(f"seed {s}: {100 * d:+.2f}" for s, d in delta["per_seed"].items())
            lines.append(
                f"\n{what} delta {name.replace('-', ' − ')}: **{100 * delta['mean']:+.2f}** points ({per_seed})."
            )
            if "significance" in delta:
                lines.append(significance_sentence(name, delta))
    return "\n".join(lines) + "\n"


def write_results(output_dir: str | Path, results: dict[str, dict], run_info: RunInfo) -> RunInfo:
    """Writes results.json (the per-model summaries), run_info.json (`run_info` with the NER F1 deltas of `results`),
    results.md and results.png; returns the run info as written."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / RESULTS_JSON).write_text(
        json.dumps(results, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    run_info = replace(
        run_info, ner_f1_deltas=ner_f1_deltas(results), raw_ner_f1_deltas=ner_f1_deltas(results, "raw_ner_f1")
    )
    run_info.write(output_dir)
    (output_dir / RESULTS_MD).write_text(results_markdown(results, run_info), encoding="utf-8")
    plot_results(results, output_dir / RESULTS_PNG)
    return run_info


def plot_results(results: dict[str, dict], path: str | Path) -> None:
    """Test NER F1 per model with error bars (std over seeds), and dev F1 per epoch (mean over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ner_models = [key for key, r in results.items() if "ner_f1" in r["mean"]]
    figure, (bars, curves) = plt.subplots(1, 2, figsize=(11, 4))
    means = [100 * results[k]["mean"]["ner_f1"] for k in ner_models]
    stds = [100 * results[k]["std"]["ner_f1"] for k in ner_models]
    bars.bar(ner_models, means, yerr=stds, capsize=6, color="#4c72b0")
    for x, (m, s) in enumerate(zip(means, stds)):
        bars.annotate(f"{m:.1f}±{s:.1f}", (x, m + s), ha="center", va="bottom", fontsize=9)
    bars.set_ylabel("test NER F1 (%)")
    bars.set_title("NER F1 per model (mean ± std over seeds)")
    if means:
        bars.set_ylim(max(0, min(means) - 10), min(100, max(means) + max(stds) + 5))
    # The dev curve holds the metric each run was selected on: from raw text, or on the corpus's morphemes.
    raw = any("raw_ner_f1" in point for key in ner_models for point in _points(results[key]["seeds"]))
    for key in ner_models:
        curve = _mean_curve(results[key]["seeds"], "raw_ner_f1" if raw else "ner_f1")
        if curve:
            curves.plot(list(curve), [100 * v for v in curve.values()], marker=".", label=key)
    what = "dev NER F1 from raw text" if raw else "dev NER F1"
    curves.set_xlabel("epoch")
    curves.set_ylabel(f"{what} (%)")
    curves.set_title(f"{what[0].upper()}{what[1:]} per epoch (mean over seeds)")
    if ner_models:
        curves.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _points(seeds: dict[str, dict]) -> list[dict]:
    return [point for metrics in seeds.values() for point in metrics.get("dev_curve", [])]


def _mean_curve(seeds: dict[str, dict], name: str) -> dict[float, float]:
    by_epoch = {}
    for point in _points(seeds):
        if name in point:
            by_epoch.setdefault(round(point["epoch"]), []).append(point[name])
    return {epoch: statistics.fmean(values) for epoch, values in sorted(by_epoch.items())}


def _mean_std(summary: dict, name: str, scale: float, digits: int) -> str:
    if name not in summary["mean"]:
        return "–"
    mean, std = scale * summary["mean"][name], scale * summary["std"][name]
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
