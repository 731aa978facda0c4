"""Scores from raw text during training: the predictor's entities on each sentence's raw text, scored by strict
character span (type, start, end) against the corpus's gold spans. That is what users get; the metric's scores on
the corpus's own morphemes (gold morphemes) are what the paper measures."""

from collections.abc import Sequence
from dataclasses import dataclass

import datasets
import numpy as np
import torch

from ..data_scripts.korean_ner import ENTITY_SPANS
from ..inference.morphology import KiwiMorphemeAnalyzer
from ..inference.predictor import KoreanNERPredictor
from .corpus import ANNOTATED_TYPES


# Prefix of the raw-text scores among a run's metrics: raw_ner_f1 beside ner_f1.
RAW_TEXT = "raw_"


@dataclass
class RawTextSplit:
    """The raw sentences of a split with their gold character spans and, where corpora with different entity types
    are mixed, the types each sentence's corpus annotates (predictions of other types are left out)."""

    texts: list[str]
    gold: list[set[tuple[int, int, str]]]
    annotated_types: list[set[str]] | None = None

    @classmethod
    def of(cls, dataset: datasets.Dataset) -> "RawTextSplit | None":
        """The split's raw text, or None where a sentence has no raw text or no gold spans (ner2016, CoNLL files)."""
        if ENTITY_SPANS not in dataset.column_names or not dataset.num_rows:
            return None
        texts, spans = dataset["text"], dataset[ENTITY_SPANS]
        if not all(texts) or any(sentence_spans is None for sentence_spans in spans):
            return None
        gold = [{(span["start"], span["end"], span["type"]) for span in sentence} for sentence in spans]
        annotated = None
        if ANNOTATED_TYPES in dataset.column_names:
            annotated = [set(types) for types in dataset[ANNOTATED_TYPES]]
        return cls(texts, gold, annotated)


def spans_of_types(spans: Sequence[set], types: set[str]) -> list[set]:
    """Each sentence's `(start, end, type)` spans, those of `types` only."""
    return [{span for span in sentence if span[2] in types} for sentence in spans]


def span_counts(gold: Sequence[set], predicted: Sequence[set]) -> list[list[int]]:
    """`[correct, predicted, gold]` entity counts of each sentence, as `significance.paired_f1_test` takes them."""
    return [[len(g & p), len(p), len(g)] for g, p in zip(gold, predicted, strict=True)]


def scores_of_counts(counts: Sequence[Sequence[int]]) -> dict[str, float]:
    """Micro-averaged `ner_precision`, `ner_recall` and `ner_f1` of per-sentence counts."""
    correct, predicted, gold = np.asarray(counts, dtype=np.int64).reshape(-1, 3).sum(axis=0)
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"ner_precision": float(precision), "ner_recall": float(recall), "ner_f1": float(f1)}


class RawTextEvaluator:
    """Runs a model being trained as `KoreanNERPredictor` runs it on a split's raw text and scores its entities.

    Args:
        split: the raw sentences and their gold spans.
        tokenizer: the run's tokenizer (its gazetteer and eojeol features, as the saved model will have them).
        analyzer: the Kiwi analyser; the predictor's default set-up where None.
        batch_size: sentences per forward pass.
    """

    def __init__(
        self, split: RawTextSplit, tokenizer, analyzer: KiwiMorphemeAnalyzer | None = None, batch_size: int = 128
    ):
        self.split = split
        self.tokenizer = tokenizer
        self.analyzer = analyzer or KiwiMorphemeAnalyzer()
        self.batch_size = batch_size
        self.counts: list[list[int]] | None = None  # of the last call, for the paired significance test

    @torch.no_grad()
    def __call__(self, model) -> dict[str, float]:
        """`raw_ner_precision`, `raw_ner_recall`, `raw_ner_f1` of `model`, which is left in the mode it was in."""
        was_training = model.training
        try:
            predictor = KoreanNERPredictor(
                model, self.tokenizer, analyzer=self.analyzer, batch_size=self.batch_size, device=model.device
            )
            outputs = predictor(self.split.texts)
        finally:
            model.train(was_training)
        predicted = []
        for index, output in enumerate(outputs):
            kept = self.split.annotated_types[index] if self.split.annotated_types is not None else None
            predicted.append(
                {(e["start"], e["end"], e["type"]) for e in output["entities"] if kept is None or e["type"] in kept}
            )
        self.counts = span_counts(self.split.gold, predicted)
        return {f"{RAW_TEXT}{name}": value for name, value in scores_of_counts(self.counts).items()}
