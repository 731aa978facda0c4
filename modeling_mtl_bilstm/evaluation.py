"""A saved model scored as users run it, on the raw sentences of corpora it may never have seen: what
`mtl-bilstm-ner evaluate` writes (evaluation.json beside the model) and the model card shows.

The predictor tags each raw sentence of a corpus split; its entities are scored by strict character span (type,
start, end) against the corpus's gold spans, over the entity types that both the corpus annotates and the model
knows (a model trained without KLUE knows no QT; KLP 2016 annotates none). The time the predictor takes over the
split, Kiwi included, gives the sentences per second a user sees on this machine.
"""

import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from .data_scripts.tag_schemes import OUTSIDE, entity_type


EVALUATION_JSON = "evaluation.json"
WARM_UP_TEXT = "세종대왕은 1443년에 훈민정음을 창제했다."


class EvaluationError(ValueError):
    """A corpus split that cannot be scored from raw text."""


@dataclass
class CorpusScores:
    """The scores of one model on one corpus split.

    Attributes:
        corpus, split: the corpus (`load_korean_ner` name) and its split.
        entity_types: the types scored: those the corpus annotates and the model knows.
        sentences, gold_entities: the split's size, entities of `entity_types` only.
        precision, recall, f1: strict character-span scores, micro-averaged over the split.
        f1_per_type: F1 of each type of `entity_types`.
        sentences_per_second: raw sentences tagged per second, Kiwi's analysis included.
    """

    corpus: str
    split: str
    entity_types: list[str]
    sentences: int
    gold_entities: int
    precision: float
    recall: float
    f1: float
    f1_per_type: dict[str, float] = field(default_factory=dict)
    sentences_per_second: float = 0.0


def corpus_split_text(corpus: str, data_dir: str | None, split: str = "test"):
    """(raw sentences, gold character spans, entity types annotated) of a corpus split, read by `load_korean_ner`;
    raises `EvaluationError` where the split is missing or has no raw text (ner2016 gives none)."""
    from .data import load_korean_ner
    from .training.corpus import corpus_entity_types
    from .training.raw_text import RawTextSplit

    loaded = load_korean_ner(corpus, data_dir=data_dir)
    if split not in loaded:
        raise EvaluationError(f"{corpus}: expected a {split!r} split, received the splits {sorted(loaded)}")
    raw = RawTextSplit.of(loaded[split])
    if raw is None:
        raise EvaluationError(
            f"{corpus} {split}: expected raw sentences with gold character spans, received a split without them "
            "(its source gives morphemes only); it can be scored on gold morphemes by training, not from raw text"
        )
    return raw.texts, raw.gold, set(corpus_entity_types(loaded))


def score_spans(
    gold: Sequence[set[tuple[int, int, str]]], predicted: Sequence[set[tuple[int, int, str]]], types: set[str]
) -> dict:
    """Micro-averaged precision, recall and F1 of strict (start, end, type) spans of `types`, overall and per type
    (`f1_per_type`), and the number of gold entities."""
    from .training.raw_text import scores_of_counts, span_counts, spans_of_types

    counts = span_counts(spans_of_types(gold, types), spans_of_types(predicted, types))
    scores = scores_of_counts(counts)
    per_type = {
        entity: scores_of_counts(span_counts(spans_of_types(gold, {entity}), spans_of_types(predicted, {entity})))
        for entity in sorted(types)
    }
    return {
        "precision": scores["ner_precision"],
        "recall": scores["ner_recall"],
        "f1": scores["ner_f1"],
        "gold_entities": sum(row[2] for row in counts),
        "f1_per_type": {entity: entity_scores["ner_f1"] for entity, entity_scores in per_type.items()},
    }


def evaluate_predictor(
    predictor, corpora: Sequence[tuple[str, str | None]], split: str = "test"
) -> list[CorpusScores]:
    """Scores `predictor` (a `KoreanNERPredictor`, either backend) on the raw sentences of `split` of each
    `(corpus, data_dir)` of `corpora` (data_dir None for the bundled `sample`)."""
    known = {entity_type(label) for label in predictor.ner_id2label.values() if label != OUTSIDE}
    # Kiwi's model and the backend load on the first call: the speeds are those of a predictor already running.
    predictor(WARM_UP_TEXT)
    results = []
    for corpus, data_dir in corpora:
        texts, gold, annotated = corpus_split_text(corpus, data_dir, split)
        started = time.perf_counter()
        outputs = predictor(texts)
        seconds = time.perf_counter() - started
        predicted = [{(e["start"], e["end"], e["type"]) for e in output["entities"]} for output in outputs]
        types = annotated & known
        results.append(
            CorpusScores(
                corpus=corpus,
                split=split,
                entity_types=sorted(types),
                sentences=len(texts),
                sentences_per_second=len(texts) / seconds if seconds else 0.0,
                **score_spans(gold, predicted, types),
            )
        )
    return results


def write_evaluation(results: Sequence[CorpusScores], path: str | Path, *, setting: dict) -> Path:
    """Writes evaluation.json: the scores, the date, and `setting` (backend, batch size, threads) beside this
    machine's description, which the speeds depend on."""
    path = Path(path)
    record = {
        "date": date.today().isoformat(),
        "setting": setting,
        "machine": {"processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()},
        "results": [asdict(result) for result in results],
    }
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_evaluation(path: str | Path) -> dict | None:
    """evaluation.json as written by `write_evaluation`, or None where there is none."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
