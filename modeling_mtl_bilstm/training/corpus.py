"""The training corpus of a run: --dataset with its Kiwi analyses, the --extra_train_corpora and the
--pos_only_corpora under one label set, each sentence marked with the entity types its corpus annotates where they
differ, and the training subsets of --max_train_sentences."""

import hashlib
import importlib.util
import logging

import datasets

from ..data import load_korean_ner
from ..data_scripts import tag_schemes
from ..data_scripts.korean_ner import ENTITY_SPANS, KoreanNER, shared_label_names
from ..inference.morphology import KOREAN_EXTRA_INSTALL
from .arguments import DataArguments
from .checks import ArgumentError


logger = logging.getLogger(__name__)


# The column of a mixed corpus's sentences that lists the entity types their corpus annotates.
ANNOTATED_TYPES = "annotated_types"


def load_data(data_args: DataArguments, pos_labels: list[str] | None = None):
    """The corpus of --dataset, with Kiwi's analysis of its training sentences (--analyzer) and the
    --extra_train_corpora, all under one set of label names (POS labels `pos_labels` where given: a fine-tuned model
    keeps its tag ids), entity types limited to --ner_types.

    An extra corpus with a test split of its own (klp2016, klue, sample) lends its training split to training and
    its validation split to model selection, and keeps its test split unseen; one without (ner2016) is training
    data whole. Where the corpora annotate different entity types (QT only in KLUE), every sentence carries the
    types its corpus annotates (`ANNOTATED_TYPES`): the loss does not teach `O` for the others (see
    --unannotated_entity_types) and scores leave them out. The --pos_only_corpora join the training split the same
    way (their training split, or every split of a corpus without a test split), with their entity labels
    withheld: they annotate no entity type, so they train a multi-task model through its POS loss alone."""
    data_files = None
    if data_args.dataset == "conll":
        data_files = {
            split: path
            for split, path in (
                ("train", data_args.train_file),
                ("validation", data_args.validation_file),
                ("test", data_args.test_file),
            )
            if path
        }

    def load(name=data_args.dataset, data_dir=data_args.data_dir, files=data_files, **kwargs):
        return load_korean_ner(name, data_dir=data_dir, data_files=files, **kwargs)

    sources = ANALYSES[resolved_analyzer(data_args.dataset, data_args.analyzer)]
    extras = [parse_corpus_argument(argument) for argument in data_args.extra_train_corpora]
    extra_sources = [ANALYSES[resolved_extra_analyzer(name, data_args.extra_corpora_analyzer)] for name, _ in extras]
    pos_only = [parse_corpus_argument(argument, "--pos_only_corpora") for argument in data_args.pos_only_corpora]
    fixed = {"pos_labels": pos_labels} if pos_labels else {}
    if len(sources) == 1 and sources[0] == {} and not extras and not pos_only:
        corpus = load(**fixed)
        if data_args.max_train_sentences is not None:
            corpus["train"] = nested_subset([corpus["train"]], data_args.max_train_sentences)
    else:
        main_first = [load(**kwargs) for kwargs in sources]
        extras_first = [
            [load(name, path, None, **kwargs) for kwargs in analyses]
            for (name, path), analyses in zip(extras, extra_sources)
        ]
        pos_only_first = [load(name, path, None) for name, path in pos_only]
        labels = {
            **shared_label_names(*main_first, *(part for parts in extras_first for part in parts), *pos_only_first),
            **fixed,
        }
        types = [corpus_entity_types(first) for first in main_first[:1] + [parts[0] for parts in extras_first]]
        types += [()] * len(pos_only)
        mark = (lambda dataset, _: dataset) if len(set(types)) == 1 else with_annotated_types
        corpus = datasets.DatasetDict({split: mark(d, types[0]) for split, d in load(**labels).items()})
        train = [
            mark(analysis["train"], types[0]) for analysis in sharing_text([load(**kw, **labels) for kw in sources])
        ]
        validation = [corpus["validation"]] if "validation" in corpus else []
        for (name, path), analyses, extra_types in zip(extras, extra_sources, types[1:]):
            loaded = sharing_text([load(name, path, None, **kwargs, **labels) for kwargs in analyses])
            if "test" in loaded[0]:  # the corpus's own morphemes
                validation += [mark(loaded[0]["validation"], extra_types)] if "validation" in loaded[0] else []
            for extra in loaded:
                parts = [extra["train"]] if "test" in extra else list(extra.values())
                train += [mark(part, extra_types) for part in parts]
        if data_args.max_train_sentences is not None:
            train = [nested_subset(train, data_args.max_train_sentences)]
        for name, path in pos_only:  # whole, whatever --max_train_sentences keeps of the labelled sentences
            unlabelled = load(name, path, None, **labels)
            parts = [unlabelled["train"]] if "test" in unlabelled else list(unlabelled.values())
            train += [mark(without_entity_labels(part), ()) for part in parts]
        corpus["train"] = datasets.concatenate_datasets(train)
        if validation:
            corpus["validation"] = datasets.concatenate_datasets(validation)
    if "validation" not in corpus:
        raise ArgumentError(
            f"The {data_args.dataset} corpus has no validation split: best-on-dev selection needs one."
        )
    if data_args.ner_types:
        corpus = keep_entity_types(corpus, data_args.ner_types)
    return corpus


