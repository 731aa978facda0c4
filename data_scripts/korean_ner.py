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
  is -1 throughout and ``text`` is "" (with ``analyzer="kiwi"``, the text Kiwi rebuilds from the
  morphemes, see below).

Every config gives the same features; NER tags are normalised to IOB2 and the label names
come from the data (see ``KoreanNER``). To concatenate two corpora, load both with the same
label names: ``shared_label_names`` gives them.

``analyzer="kiwi"`` trains in the inference distribution: each raw sentence is re-analysed with
the predictor's Kiwi set-up and the gold entity spans of its ``$`` line are projected onto Kiwi's
morphemes (``reanalyse_with_kiwi``); entities with a boundary inside a Kiwi morpheme are counted
and handled as ``misaligned_entities`` says. Layouts without raw text (``ner2016``, ``conll``)
get it rebuilt from their morphemes by Kiwi's ``join`` first (``rebuild_text``): the spacing is
Kiwi's guess, not the writer's.

With datasets >= 4 the builder is instantiated rather than loaded as a script::

    builder = KoreanNER(config_name="klp2016", data_dir="path/to/klp2016")
    builder.download_and_prepare()
    dataset = builder.as_dataset()

The builder's parts: ``corpus_reading`` (the split files read into sentences), ``formats`` (the file layouts),
``klue`` (KLUE-NER's files and splits), ``kiwi_reanalysis`` (``analyzer="kiwi"``) and ``label_sets`` (the
label names), with the config in ``korean_ner_config``; their public names are importable from here too.
"""

from dataclasses import dataclass
from pathlib import Path

import datasets
from huggingface_hub import constants as hub_constants

from .corpora import CORPORA
from .corpus_reading import READERS, SPLIT_FILE_NAMES, find_split_files, read_sentences
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
from .kiwi_reanalysis import KOREAN_EXTRA_INSTALL, projection_note, reanalyse_with_kiwi, rebuild_text
from .kiwi_reanalysis import default_analyzer as _default_analyzer
from .klue import KLUE_FILE_PATTERNS, KLUE_SPLIT_FRACTIONS, find_klue_files, klue_split
from .korean_ner_config import ANALYZERS, ERROR_POLICIES, KoreanNERConfig
from .label_sets import LabelSetError, iob2_labels, label_names, shared_label_names, sorted_labels
from .span_projection import MISALIGNED_POLICIES, Projection, ProjectionStats, project_entities
from .tag_schemes import TAG_SCHEMES, TagSequenceError, detect_tag_scheme, entity_type, iob2_label_names, to_iob2


SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
KLP2016_URLS = {
    split: f"https://raw.githubusercontent.com/kmounlp/NER/master/2016klp/ner.{suffix}"
    for split, suffix in (("train", "train"), ("validation", "dev"), ("test", "test"))
}
# The column of the gold entities as character spans of `text`.
ENTITY_SPANS = "entity_spans"


_FEATURES_DESCRIPTION = """\
Fields: `id` (position of the sentence in its split; KLUE's sentence id for klue), `tokens`
(morphemes), `pos_tags` (POS tag of each morpheme), `ner_tags` (IOB2 NER tag of each morpheme),
`word_ids` (0-based index of the eojeol, i.e. the space-separated word of `text`, that each
morpheme belongs to; -1 at every position when the source gives no eojeol index), `text` (the
raw sentence; "" when the source does not give it) and `entity_spans` (the gold entities as
character spans of `text`, `start`, `end` exclusive and `type`; null where the source gives none,
such as ner2016 or a KLP '$' line that does not align with its ';' line)."""


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
            parts.append(projection_note(corpus.projection_stats, self.config.misaligned_entities))
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
            # `_default_analyzer` is looked up in this module at each read: replacing it here replaces the analyser of
            # every re-analysis.
            sentences, projection_stats = read_sentences(split_files, self.config, _default_analyzer)
            label_splits = self.config.label_splits
            if label_splits is None and self.config.analyzer == "kiwi":
                label_splits = tuple(sentences)
            features = _features(
                pos_labels=label_names(sentences, "pos_tags", self.config.pos_labels, sorted_labels, label_splits),
                ner_labels=label_names(sentences, "ner_tags", self.config.ner_labels, iob2_labels, label_splits),
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


__all__ = [
    "ANALYZERS",
    "CORPORA",
    "ENTITY_SPANS",
    "ERROR_POLICIES",
    "KLP2016_URLS",
    "KLUE_FILE_PATTERNS",
    "KLUE_SPLIT_FRACTIONS",
    "KOREAN_EXTRA_INSTALL",
    "MISALIGNED_POLICIES",
    "READERS",
    "SAMPLE_DIR",
    "SPLIT_FILE_NAMES",
    "TAG_SCHEMES",
    "CorpusFormatError",
    "KoreanNER",
    "KoreanNERConfig",
    "LabelSetError",
    "MarkedSentence",
    "Projection",
    "ProjectionStats",
    "Sentence",
    "TagSequenceError",
    "detect_tag_scheme",
    "entity_spans",
    "entity_type",
    "find_klue_files",
    "find_split_files",
    "iob2_label_names",
    "klue_split",
    "project_entities",
    "read_conll",
    "read_klp",
    "read_klue",
    "read_ner2016",
    "reanalyse_with_kiwi",
    "rebuild_text",
    "shared_label_names",
    "to_iob2",
]
