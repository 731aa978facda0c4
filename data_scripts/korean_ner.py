"""`datasets` builder for morpheme-level Korean NER corpora with POS tags.

Configs:

* ``klp2016``: the KLP 2016 corpus (kmounlp/NER, ``2016klp/``), read from ``data_dir``
  (``train.txt``/``dev.txt``/``test.txt`` or the upstream ``ner.train``/``ner.dev``/
  ``ner.test``) or, online and without ``data_dir``, downloaded from GitHub.
* ``conll``: your own CoNLL-style files (``data_files`` or ``data_dir``), for example the
  traditional-culture corpus of the paper.
* ``sample``: a small traditional-culture corpus shipped with the package (KLP layout).
* ``klue``: KLUE-NER v1.1 (news and movie reviews; PS, LC, OG, DT, TI, QT; CC BY-SA 4.0), read from
  ``data_dir`` (``klue-ner-v1.1_train.tsv``, ``klue-ner-v1.1_dev.tsv`` or a part of it, ``*_dev.part.tsv``)
  or converted from the Hub layout of ``klue/klue``, config ``ner`` (``load_korean_ner(name="klue",
  dataset=...)``). Its annotation is by character: each sentence is analysed by the predictor's Kiwi set-up
  and the gold character spans are projected onto Kiwi's morphemes, so POS tags are Kiwi's (silver), and
  ``id`` is KLUE's sentence id. The dev file is split by sentence id into fixed train, validation and test
  splits (``klue_split``); with the official training file, that file is the training split.
* ``ner2016``: the 2016 Korean NER competition data (train and dev, read from ``data_dir``;
  never downloaded: it has no redistribution licence). Same entity types, Sejong POS tags and
  tag style as KLP 2016, disjoint sentences; no eojeol index and no raw text, so ``word_ids``
  is -1 throughout and ``text`` is "" (not rebuilt from the morphemes, which lack the
  spacing and are not always surface strings: ``ㄴ``, ``았``).

Every config gives the same features; NER tags are normalised to IOB2 and the label names
come from the data (see ``KoreanNER``). To concatenate two corpora, load both with the same
label names: ``shared_label_names`` gives them.

``analyzer="kiwi"`` (KLP layout configs) trains in the inference distribution: each raw
sentence is re-analysed with the predictor's Kiwi set-up and the gold entity spans of its
``$`` line are projected onto Kiwi's morphemes (``reanalyse_with_kiwi``); entities with a
boundary inside a Kiwi morpheme are counted and handled as ``misaligned_entities`` says.

With datasets >= 4 the builder is instantiated rather than loaded as a script::

    builder = KoreanNER(config_name="klp2016", data_dir="path/to/klp2016")
    builder.download_and_prepare()
    dataset = builder.as_dataset()
"""

import hashlib
import importlib.metadata
import inspect
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import datasets
from huggingface_hub import constants as hub_constants

from . import corpora, formats, span_projection, tag_schemes
from .corpora import CORPORA
from .formats import (
    CorpusFormatError,
    MarkedSentence,
    Sentence,
    entity_spans,
    read_conll,
    read_klp,
    read_klue,
    read_ner2016,
)
from .span_projection import MISALIGNED_POLICIES, Projection, ProjectionStats, project_entities
from .tag_schemes import TAG_SCHEMES, TagSequenceError, detect_tag_scheme, entity_type, iob2_label_names, to_iob2


logger = logging.getLogger(__name__)

READERS = {"klp": read_klp, "conll": read_conll, "ner2016": read_ner2016, "klue": read_klue}
ERROR_POLICIES = ("raise", "skip")
# Where the morphemes come from: the corpus files, or Kiwi's analysis of the raw sentences.
ANALYZERS = ("corpus", "kiwi")
KOREAN_EXTRA_INSTALL = 'pip install "mtl-bilstm-ner[korean]"'
# Files looked up in data_dir, per split, in order of preference.
SPLIT_FILE_NAMES = {
    "train": ("train.txt", "ner.train"),
    "validation": ("validation.txt", "dev.txt", "ner.dev"),
    "test": ("test.txt", "ner.test"),
}
SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
KLP2016_URLS = {
    split: f"https://raw.githubusercontent.com/kmounlp/NER/master/2016klp/ner.{suffix}"
    for split, suffix in (("train", "train"), ("validation", "dev"), ("test", "test"))
}
# Editing the parsing code must not serve a cache prepared by the old code.
_SOURCE_MODULES = tuple(Path(module.__file__) for module in (formats, tag_schemes, corpora, span_projection)) + (
    Path(__file__),
)
_REPORTED_SKIP_REASONS = 3
# The column of the gold entities as character spans of `text`.
ENTITY_SPANS = "entity_spans"
# KLUE-NER files, and how its dev file is shared out: each sentence goes to the split of its id's bucket
# (``klue_split``), so that a sentence keeps its split whatever else the file holds.
KLUE_FILE_PATTERNS = {"train": "klue-ner-v1.1_train*.tsv", "dev": "klue-ner-v1.1_dev*.tsv"}
KLUE_SPLIT_FRACTIONS = (("train", 0.75), ("validation", 0.10), ("test", 0.15))
_KLUE_SENTENCE_KEY = re.compile(r"_((?:train|dev)_[0-9]+)")

