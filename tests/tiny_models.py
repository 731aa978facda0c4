"""Tiny taggers for the tests: trained in about a second until they tag their sentences as marked, so that tests of
the predictor, the demo and the benchmarks can check real entities."""

from pathlib import Path

import torch
from conftest import TINY_MODEL_CONFIG

from modeling_mtl_bilstm import MTLBiLSTMConfig, MTLBiLSTMForTokenClassification, MTLBiLSTMTokenizer
from modeling_mtl_bilstm.data_scripts.formats import parse_entity_marks


# Random-weight models for the model tests: sizes all different, so a wrong dimension fails loudly; no dropout.
RANDOM_MODEL_SIZES = {
    "embedding_dim": 8,
    "char_embedding_dim": 4,
    "char_cnn_filters": 6,
    "shared_hidden_size": 10,
    "pos_hidden_size": 6,
    "ner_hidden_size": 7,
    "dropout": 0.0,
}
POS_TAGS = {0: "NNG", 1: "NNP", 2: "JKS", 3: "VV", 4: "EF"}
NER_TAGS = {0: "O", 1: "B-PS", 2: "I-PS", 3: "B-LC", 4: "I-LC"}


def unmark(marked: str) -> tuple[str, list[tuple[str, str, int, int]]]:
    """The plain text of a sentence marked `<surface:TYPE>` (as the KLP 2016 `$` lines and the sample's
    sentences.txt mark them) and its entities as (surface, type, start, end)."""
    text, spans = parse_entity_marks(marked)
    return text, [(text[span.start : span.end], span.type, span.start, span.end) for span in spans]


def train_tagger(
    directory: Path,
    tokens: list[list[str]],
    pos_tags: list[list[str]],
    ner_tags: list[list[str]],
    ner_labels: list[str] | None = None,
    steps: int = 150,
) -> Path:
    """Saves into `directory` a tiny multi-task model (CRF NER head, syllable CNN) and its tokenizer, trained with
    full batches on the given sentences; `ner_labels` default to the tags seen."""
    tokenizer = MTLBiLSTMTokenizer.build(tokens)
    config = MTLBiLSTMConfig(
        **TINY_MODEL_CONFIG,
        vocab_size=tokenizer.vocab_size,
        char_vocab_size=tokenizer.char_vocab_size,
        dropout=0.0,
        pos_id2label=dict(enumerate(sorted({tag for tags in pos_tags for tag in tags}))),
        ner_id2label=dict(enumerate(ner_labels or sorted({tag for tags in ner_tags for tag in tags}))),
    )
    torch.manual_seed(0)
    model = MTLBiLSTMForTokenClassification(config).train()
    batch = tokenizer(
        tokens,
        pos_tags=[[config.pos_label2id[t] for t in tags] for tags in pos_tags],
        ner_tags=[[config.ner_label2id[t] for t in tags] for tags in ner_tags],
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        optimizer.zero_grad()
        model(**batch).loss.backward()
        optimizer.step()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def train_marked_model(directory: Path, analyzer, marked_sentences: list[str]) -> Path:
    """A tiny tagger of Kiwi's analysis of `marked_sentences` (one sentence each), with Kiwi's POS tags and the
    marked entities as IOB2 tags of the morphemes that start inside them."""
    tokens, pos_tags, ner_tags = [], [], []
    for marked in marked_sentences:
        text, entities = unmark(marked)
        (morphemes,) = analyzer.analyze([text])[0]
        tokens.append([m.form for m in morphemes])
        pos_tags.append([m.tag for m in morphemes])
        tags, previous = [], None
        for morpheme in morphemes:
            entity = next((e for e in entities if e[2] <= morpheme.start < e[3]), None)
            tags.append("O" if entity is None else ("I-" if entity == previous else "B-") + entity[1])
            previous = entity
        ner_tags.append(tags)
    return train_tagger(directory, tokens, pos_tags, ner_tags)
