"""A run's input features: the tokenizer (vocabulary, eojeol features, gazetteer), the k-fold gazetteers of the
training sentences, and every split encoded as model inputs and labels."""

import hashlib
import logging
from collections import Counter
from dataclasses import replace
from pathlib import Path

import datasets

from ..data_scripts import tag_schemes
from ..data_scripts.formats import read_gazette
from ..tokenization_mtl_bilstm import NER_UNANNOTATED_TAGS, SINGLETON_MASK, Gazetteer, MTLBiLSTMTokenizer
from .arguments import DataArguments, ModelArguments
from .checks import ArgumentError
from .corpus import ANNOTATED_TYPES, unannotated_tags
from .pretrained_embeddings import read_vector_words


logger = logging.getLogger(__name__)


def keep_saved_features(model_args: ModelArguments, tokenizer: MTLBiLSTMTokenizer) -> ModelArguments:
    """`--init_from` fine-tunes the saved model with its own input features: its eojeol setting and gazetteer
    (saved with its tokenizer) replace those the arguments ask for new models, which the log says."""
    if model_args.use_eojeol_features != tokenizer.eojeol_features:
        logger.warning(
            "--init_from %s: keeping the saved model's eojeol features (%s); --use_eojeol_features=%s applies to new "
            "models only.",
            model_args.init_from,
            "on" if tokenizer.eojeol_features else "off",
            model_args.use_eojeol_features,
        )
    return replace(model_args, use_eojeol_features=tokenizer.eojeol_features)


def build_tokenizer(
    corpus,
    data_args: DataArguments,
    vectors_path: Path | None,
    eojeol_features: bool = False,
    gazetteer: Gazetteer | None = None,
) -> MTLBiLSTMTokenizer:
    """Vocabulary of the training split, plus (optionally) every morpheme of a pretrained vector file, so that
    morphemes unseen in training still get a meaningful embedding; with the input features the model will take."""
    features = {"eojeol_features": eojeol_features, "gazetteer": gazetteer}
    tokenizer = MTLBiLSTMTokenizer.build(
        corpus["train"]["tokens"], min_frequency=data_args.min_frequency, char_unit=data_args.char_unit, **features
    )
    if vectors_path is None:
        return tokenizer
    pretrained = read_vector_words(vectors_path)
    extra = [word for word in pretrained if word not in tokenizer.morpheme_to_id]
    logger.info("Vocabulary: %d training morphemes + %d from %s", tokenizer.vocab_size - 2, len(extra), vectors_path)
    return MTLBiLSTMTokenizer(
        tokenizer.id_to_morpheme[2:] + extra,
        tokenizer.id_to_char[2:],
        char_unit=tokenizer.char_unit,
        max_chars_per_morpheme=tokenizer.max_chars_per_morpheme,
        **features,
    )


def encode_corpus(
    corpus,
    tokenizer: MTLBiLSTMTokenizer,
    fold_gazetteers: list[Gazetteer] | None = None,
    singletons: set[str] | None = None,
    mark_training_sentences: bool = True,
):
    """Every split as model inputs and labels (`input_ids`, `char_ids`, the tokenizer's features from `word_ids`
    and its gazetteer, `pos_labels`, `ner_labels`). Training sentences take the gazetteer of their fold where
    `fold_gazetteers` are given (see `build_gazetteers`), and with `singletons` a `singleton_mask` (1 where the
    morpheme is one of them), which word dropout reads. Sentences of a split with `ANNOTATED_TYPES` get
    `ner_unannotated_tags`; with `mark_training_sentences=False`, training sentences get none (their `O` then
    teaches `O` for every type) except those whose entity labels are withheld (`--pos_only_corpora`)."""

    def encode(example, training=False, unannotated=None):
        gazetteer = None
        if training and fold_gazetteers is not None:
            gazetteer = fold_gazetteers[gazetteer_fold(example["text"], example["tokens"], len(fold_gazetteers))]
        encoded = tokenizer.encode(
            example["tokens"], example["pos_tags"], example["ner_tags"], example.get("word_ids"), gazetteer
        )
        if training and singletons is not None:
            encoded[SINGLETON_MASK] = [int(token in singletons) for token in example["tokens"]]
        if unannotated is not None:
            encoded[NER_UNANNOTATED_TAGS] = unannotated(example[ANNOTATED_TYPES])
        return encoded

    def unannotated_of(split: str, dataset: datasets.Dataset):
        if ANNOTATED_TYPES not in dataset.column_names:
            return None
        names = dataset.features["ner_tags"].feature.names
        if split == "train" and not mark_training_sentences:
            # O teaches O for every type, except in sentences whose entity labels are withheld (no type annotated).
            return lambda types: unannotated_tags(names, types) if not types else [0] * len(names)
        return lambda annotated_types: unannotated_tags(names, annotated_types)

    return datasets.DatasetDict(
        {
            split: dataset.map(
                encode,
                fn_kwargs={"training": split == "train", "unannotated": unannotated_of(split, dataset)},
                remove_columns=dataset.column_names,
                desc=f"Encoding {split}",
            )
            for split, dataset in corpus.items()
        }
    )


