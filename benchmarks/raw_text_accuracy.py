#!/usr/bin/env python
"""Entity F1 of a trained model on raw text, as deployed, beside its F1 on the corpus's gold morphemes.

    python benchmarks/raw_text_accuracy.py --model_dir runs/klp2016/best_model --data_dir ../shared/data/klp2016 \
        --split test --output benchmarks/results/raw_text_accuracy.json

* Raw text: `KoreanNERPredictor` on each sentence's raw text (the `;` line), analysed by Kiwi. Its entities are
  scored against the entities marked on the `$` line by strict span match: a predicted entity is correct when
  its start, end (character offsets) and type all equal a gold entity's.
* Gold morphemes: the predictor's model-only path (`predict_morphemes`, with the corpus's eojeol index) on the
  corpus's own morphemes, scored as metrics/korean_ner_pos scores it: seqeval entities in strict IOB2 mode (an
  `I-` that continues no entity starts none). Precision, recall and F1 are micro averages over entities, overall and per type.
* Segmentation: a gold entity with a boundary strictly inside one of Kiwi's morphemes (중국 in 중국인/NNG)
  cannot be found exactly by any tagger of Kiwi's morphemes. Their number bounds raw-text recall. Setting
  them aside (with the predictions that overlap them) gives the raw-text F1 on the reachable entities; the
  gap splits into the part that this removes (segmentation) and the rest (the model reads Kiwi's morphemes,
  not the corpus's).

Sentences whose `$` line does not align with their `;` line are left out of both scores, counted, and located
by file line in the result. Corpus text (misaligned lines, unreachable entities) is quoted only with
--examples N: KLP 2016 may not be redistributed, so results meant for the repository leave it at 0. Without
--model_dir only the segmentation figures are computed: they need no model. The JSON goes to stdout (and
--output), the side-by-side table to stderr.
"""

import argparse
import importlib.metadata
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from benchmark_common import add_common_arguments, emit, environment, setup_torch

from modeling_mtl_bilstm import KiwiMorphemeAnalyzer, KoreanNERPredictor
from modeling_mtl_bilstm.data_scripts.formats import load_entity_spans
from modeling_mtl_bilstm.data_scripts.korean_ner import SAMPLE_DIR, find_split_files
from modeling_mtl_bilstm.data_scripts.span_projection import morpheme_cuts
from modeling_mtl_bilstm.data_scripts.tag_schemes import TagSequenceError, iob2_spans, to_iob2


SPLITS = ("train", "validation", "test")


class Span(NamedTuple):
    start: int
    end: int
    type: str


class _Token(NamedTuple):
    start: int
    end: int


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument(
        "--model_dir",
        default=None,
        help="A folder saved by examples/train.py (best_model/). Without it, only the segmentation figures.",
    )
    parser.add_argument("--split", choices=SPLITS, default="test", help="Split to score (default: test).")
    parser.add_argument("--batch_size", type=int, default=64, help="Sentences per forward pass (default: 64).")
    parser.add_argument(
        "--examples",
        type=int,
        default=0,
        help="Quote up to N misaligned lines and unreachable entities (corpus text; default: 0).",
    )
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.examples < 0:
        parser.error(f"--batch_size, --examples: expected >= 1, >= 0; received {args.batch_size}, {args.examples}.")
    return args


def split_file(args: argparse.Namespace) -> Path:
    folder = SAMPLE_DIR if args.dataset == "sample" else args.data_dir
    try:
        files = find_split_files(Path(folder))
    except FileNotFoundError as error:
        raise SystemExit(
            f"--data_dir {folder}: {error}. Point --data_dir at the corpus, or use --dataset sample."
        ) from None
    if args.split not in files:
        raise SystemExit(f"{folder}: no {args.split} file; found the splits {', '.join(files)}.")
    return Path(files[args.split][0])


def span_scores(gold: Sequence[set], predicted: Sequence[set]) -> dict:
    """Micro-averaged precision, recall and F1 of exact matches, overall and per type, with the counts."""
    counts = {"gold": Counter(), "predicted": Counter(), "correct": Counter()}
    for gold_spans, predicted_spans in zip(gold, predicted, strict=True):
        counts["gold"].update(span.type for span in gold_spans)
        counts["predicted"].update(span.type for span in predicted_spans)
        counts["correct"].update(span.type for span in gold_spans & predicted_spans)
    types = sorted(counts["gold"] | counts["predicted"])
    result = {"overall": _prf({name: sum(counter.values()) for name, counter in counts.items()})}
    result["per_type"] = {t: _prf({name: counter[t] for name, counter in counts.items()}) for t in types}
    return result