_FEATURES_DESCRIPTION = """\
Fields: `id` (position of the sentence in its split; KLUE's sentence id for klue), `tokens`
(morphemes), `pos_tags` (POS tag of each morpheme), `ner_tags` (IOB2 NER tag of each morpheme),
`word_ids` (0-based index of the eojeol, i.e. the space-separated word of `text`, that each
morpheme belongs to; -1 at every position when the source gives no eojeol index), `text` (the
raw sentence; "" when the source does not give it) and `entity_spans` (the gold entities as
character spans of `text`, `start`, `end` exclusive and `type`; null where the source gives none,
such as ner2016 or a KLP '$' line that does not align with its ';' line)."""


class LabelSetError(ValueError):
    """A tag that is not in the label set (derived from the training split, or supplied)."""


@dataclass
class KoreanNERConfig(datasets.BuilderConfig):
    """Config of ``KoreanNER``.

    Args:
        file_format: ``"klp"`` (KLP 2016 layout) or ``"conll"`` (column layout), see ``formats``.
        tag_scheme: ``"auto"`` (detected over all splits) or one of ``iob1``, ``iob2``,
            ``bioes``, ``klp``. Tags are converted to IOB2 in every case.
        errors: ``"raise"`` (default) raises ``CorpusFormatError`` at the first malformed
            sentence; ``"skip"`` drops malformed sentences and logs one warning counting them.
        pos_labels / ner_labels: the label names, in label-id order. By default they are
            derived from the training split and a tag found only in another split is an
            error; supply them to accept such tags (``ner_labels`` are IOB2 names).
        label_splits: the splits the default label names are derived from; None means
            ``train`` (all splits where there is no ``train``), and all splits with
            ``analyzer="kiwi"``: a tag Kiwi gives only outside train is no error in the data.
        analyzer: ``"corpus"`` (default) keeps the corpus's morphemes; ``"kiwi"`` (KLP layout
            only) re-analyses each raw sentence with ``KiwiMorphemeAnalyzer``, as the predictor
            does, and projects the gold entity spans of its ``$`` line onto Kiwi's morphemes:
            POS tags are Kiwi's mapped to Sejong tags, ``word_ids`` index the whitespace-separated
            words of the text. A ``$`` line that does not align with its ``;`` line is a format
            error (``errors`` applies). See ``project_entities``.
        misaligned_entities: with ``analyzer="kiwi"``, what happens to an entity with a boundary
            inside a Kiwi morpheme: ``"drop"`` (default) labels its morphemes ``O``; ``"expand"``
            labels the morphemes that hold it. Either way they are counted, logged and written in
            the dataset description; no boundary is moved silently.
        default_data_dir: folder read when neither ``data_dir`` nor ``data_files`` is given.
        download_urls: split -> URL, downloaded when no folder or file is given.
    """

    file_format: str = "conll"
    tag_scheme: str = "auto"
    errors: str = "raise"
    pos_labels: Sequence[str] | None = None
    ner_labels: Sequence[str] | None = None
    label_splits: Sequence[str] | None = None
    analyzer: str = "corpus"
    misaligned_entities: str = "drop"
    default_data_dir: str | None = None
    download_urls: dict[str, str] | None = None
    homepage: str = ""
    license: str = ""

    def validate(self) -> None:
        """Checks the options; run by the builder, since datasets sets config kwargs after
        ``__init__``."""
        for option, value, allowed in (
            ("file_format", self.file_format, tuple(READERS)),
            ("tag_scheme", self.tag_scheme, ("auto",) + TAG_SCHEMES),
            ("errors", self.errors, ERROR_POLICIES),
            ("analyzer", self.analyzer, ANALYZERS),
            ("misaligned_entities", self.misaligned_entities, MISALIGNED_POLICIES),
        ):
            if value not in allowed:
                raise ValueError(f"{option}={value!r} is not supported; expected one of {', '.join(allowed)}")
        if self.file_format == "klue" and self.analyzer != "kiwi":
            raise ValueError(
                f"The {self.name!r} config is annotated by character: its morphemes are Kiwi's analysis, so it needs "
                f"analyzer='kiwi'; received analyzer={self.analyzer!r}"
            )
        if self.analyzer == "kiwi" and self.file_format not in ("klp", "klue"):
            raise ValueError(
                f"analyzer='kiwi' needs raw sentences with their entities marked (the KLP layout's ';' and '$' "
                f"lines); the {self.name!r} config reads the {self.file_format!r} layout"
            )
        if self.label_splits is not None and (isinstance(self.label_splits, str) or not self.label_splits):
            raise ValueError(f"label_splits must be a non-empty list of split names; received {self.label_splits!r}")
        for option, labels in (("pos_labels", self.pos_labels), ("ner_labels", self.ner_labels)):
            if labels is not None:
                duplicates = sorted(label for label, count in Counter(labels).items() if count > 1)
                if duplicates or not labels:
                    raise ValueError(f"{option} must be a non-empty list of distinct labels; repeated: {duplicates}")
        if self.ner_labels is not None:
            invalid = [label for label in self.ner_labels if not tag_schemes.is_iob2_tag(label)]
            if invalid:
                raise ValueError(f"ner_labels must be IOB2 labels ('O', 'B-<TYPE>', 'I-<TYPE>'); found {invalid}")

    def local_split_files(self) -> dict[str, list[str]] | None:
        """Split -> files read by this config, or None when they have to be downloaded."""
        if self.data_files is not None and self.data_dir is not None:
            raise ValueError("Pass either data_dir or data_files, not both")
        if self.file_format == "klue":
            if self.data_dir is None:
                raise ValueError(
                    "The 'klue' config needs data_dir=... (a folder with klue-ner-v1.1_dev.tsv and, where you have "
                    "it, klue-ner-v1.1_train.tsv) or, through load_korean_ner, dataset=... (klue/klue, config ner)"
                )
            return find_klue_files(Path(self.data_dir))
        if self.data_files is not None:
            return {str(split): [str(path) for path in paths] for split, paths in self.data_files.items()}
        data_dir = self.data_dir or self.default_data_dir
        if data_dir is not None:
            return find_split_files(Path(data_dir))
        if self.download_urls is not None:
            return None
        raise ValueError(f"The {self.name!r} config needs data_files=... or data_dir=...")

    def create_config_id(self, config_kwargs: dict, custom_features: datasets.Features | None = None) -> str:
        # The config id names the cache folder: key it on the content of the source files
        # and of the parsing code, so that an edited file is never served from a stale cache.
        return f"{super().create_config_id(config_kwargs, custom_features)}-{self._source_fingerprint()}"

    def _source_fingerprint(self) -> str:
        hasher = hashlib.sha256()

        def add(part: bytes) -> None:
            hasher.update(len(part).to_bytes(8, "little"))
            hasher.update(part)

        for module_path in _SOURCE_MODULES:
            add(module_path.read_bytes())
        if self.analyzer == "kiwi":
            # Kiwi's analyses change with its version and with the analyser's conventions.
            for part in _kiwi_fingerprint_parts():
                add(part)
        split_files = self.local_split_files()
        if split_files is None:
            for split, url in sorted(self.download_urls.items()):
                add(split.encode())
                add(url.encode())
        else:
            for split, paths in split_files.items():
                add(split.encode())
                for path in paths:
                    add(Path(path).read_bytes())
        return hasher.hexdigest()[:16]