# Keyword arguments of each load of --dataset whose training split is used, per --analyzer.
ANALYSES = {"corpus": [{}], "kiwi": [{"analyzer": "kiwi"}], "both": [{}, {"analyzer": "kiwi"}]}


# The layouts whose training sentences `auto` also gives as Kiwi analyses them: raw sentences (klp), or the
# corpus's own Sejong morphemes that Kiwi rebuilds a text from (ner2016). KLUE's morphemes are Kiwi's already.
AUTO_BOTH_FORMATS = ("klp", "ner2016")


def resolved_analyzer(dataset: str, analyzer: str, flag: str = "--analyzer") -> str:
    """`analyzer`, with `"auto"` made `both` for a corpus of `AUTO_BOTH_FORMATS` and `corpus` otherwise, or where
    kiwipiepy is not installed (as raw-text scoring, which then falls back to gold morphemes). KLUE, whose morphemes
    are Kiwi's analysis already, loads once (`corpus`) whatever was asked. `flag` names the option in the log."""
    file_format = next((c.file_format for c in KoreanNER.BUILDER_CONFIGS if c.name == dataset), None)
    if file_format == "klue":
        return "corpus"
    if analyzer != "auto":
        return analyzer
    resolved = "both" if file_format in AUTO_BOTH_FORMATS else "corpus"
    if resolved == "both" and importlib.util.find_spec("kiwipiepy") is None:
        logger.warning(
            "%s auto: kiwipiepy is not installed (%s), so the %s corpus trains on its own morphemes only.",
            flag,
            KOREAN_EXTRA_INSTALL,
            dataset,
        )
        resolved = "corpus"
    logger.info("%s auto: %s for the %s corpus.", flag, resolved, dataset)
    return resolved


def resolved_extra_analyzer(name: str, analyzer: str) -> str:
    """--extra_corpora_analyzer for the extra corpus `name`, resolved as --analyzer is (`resolved_analyzer`)."""
    return resolved_analyzer(name, analyzer, "--extra_corpora_analyzer")


def sharing_text(analyses: list[datasets.DatasetDict]) -> list[datasets.DatasetDict]:
    """The loads of one corpus (its own morphemes first, then Kiwi's analysis where --analyzer asks for it), the first
    given the text Kiwi rebuilt for the second (matched by split and id) where the corpus has no raw text of its own
    (ner2016, CoNLL files): both copies of a sentence then share a gazetteer fold (`features.gazetteer_fold`), so
    neither lends its entities to the other, and a place in --max_train_sentences' subsets."""
    own, *reanalysed = analyses
    if not reanalysed or any(text for split in own.values() for text in split["text"]):
        return analyses
    rebuilt = {split: dict(zip(part["id"], part["text"])) for split, part in reanalysed[0].items()}
    own = datasets.DatasetDict(
        {
            split: part.map(
                lambda example, texts: {"text": texts.get(example["id"], "")},
                fn_kwargs={"texts": rebuilt.get(split, {})},
                desc="Copying the rebuilt raw text",
            )
            for split, part in own.items()
        }
    )
    return [own, *reanalysed]


def without_entity_labels(dataset: datasets.Dataset) -> datasets.Dataset:
    """`dataset` with its entity labels withheld: every NER tag `O` and no gold spans (for POS-only training text,
    which annotates no entity type)."""
    outside = dataset.features["ner_tags"].feature.str2int(tag_schemes.OUTSIDE)
    return dataset.map(
        lambda example: {"ner_tags": [outside] * len(example["ner_tags"]), ENTITY_SPANS: None},
        features=dataset.features,
        desc="Withholding entity labels",
    )


