"""What the predictor (`predictor.KoreanNERPredictor`) gives out: the model's tags of a sentence, the texts in the
pipeline until all their sentences are tagged, their results (entities and tokens with character offsets) in input
order, and those results as the `token-classification` pipeline gives them.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ..data_scripts.tag_schemes import iob2_spans
from .morphology import AnalysedBlock, Morpheme


@dataclass
class SentenceTags:
    """The model's tags for one sentence: POS tags (`None` for a model without a POS head), NER tags, and
    the model's probability of each NER tag."""

    pos: list[str] | None
    ner: list[str]
    ner_scores: list[float]


@dataclass
class Document:
    """A text in the pipeline: its sentences so far, their tags so far, and whether all its blocks are in."""

    text: str
    sentences: list[list[Morpheme]] = field(default_factory=list)
    tags: list[SentenceTags] = field(default_factory=list)
    complete: bool = False

    def add(self, block: AnalysedBlock):
        self.sentences += block.sentences
        self.complete = block.last

    @property
    def finished(self) -> bool:
        return self.complete and len(self.tags) == len(self.sentences)


def finished_results(documents: list[Document], predictor) -> Iterator[dict]:
    """Yields (and removes) the results of the leading documents that are finished, in order, each made by
    `predictor.result` (a `KoreanNERPredictor`'s)."""
    done = 0
    while done < len(documents) and documents[done].finished:
        document = documents[done]
        yield predictor.result(document.text, document.sentences, document.tags)
        done += 1
    del documents[:done]


def text_result(text: str, sentences: Sequence[Sequence[Morpheme]], tags: Sequence[SentenceTags]) -> dict:
    """The output dict of one text (see `KoreanNERPredictor`) from its sentences and their tags."""
    entities, tokens = [], []
    for sentence, sentence_tags in zip(sentences, tags):
        pos_tags = sentence_tags.pos if sentence_tags.pos is not None else [m.tag for m in sentence]
        for morpheme, pos_tag, ner_tag in zip(sentence, pos_tags, sentence_tags.ner):
            tokens.append(
                {
                    "form": morpheme.form,
                    "start": morpheme.start,
                    "end": morpheme.end,
                    "pos": pos_tag,
                    "ner": ner_tag,
                    "kiwi_tag": morpheme.kiwi_tag,
                }
            )
        for entity_type, first, last in iob2_spans(sentence_tags.ner):
            start = min(morpheme.start for morpheme in sentence[first:last])
            end = max(morpheme.end for morpheme in sentence[first:last])
            if end > start:  # a span of zero-width morphemes only has no text to show
                score = sum(sentence_tags.ner_scores[first:last]) / (last - first)
                entities.append(
                    {"text": text[start:end], "type": entity_type, "start": start, "end": end, "score": score}
                )
    return {"text": text, "entities": entities, "tokens": tokens}


def token_classification_entities(result: dict) -> list[dict]:
    """A predictor result's entities as the `token-classification` pipeline gives them (`aggregation_strategy=
    "simple"`)."""
    return [
        {
            "entity_group": entity["type"],
            "score": entity["score"],
            "word": entity["text"],
            "start": entity["start"],
            "end": entity["end"],
        }
        for entity in result["entities"]
    ]