def _prf(counts: dict) -> dict:
    precision = counts["correct"] / counts["predicted"] if counts["predicted"] else 0.0
    recall = counts["correct"] / counts["gold"] if counts["gold"] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, **counts}


def iob2_entities(tag_sequences: Sequence[Sequence[str]]) -> list[set]:
    """The entities of each sentence as the metric reads them in strict IOB2 mode (morpheme offsets)."""
    return [
        {Span(first, last, entity_type) for entity_type, first, last in iob2_spans(tags)} for tags in tag_sequences
    ]


def gold_iob2(sentence) -> list[str]:
    """The IOB2 tags of a KLP sentence's morpheme lines; a tag sequence the KLP style forbids stops the run."""
    try:
        return to_iob2(sentence.ner_tags, "klp")
    except TagSequenceError as error:
        line = sentence.lines[error.position]
        raise SystemExit(
            f"{sentence.path}, line {line.number}: expected {error.expected}; found {error.found}."
        ) from None


def segmentation(
    sentences: Sequence, gold: Sequence[set], tokens: Sequence[Sequence[dict]], examples: int = 0
) -> tuple[list[set], dict]:
    """The gold entities with a boundary inside one of Kiwi's morphemes, per sentence, and their counts."""
    unreachable = []
    for gold_spans, sentence_tokens in zip(gold, tokens, strict=True):
        morphemes = [_Token(token["start"], token["end"]) for token in sentence_tokens]
        unreachable.append({span for span in gold_spans if any(morpheme_cuts(m, span) for m in morphemes)})
    total = sum(map(len, gold))
    count = sum(map(len, unreachable))
    recall_bound = 1 - count / total if total else 0.0
    return unreachable, {
        "gold_entities": total,
        "boundary_inside_kiwi_morpheme": count,
        "boundary_inside_kiwi_morpheme_by_type": dict(sorted(Counter(s.type for u in unreachable for s in u).items())),
        "raw_text_recall_bound": recall_bound,
        # A tagger that finds every reachable entity and nothing else.
        "raw_text_f1_bound": 2 * recall_bound / (1 + recall_bound) if recall_bound else 0.0,
        "examples": [
            {"entity": sentence.text[span.start : span.end], "type": span.type, "sentence": sentence.text}
            for sentence, spans in zip(sentences, unreachable)
            for span in sorted(spans)
        ][:examples],
    }


def without_unreachable(gold: Sequence[set], predicted: Sequence[set], unreachable: Sequence[set]):
    """Gold without the unreachable entities, predictions without those overlapping one."""
    kept_gold = [spans - skipped for spans, skipped in zip(gold, unreachable)]
    kept_predicted = [
        {p for p in spans if not any(p.start < u.end and u.start < p.end for u in skipped)}
        for spans, skipped in zip(predicted, unreachable)
    ]
    return kept_gold, kept_predicted


def run(args: argparse.Namespace) -> dict:
    device = setup_torch(args)
    path = split_file(args)
    sentences, errors = load_entity_spans(path, errors="collect")
    if not sentences:
        raise SystemExit(f"{path}: no sentence whose '$' line aligns with its ';' line ({len(errors)} misaligned).")

    settings = {
        "model_dir": None if args.model_dir is None else str(args.model_dir),
        "dataset": args.dataset,
        "split": args.split,
        "file": path.name,
        "batch_size": args.batch_size,
        "kiwi_versions": _kiwi_versions(),
    }
    result = {
        "settings": settings,
        "environment": environment(device),
        "sentences": len(sentences),
        "misaligned_sentences": {
            "count": len(errors),
            "lines": [error.line_number for error in errors],
            "examples": [str(error) for error in errors[: args.examples]],
        },
    }
    gold_spans = [{Span(*entity) for entity in sentence.entities} for sentence in sentences]
    if args.model_dir is None:
        # The predictor's analysis: its default analyser, all sentences of each text.
        documents = KiwiMorphemeAnalyzer().analyze([sentence.text for sentence in sentences])
        tokens = [[{"start": m.start, "end": m.end} for part in document for m in part] for document in documents]
        result["segmentation"] = segmentation(sentences, gold_spans, tokens, args.examples)[1]
        return result

    predictor = KoreanNERPredictor.from_pretrained(args.model_dir, device=device, batch_size=args.batch_size)
    started = time.perf_counter()
    results = predictor([sentence.text for sentence in sentences])
    raw_seconds = time.perf_counter() - started
    predicted_spans = [{Span(e["start"], e["end"], e["type"]) for e in output["entities"]} for output in results]
    raw = span_scores(gold_spans, predicted_spans)

    morphemes = [sentence.sentence.tokens for sentence in sentences]
    gold_tags = [gold_iob2(sentence.sentence) for sentence in sentences]
    started = time.perf_counter()
    # The predictor's model-only path computes the model's input features (eojeol positions from the corpus's
    # eojeol index, gazetteer matches) as training did.
    word_ids = [sentence.sentence.word_ids for sentence in sentences]
    predicted_tags = [ner for _, ner in predictor.predict_morphemes(morphemes, word_ids)]
    morpheme_seconds = time.perf_counter() - started
    on_gold_morphemes = span_scores(iob2_entities(gold_tags), iob2_entities(predicted_tags))

    tokens = [output["tokens"] for output in results]
    unreachable, segmentation_figures = segmentation(sentences, gold_spans, tokens, args.examples)
    reachable = span_scores(*without_unreachable(gold_spans, predicted_spans, unreachable))
    raw_f1, gold_f1 = raw["overall"]["f1"], on_gold_morphemes["overall"]["f1"]
    reachable_f1 = reachable["overall"]["f1"]
    gap = {
        "f1": gold_f1 - raw_f1,
        "segmentation": reachable_f1 - raw_f1,
        "other": gold_f1 - reachable_f1,
        "per_type_f1": {
            t: on_gold_morphemes["per_type"].get(t, {"f1": 0.0})["f1"] - raw["per_type"].get(t, {"f1": 0.0})["f1"]
            for t in sorted(raw["per_type"].keys() | on_gold_morphemes["per_type"].keys())
        },
    }
    return {
        **result,
        "raw_text": raw,
        "gold_morphemes": on_gold_morphemes,
        "raw_text_reachable_only": reachable,
        "gap": gap,
        "segmentation": segmentation_figures,
        "seconds": {"raw_text": raw_seconds, "gold_morphemes": morpheme_seconds},
    }