def training_singletons(corpus) -> set[str]:
    """The morphemes that occur once in the training split: those word dropout replaces. The copies of a sentence
    (its corpus and its Kiwi analyses, --analyzer both) count as one sentence, in which a morpheme occurs as often
    as in the copy that has it most."""
    per_sentence: dict[str, Counter] = {}
    train = corpus["train"]
    for text, tokens in zip(train["text"], train["tokens"]):
        seen = per_sentence.setdefault(sentence_key(text, tokens), Counter())
        seen |= Counter(tokens)
    counts = Counter()
    for seen in per_sentence.values():
        counts.update(seen)
    return {token for token, count in counts.items() if count == 1}


def build_gazetteers(corpus, data_args: DataArguments) -> tuple[Gazetteer | None, list[Gazetteer] | None]:
    """The gazetteer the model keeps (--gazetteer's entries and, with --gazetteer_from_training, the entities of
    every training sentence) and, with --gazetteer_from_training, one per fold for the training sentences: fold k's
    holds the entities of the sentences of the other folds only (and --gazetteer's). `(None, None)` without a
    gazetteer. Its types are the corpus's entity types; dictionary entries of other types are left out (logged).
    A training entity's surface is its morphemes' forms, concatenated, which is what the gazetteer matches."""
    if not data_args.gazetteer and not data_args.gazetteer_from_training:
        return None, None
    names = corpus["train"].features["ner_tags"].feature.names
    types = sorted({tag_schemes.entity_type(name) for name in names if name != tag_schemes.OUTSIDE})
    if not types:
        raise ArgumentError("--gazetteer / --gazetteer_from_training: the training split has no entity type.")
    entries = []
    if data_args.gazetteer:
        read = read_gazette(data_args.gazetteer)
        entries = [(entry.surface, entry.type) for entry in read if entry.type in types]
        left_out = Counter(entry.type for entry in read if entry.type not in types)
        logger.info(
            "Gazetteer %s: %d entries of the types %s, %d of other types left out %s",
            data_args.gazetteer,
            len(entries),
            types,
            len(read) - len(entries),
            dict(left_out),
        )
    if not data_args.gazetteer_from_training:
        return Gazetteer(types, entries), None
    folds = data_args.gazetteer_folds
    by_fold = [[] for _ in range(folds)]
    train = corpus["train"]
    for text, tokens, tags in zip(train["text"], train["tokens"], train["ner_tags"]):
        by_fold[gazetteer_fold(text, tokens, folds)] += sentence_entities(tokens, [names[tag] for tag in tags])
    fold_gazetteers = [
        Gazetteer(types, entries + [entry for other in range(folds) if other != fold for entry in by_fold[other]])
        for fold in range(folds)
    ]
    return Gazetteer(types, entries + [entry for fold_entries in by_fold for entry in fold_entries]), fold_gazetteers


def gazetteer_fold(text: str, tokens: list[str], folds: int) -> int:
    """The fold of a training sentence, from its text (its morphemes where it has none): copies of a sentence, such
    as its corpus and its Kiwi analyses (--analyzer both), share a fold, so none lends its entities to another."""
    return int.from_bytes(hashlib.sha256(sentence_key(text, tokens).encode("utf-8")).digest()[:8], "big") % folds


def sentence_key(text: str, tokens: list[str]) -> str:
    """What identifies a training sentence across its copies: its text, or its morphemes where it has none."""
    return text or " ".join(tokens)


def sentence_entities(tokens: list[str], tags: list[str]) -> list[tuple[str, str]]:
    """`(surface, type)` of the entities of a sentence with IOB2 tags (read as the metric and the predictor read
    them), the surface being the forms concatenated."""
    return [("".join(tokens[first:last]), entity_type) for entity_type, first, last in tag_schemes.iob2_spans(tags)]