def find_split_files(data_dir: Path) -> dict[str, list[str]]:
    """The split files found in ``data_dir`` (see ``SPLIT_FILE_NAMES``)."""
    if not data_dir.is_dir():
        raise FileNotFoundError(f"Corpus folder {str(data_dir)!r} does not exist")
    split_files = {}
    for split, names in SPLIT_FILE_NAMES.items():
        present = [str(data_dir / name) for name in names if (data_dir / name).is_file()]
        if len(present) > 1:
            raise ValueError(f"{data_dir} has several {split} files {present}; keep only one")
        if present:
            split_files[split] = present
    if not split_files:
        expected = ", ".join(name for names in SPLIT_FILE_NAMES.values() for name in names)
        raise FileNotFoundError(f"No corpus file in {data_dir}; expected some of {expected}")
    return split_files


def find_klue_files(data_dir: Path) -> dict[str, list[str]]:
    """The splits of a KLUE-NER folder and the file each is read from (see ``klue_split``): without the official
    training file, the dev file gives all three splits; with it, ``train`` is that file and the dev file gives
    ``validation`` and ``test``."""
    if not data_dir.is_dir():
        raise FileNotFoundError(f"Corpus folder {str(data_dir)!r} does not exist")
    found = {}
    for part, pattern in KLUE_FILE_PATTERNS.items():
        paths = sorted(str(path) for path in data_dir.glob(pattern))
        if len(paths) > 1:
            raise ValueError(f"{data_dir} has several KLUE-NER {part} files {paths}; keep only one")
        if paths:
            found[part] = paths[0]
    if "dev" not in found:
        raise FileNotFoundError(
            f"No KLUE-NER dev file in {data_dir}; expected {KLUE_FILE_PATTERNS['dev']} (and, where you have it, "
            f"{KLUE_FILE_PATTERNS['train']})"
        )
    files = {split: [found["dev"]] for split, _ in KLUE_SPLIT_FRACTIONS}
    if "train" in found:
        files["train"] = [found["train"]]
    return files