def nested_subset(parts: list[datasets.Dataset], size: int) -> datasets.Dataset:
    """`size` training sentences drawn from `parts` (one per corpus) in proportion to their sizes, the same for every
    seed and model, and nested: the subset of 250 sentences lies inside the subset of 500.

    Each sentence gets a fixed place in [0, 1): its rank within its part, in the order of a hash of its text (its
    morphemes where it has none), scaled by the part's size. Taking the `size` lowest places takes each part's
    lowest-ranked sentences, and about `size * len(part) / total` of them."""
    total = sum(part.num_rows for part in parts)
    if not 0 < size <= total:
        raise ArgumentError(f"--max_train_sentences: expected 1 to {total} (the training sentences), received {size}.")
    places = []
    for part_index, part in enumerate(parts):
        keys = [
            hashlib.sha256((text or " ".join(tokens)).encode("utf-8")).digest()
            for text, tokens in zip(part["text"], part["tokens"])
        ]
        ranked = sorted(range(part.num_rows), key=lambda row: (keys[row], row))
        places += [((rank + 0.5) / part.num_rows, part_index, row) for rank, row in enumerate(ranked)]
    chosen = sorted(places)[:size]
    return datasets.concatenate_datasets(
        [
            part.select(sorted(row for _, index, row in chosen if index == part_index))
            for part_index, part in enumerate(parts)
            if any(index == part_index for _, index, _ in chosen)
        ]
    )


def corpus_entity_types(corpus: datasets.DatasetDict) -> tuple[str, ...]:
    """The entity types a corpus annotates, from its NER label names."""
    names = next(iter(corpus.values())).features["ner_tags"].feature.names
    return tuple(sorted({tag_schemes.entity_type(name) for name in names if name != tag_schemes.OUTSIDE}))


def with_annotated_types(dataset: datasets.Dataset, entity_types: tuple[str, ...]) -> datasets.Dataset:
    """`dataset` with the column `ANNOTATED_TYPES`: the entity types its corpus annotates, on every sentence."""
    return dataset.add_column(
        ANNOTATED_TYPES,
        [list(entity_types)] * dataset.num_rows,
        feature=datasets.List(datasets.Value("string")),
    )


def unannotated_tags(label_names: list[str], annotated_types) -> list[int]:
    """0/1 per NER label, 1 for the labels of entity types outside `annotated_types` (the model's
    `ner_unannotated_tags`)."""
    annotated = set(annotated_types)
    return [
        int(name != tag_schemes.OUTSIDE and tag_schemes.entity_type(name) not in annotated) for name in label_names
    ]


def keep_entity_types(corpus: datasets.DatasetDict, entity_types: list[str]) -> datasets.DatasetDict:
    """The corpus with the NER tags (and gold spans) of the other entity types turned into O (left out), and the NER
    labels of `entity_types`."""
    names = corpus["train"].features["ner_tags"].feature.names
    present = {tag_schemes.entity_type(name) for name in names if name != tag_schemes.OUTSIDE}
    unknown = sorted(set(entity_types) - present)
    if unknown:
        raise ArgumentError(f"--ner_types: expected types of the corpus {sorted(present)}, received {unknown}.")
    kept = tag_schemes.iob2_label_names(entity_types)
    new_id = [kept.index(name) if name in kept else kept.index(tag_schemes.OUTSIDE) for name in names]
    features = corpus["train"].features.copy()
    features["ner_tags"] = datasets.Sequence(datasets.ClassLabel(names=kept))
    kept_types = set(entity_types)

    def keep(example):
        kept = {"ner_tags": [new_id[tag] for tag in example["ner_tags"]]}
        if example.get(ENTITY_SPANS) is not None:
            kept[ENTITY_SPANS] = [span for span in example[ENTITY_SPANS] if span["type"] in kept_types]
        return kept

    return corpus.map(keep, features=features, desc="Keeping entity types")


def parse_corpus_argument(argument: str, flag: str = "--extra_train_corpora") -> tuple[str, str | None]:
    """`NAME=DIR` of --extra_train_corpora or --pos_only_corpora -> (NAME, DIR); the bundled `sample` needs no
    folder."""
    name, separator, path = argument.partition("=")
    if argument == "sample":
        return name, None
    if not separator or not name or not path:
        raise ArgumentError(
            f"{flag}: expected NAME=DIR (e.g. ner2016=../shared/data/ner2016-competition) or sample, "
            f"received {argument!r}."
        )
    return name, path