def _kiwi_versions() -> dict[str, str | None]:
    versions = {}
    for package in ("kiwipiepy", "kiwipiepy_model"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def table(result: dict) -> str:
    if "raw_text" not in result:
        return segmentation_note(result)
    raw, gold = result["raw_text"], result["gold_morphemes"]
    header = f"{'type':<8}{'gold':>6}  {'raw text P/R/F1 (%)':>22}  {'gold morphemes P/R/F1 (%)':>27}  {'F1 gap':>7}"
    lines = [f"{result['settings']['dataset']} {result['settings']['split']}: {result['sentences']} sentences", header]
    rows = [(t, raw["per_type"].get(t), gold["per_type"].get(t)) for t in sorted(result["gap"]["per_type_f1"])]
    for name, raw_scores, gold_scores in [*rows, ("all", raw["overall"], gold["overall"])]:
        cells = [_cell(scores) for scores in (raw_scores, gold_scores)]
        gold_count = (raw_scores or {}).get("gold", 0)
        gap = 100 * ((gold_scores or {}).get("f1", 0.0) - (raw_scores or {}).get("f1", 0.0))
        lines.append(f"{name:<8}{gold_count:>6}  {cells[0]:>22}  {cells[1]:>27}  {gap:>7.2f}")
    gap = result["gap"]
    share = gap["segmentation"] / gap["f1"] if gap["f1"] > 0 else None
    lines += [
        "",
        segmentation_note(result),
        f"F1 gap {100 * gap['f1']:.2f} points: {100 * gap['segmentation']:.2f} from entities no tagger of Kiwi's "
        f"morphemes can find exactly"
        + (f" ({100 * share:.0f}% of the gap)" if share is not None else "")
        + f", {100 * gap['other']:.2f} from the rest (Kiwi's morphemes are not the corpus's).",
    ]
    return "\n".join(lines)


def segmentation_note(result: dict) -> str:
    figures = result["segmentation"]
    note = (
        f"Segmentation ({result['settings']['dataset']} {result['settings']['split']}, {result['sentences']} sentences): "
        f"{figures['boundary_inside_kiwi_morpheme']} of {figures['gold_entities']} gold entities have a boundary inside "
        f"a Kiwi morpheme; raw-text recall is at most {100 * figures['raw_text_recall_bound']:.2f}%, "
        f"F1 at most {100 * figures['raw_text_f1_bound']:.2f}%."
    )
    if result["misaligned_sentences"]["count"]:
        note += f"\nLeft out: {result['misaligned_sentences']['count']} sentences whose '$' line does not align."
    return note


def _cell(scores: dict | None) -> str:
    if scores is None:
        return "-"
    return " / ".join(f"{100 * scores[name]:.2f}" for name in ("precision", "recall", "f1"))


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_args(argv)
    result = run(args)
    print(table(result), file=sys.stderr)
    emit(result, args.output)
    return result


if __name__ == "__main__":
    main()