def klue_split(sentence_id: str) -> str:
    """The split of a KLUE-NER dev sentence: a fixed function of its id (``klue-ner-v1_dev_00042-nsmc`` and the
    ``dev_00042`` of a Hub row alike), ``train``, ``validation`` or ``test`` in the proportions of
    ``KLUE_SPLIT_FRACTIONS`` (75/10/15). News and reviews are interleaved in the file and the function ignores
    the source, so each split keeps the file's mix in expectation."""
    match = _KLUE_SENTENCE_KEY.search(sentence_id)
    key = match.group(1) if match else sentence_id
    position = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64
    for split, fraction in KLUE_SPLIT_FRACTIONS:
        if position < fraction:
            return split
        position -= fraction
    return KLUE_SPLIT_FRACTIONS[-1][0]


def _klue_sentence_splits(split: str, split_files: Mapping[str, list[str]]) -> set[str] | None:
    """The ``klue_split`` values of the sentences a split takes from its file: None (all) for the official
    training file; otherwise its own, except that, where the training file gives ``train``, ``validation`` takes
    the dev file's train and validation shares."""
    has_training_file = split_files.get("train") != split_files.get("validation")
    if split == "train" and has_training_file:
        return None
    if split == "validation" and has_training_file:
        return {"train", "validation"}
    return {split}


@dataclass
class _Corpus:
    split_files: dict[str, list[str]]
    sentences: dict[str, list[Sentence]]  # NER tags in IOB2
    features: datasets.Features
    projection_stats: dict[str, "ProjectionStats"] | None = None


class KoreanNER(datasets.GeneratorBasedBuilder):
    """Morpheme-level Korean NER with POS tags, NER tags normalised to IOB2.

    Label names come from the data: POS labels sorted; NER labels ``O`` first, then for each
    entity type by name, ``B-`` before ``I-`` (both for every type found). They are taken
    from the ``train`` split (from all splits when there is none); a tag found only in
    another split raises ``LabelSetError`` unless ``pos_labels``/``ner_labels`` are given.
    """

    BUILDER_CONFIG_CLASS = KoreanNERConfig
    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIGS = [
        KoreanNERConfig(
            name="klp2016",
            version=VERSION,
            description="KLP 2016 Korean NER corpus (PS, LC, OG, DT, TI) with Sejong POS tags.",
            file_format="klp",
            download_urls=KLP2016_URLS,
            homepage=CORPORA["klp2016"].homepage,
            license=CORPORA["klp2016"].license,
        ),
        KoreanNERConfig(
            name="conll",
            version=VERSION,
            description="Your own corpus in CoNLL-style columns (morpheme, POS tag, NER tag).",
            file_format="conll",
        ),
        KoreanNERConfig(
            name="sample",
            version=VERSION,
            description="A small Korean traditional-culture NER corpus shipped with the package.",
            file_format="klp",
            default_data_dir=str(SAMPLE_DIR),
            license=CORPORA["sample"].license,
        ),
        KoreanNERConfig(
            name="ner2016",
            version=VERSION,
            description=(
                "2016 Korean NER competition data (PS, LC, OG, DT, TI) with Sejong POS tags: train and dev, "
                "no eojeol index, no raw text."
            ),
            file_format="ner2016",
            # The dev file has POS tags that train lacks (SKG, NKB, as written there): label names
            # come from both splits so that the corpus loads as it is.
            label_splits=("train", "validation"),
            # corpora.py gives the terms; the files come from this republication.
            homepage=CORPORA["ner2016"].homepage or "https://github.com/dsindex/Wapiti/tree/master/ner2016",
            license=CORPORA["ner2016"].license,
        ),
        KoreanNERConfig(
            name="klue",
            version=VERSION,
            description=(
                "KLUE-NER v1.1 (Park et al., 2021): news (wikitree) and movie reviews (nsmc) with PS, LC, OG, DT, TI "
                "and QT entities annotated by character. Morphemes and POS tags are Kiwi's analysis (silver), the "
                "gold character spans projected onto them; id is KLUE's sentence id. The dev file is split by "
                "sentence id into train/validation/test (75/10/15); the official training file, where present, is "
                "the training split."
            ),
            file_format="klue",
            analyzer="kiwi",
            homepage=CORPORA["klue"].homepage,
            license=CORPORA["klue"].license,
        ),
    ]
    DEFAULT_CONFIG_NAME = "sample"

    # Read once per builder: in _info() for local files, after the download otherwise.
    _corpus: _Corpus | None = None

    @property
    def projection_stats(self) -> dict[str, "ProjectionStats"] | None:
        """Per split, what ``analyzer="kiwi"`` did to the gold entities; None for ``"corpus"`` or
        before the corpus is read."""
        return None if self._corpus is None else self._corpus.projection_stats

    def _info(self) -> datasets.DatasetInfo:
        self.config.validate()
        split_files = self.config.local_split_files()
        corpus = None if split_files is None else self._read_corpus(split_files)
        return datasets.DatasetInfo(
            description=self._description(corpus),
            # Downloaded files are read in _split_generators, which fills in the features.
            features=None if corpus is None else corpus.features,
            homepage=self.config.homepage,
            license=self.config.license,
        )

    def _description(self, corpus: "_Corpus | None") -> str:
        parts = [self.config.description or "", _FEATURES_DESCRIPTION]
        if corpus is not None and corpus.projection_stats is not None:
            parts.append(_projection_note(corpus.projection_stats, self.config.misaligned_entities))
        return "\n\n".join(part for part in parts if part)

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        split_files = self.config.local_split_files()
        if split_files is None:
            split_files = self._download(dl_manager)
        corpus = self._read_corpus(split_files)
        self.info.features = corpus.features
        self.info.description = self._description(corpus)
        return [datasets.SplitGenerator(name=split, gen_kwargs={"split": split}) for split in corpus.sentences]

    def _generate_examples(self, split: str):
        for index, sentence in enumerate(self._corpus.sentences[split]):
            yield (
                index,
                {
                    "id": sentence.id or str(index),
                    "tokens": sentence.tokens,
                    "pos_tags": sentence.pos_tags,
                    "ner_tags": sentence.ner_tags,
                    "word_ids": sentence.word_ids,
                    "text": sentence.text,
                    ENTITY_SPANS: None
                    if sentence.entities is None
                    else [{"start": e.start, "end": e.end, "type": e.type} for e in sentence.entities],
                },
            )

    def _download(self, dl_manager: datasets.DownloadManager) -> dict[str, list[str]]:
        if datasets.config.HF_DATASETS_OFFLINE or hub_constants.HF_HUB_OFFLINE:
            raise ConnectionError(
                f"The {self.config.name!r} config downloads {', '.join(self.config.download_urls.values())}, "
                "but offline mode is on (HF_DATASETS_OFFLINE / HF_HUB_OFFLINE). Pass data_dir=... pointing at "
                "a folder with train.txt, dev.txt and test.txt (or ner.train, ner.dev and ner.test)."
            )
        downloaded = dl_manager.download(dict(self.config.download_urls))
        return {split: [path] for split, path in downloaded.items()}

    def _read_corpus(self, split_files: dict[str, list[str]]) -> _Corpus:
        if self._corpus is None or self._corpus.split_files != split_files:
            sentences, projection_stats = _read_sentences(split_files, self.config)
            label_splits = self.config.label_splits
            if label_splits is None and self.config.analyzer == "kiwi":
                label_splits = tuple(sentences)
            features = _features(
                pos_labels=_label_names(sentences, "pos_tags", self.config.pos_labels, _sorted_labels, label_splits),
                ner_labels=_label_names(sentences, "ner_tags", self.config.ner_labels, _iob2_labels, label_splits),
            )
            self._corpus = _Corpus(split_files, sentences, features, projection_stats)
        return self._corpus


def _features(pos_labels: list[str], ner_labels: list[str]) -> datasets.Features:
    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "tokens": datasets.List(datasets.Value("string")),
            "pos_tags": datasets.List(datasets.ClassLabel(names=pos_labels)),
            "ner_tags": datasets.List(datasets.ClassLabel(names=ner_labels)),
            "word_ids": datasets.List(datasets.Value("int32")),
            "text": datasets.Value("string"),
            ENTITY_SPANS: datasets.List(
                {"start": datasets.Value("int32"), "end": datasets.Value("int32"), "type": datasets.Value("string")}
            ),
        }
    )


def _read_sentences(
    split_files: Mapping[str, list[str]], config: KoreanNERConfig
) -> tuple[dict[str, list[Sentence]], dict[str, "ProjectionStats"] | None]:
    """Reads every split, converts NER tags to IOB2, re-analyses it with Kiwi where the config
    says so, and raises or skips malformed sentences."""
    skipped: list[CorpusFormatError] = []

    def reject(error: CorpusFormatError) -> None:
        if config.errors == "raise":
            raise error
        skipped.append(error)

    if config.file_format == "klue":
        sentences, projection_stats = _read_klue_splits(split_files, config.misaligned_entities, reject)
        _log_problems(skipped, projection_stats, config.misaligned_entities)
        return sentences, projection_stats

    read = READERS[config.file_format]
    sentences: dict[str, list[Sentence]] = {}
    for split, paths in split_files.items():
        sentences[split] = []
        for path in paths:
            for item in read(path):
                if isinstance(item, CorpusFormatError):
                    reject(item)
                else:
                    sentences[split].append(item)

    scheme = config.tag_scheme
    if scheme == "auto":
        scheme = detect_tag_scheme(sentence.ner_tags for split in sentences.values() for sentence in split)
        scheme_note = f"tag scheme {scheme!r} (auto-detected; pass tag_scheme=... to choose another)"
    else:
        scheme_note = f"tag scheme {scheme!r}"
    for split, split_sentences in sentences.items():
        converted = []
        for sentence in split_sentences:
            try:
                sentence.ner_tags = to_iob2(sentence.ner_tags, scheme)
            except TagSequenceError as error:
                line = sentence.lines[error.position]
                reject(
                    CorpusFormatError(
                        sentence.path, line.number, line.raw, f"{error.expected} in {scheme_note}", error.found
                    )
                )
            else:
                converted.append(sentence)
        sentences[split] = converted

    projection_stats = None
    if config.analyzer == "kiwi":
        projection_stats = _reanalyse_splits(sentences, config.misaligned_entities, reject)
    elif config.file_format == "klp":
        _read_gold_spans(sentences)
    _log_problems(skipped, projection_stats, config.misaligned_entities)
    return sentences, projection_stats


def _read_gold_spans(sentences: Mapping[str, list[Sentence]]) -> None:
    """Gives each KLP-layout sentence the gold character spans of its '$' line; a '$' line that does not align with
    its ';' line leaves them unknown (None): the corpus's own morphemes do not need it."""
    for split_sentences in sentences.values():
        for sentence in split_sentences:
            try:
                sentence.entities = entity_spans(sentence)
            except CorpusFormatError:
                sentence.entities = None


def _log_problems(
    skipped: list[CorpusFormatError], projection_stats: dict[str, "ProjectionStats"] | None, misaligned_entities: str
) -> None:
    if skipped:
        per_file = ", ".join(
            f"{path}: {count}" for path, count in Counter(str(error.path) for error in skipped).items()
        )
        reasons = "\n".join(f"  - {error}" for error in skipped[:_REPORTED_SKIP_REASONS])
        logger.warning(
            f"errors='skip': skipped {len(skipped)} malformed sentence(s) ({per_file}). First problems:\n{reasons}"
        )
    if projection_stats is not None:
        logger.warning(_projection_note(projection_stats, misaligned_entities))


def _sorted_labels(tags: Iterable[str]) -> list[str]:
    return sorted(set(tags))


def _iob2_labels(tags: Iterable[str]) -> list[str]:
    return iob2_label_names(entity_type(tag) for tag in tags if tag != tag_schemes.OUTSIDE)


def _label_names(
    sentences: Mapping[str, list[Sentence]],
    attribute: str,
    supplied: Sequence[str] | None,
    derive,
    label_splits: Sequence[str] | None = None,
) -> list[str]:
    """The label names of one tag column: ``supplied``, or derived by ``derive`` from
    ``label_splits`` (by default the training split, all splits when there is none). Every tag
    must be among them."""
    kind = "POS tag" if attribute == "pos_tags" else "IOB2 NER tag"
    option = attribute.replace("_tags", "_labels")
    if supplied is not None:
        names = list(supplied)
        source = f"the supplied {option}"
    else:
        if label_splits is not None:
            reference_splits = [split for split in label_splits if split in sentences] or list(sentences)
        else:
            reference_splits = ["train"] if "train" in sentences else list(sentences)
        names = derive(
            tag for split in reference_splits for sentence in sentences[split] for tag in getattr(sentence, attribute)
        )
        # Without a train split every split is a reference, and no tag is unknown.
        source = " and ".join(f"the {split!r} split" for split in reference_splits)
    known = set(names)
    for split, split_sentences in sentences.items():
        for sentence in split_sentences:
            for position, tag in enumerate(getattr(sentence, attribute)):
                if tag not in known:
                    line = sentence.lines[position]
                    raise LabelSetError(
                        f"{kind} {tag!r} in the {split!r} split ({sentence.path}, line {line.number}: {line.raw!r}) "
                        f"does not occur in {source}, so it has no label id. "
                        f"Pass {option}=[...] with the full label set to accept it."
                    )
    return names


def shared_label_names(*corpora) -> dict[str, list[str]]:
    """Label names that cover every given corpus, as ``{"pos_labels": [...], "ner_labels": [...]}``:
    load each corpus with them (``load_korean_ner(name, ..., **labels)``) and the datasets have
    identical features, so ``datasets.concatenate_datasets`` accepts them. POS labels are the
    sorted union; NER labels the IOB2 labels of the union of entity types, in the builder's order.

    Args:
        corpora: each a ``datasets.Features``, a ``Dataset`` or a ``DatasetDict`` of this builder,
            e.g. ``KoreanNER(config_name="ner2016", data_dir=...).info.features``, which reads
            the files without preparing them.
    """
    if not corpora:
        raise ValueError("shared_label_names: expected at least one corpus")
    pos_labels: set[str] = set()
    entity_types: set[str] = set()
    for index, corpus in enumerate(corpora):
        for features in _features_of(corpus, index):
            pos_labels.update(features["pos_tags"].feature.names)
            entity_types.update(
                entity_type(name) for name in features["ner_tags"].feature.names if name != tag_schemes.OUTSIDE
            )
    return {"pos_labels": sorted(pos_labels), "ner_labels": iob2_label_names(entity_types)}


def _features_of(corpus, index: int) -> list[datasets.Features]:
    if isinstance(corpus, datasets.DatasetDict):
        return [dataset.features for dataset in corpus.values()]
    features = corpus.features if isinstance(corpus, datasets.Dataset) else corpus
    if not isinstance(features, datasets.Features) or not {"pos_tags", "ner_tags"} <= set(features):
        raise TypeError(
            f"corpora[{index}]: expected datasets.Features, a Dataset or a DatasetDict with 'pos_tags' and "
            f"'ner_tags' columns; received {type(corpus).__name__}"
        )
    return [features]


# --- re-analysis with Kiwi -------------------------------------------------------------------


def reanalyse_with_kiwi(
    sentences: Sequence, analyzer=None, misaligned_entities: str = "drop"
) -> tuple[list[Projection], ProjectionStats]:
    """Re-analyses raw sentences with Kiwi as the predictor does and projects their gold entities
    onto Kiwi's morphemes (``project_entities``).

    Args:
        sentences: objects with ``text`` and ``entities`` (``EntitySpan``s), e.g. the
            ``MarkedSentence``s of ``formats.load_entity_spans``.
        analyzer: a ``KiwiMorphemeAnalyzer``; by default a new one, the predictor's default set-up.
            Where Kiwi splits a text into several sentences, their morphemes are joined.
        misaligned_entities: ``"drop"`` or ``"expand"``, see ``project_entities``.

    Returns:
        One ``Projection`` per sentence, and the counts over all of them.
    """
    if analyzer is None:
        analyzer = _default_analyzer()
    documents = analyzer.analyze([sentence.text for sentence in sentences])
    projections, stats = [], ProjectionStats()
    for sentence, document in zip(sentences, documents):
        morphemes = [morpheme for kiwi_sentence in document for morpheme in kiwi_sentence]
        projection = project_entities(sentence.text, sentence.entities, morphemes, misaligned_entities)
        projections.append(projection)
        stats.add(sentence.entities, projection)
    return projections, stats


def _default_analyzer():
    try:
        from modeling_mtl_bilstm.inference.morphology import KiwiMorphemeAnalyzer
    except ImportError as error:  # kiwipiepy itself is imported when the analyser is created
        raise ImportError(f"analyzer='kiwi' needs modeling_mtl_bilstm's KiwiMorphemeAnalyzer: {error}") from error
    return KiwiMorphemeAnalyzer()


def _kiwi_fingerprint_parts() -> list[bytes]:
    try:
        versions = [importlib.metadata.version(name) for name in ("kiwipiepy", "kiwipiepy_model")]
    except importlib.metadata.PackageNotFoundError as error:
        raise ImportError(
            f"analyzer='kiwi' needs kiwipiepy, which is not installed: {KOREAN_EXTRA_INSTALL}"
        ) from error
    from modeling_mtl_bilstm.inference.morphology import KiwiMorphemeAnalyzer

    return [version.encode() for version in versions] + [
        Path(inspect.getsourcefile(KiwiMorphemeAnalyzer)).read_bytes()
    ]


def _reanalyse_splits(
    sentences: dict[str, list[Sentence]], misaligned_entities: str, reject
) -> dict[str, ProjectionStats]:
    """Replaces each sentence's morphemes and tags by Kiwi's, with the gold entities of its ``$``
    line projected onto them (``reject`` gets the sentences whose ``$`` line is unreadable)."""
    analyzer = _default_analyzer()
    stats = {}
    for split, split_sentences in sentences.items():
        readable, marked = [], []
        for sentence in split_sentences:
            try:
                marked.append(
                    MarkedSentence(sentence.path, sentence.marked_line.number, sentence.text, entity_spans(sentence))
                )
            except CorpusFormatError as error:
                reject(error)
            else:
                readable.append(sentence)
        projections, split_stats = reanalyse_with_kiwi(marked, analyzer, misaligned_entities)
        kept = []
        for sentence, gold, projection in zip(readable, marked, projections):
            line = sentence.marked_line
            if not projection.tokens:
                reject(
                    CorpusFormatError(
                        sentence.path, line.number, line.raw, "a sentence Kiwi finds morphemes in", "none"
                    )
                )
                continue
            sentence.tokens, sentence.pos_tags = projection.tokens, projection.pos_tags
            sentence.ner_tags, sentence.word_ids = projection.ner_tags, projection.word_ids
            sentence.entities = list(gold.entities)
            # The labels now come from the '$' line: errors about them name it.
            sentence.lines = [line] * len(projection.tokens)
            kept.append(sentence)
        sentences[split] = kept
        stats[split] = split_stats
    return stats


def _read_klue_splits(
    split_files: Mapping[str, list[str]], misaligned_entities: str, reject
) -> tuple[dict[str, list[Sentence]], dict[str, "ProjectionStats"]]:
    """Reads KLUE-NER files into the splits of ``find_klue_files``, each sentence analysed by Kiwi with its gold
    character spans projected onto the morphemes (``reject`` gets unreadable sentences)."""
    analyzer = _default_analyzer()
    sentences, stats = {}, {}
    for split, paths in split_files.items():
        wanted = _klue_sentence_splits(split, split_files)
        marked = []
        for path in paths:
            for item in read_klue(path):
                if isinstance(item, CorpusFormatError):
                    reject(item)
                elif wanted is None or klue_split(item.source_id) in wanted:
                    marked.append(item)
        projections, split_stats = reanalyse_with_kiwi(marked, analyzer, misaligned_entities)
        split_stats.trimmed = sum(item.trimmed_entities for item in marked)
        sentences[split] = []
        for item, projection in zip(marked, projections):
            header = formats.Line(item.line_number, "", "")
            if not projection.tokens:
                reject(
                    CorpusFormatError(item.path, item.line_number, None, "a sentence Kiwi finds morphemes in", "none")
                )
                continue
            sentences[split].append(
                Sentence(
                    item.path,
                    projection.tokens,
                    projection.pos_tags,
                    projection.ner_tags,
                    projection.word_ids,
                    item.text,
                    [header] * len(projection.tokens),
                    id=item.source_id,
                    entities=list(item.entities),
                )
            )
        stats[split] = split_stats
    return sentences, stats


def _projection_note(stats: Mapping[str, ProjectionStats], misaligned_entities: str) -> str:
    per_split = ", ".join(f"{split}: {s.misaligned} of {s.entities}" for split, s in stats.items())
    total = sum(s.misaligned for s in stats.values())
    dropped = sum(s.dropped for s in stats.values())
    policy = {
        "drop": "their morphemes are labelled O",
        "expand": "they are labelled on the morphemes that hold them",
    }[misaligned_entities]
    trimmed = sum(s.trimmed for s in stats.values())
    trimmed_note = f" {trimmed} gold spans had whitespace at an end, trimmed off first." if trimmed else ""
    return (
        f"analyzer='kiwi': morphemes and POS tags (silver) are Kiwi's analysis of the raw text, the gold entity "
        f"spans projected onto them.{trimmed_note} {total} gold entities have a boundary inside a Kiwi morpheme "
        f"({per_split}); misaligned_entities={misaligned_entities!r}: {policy}. {dropped} entities in all are left "
        f"out of the labels."
    )
