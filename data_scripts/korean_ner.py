"""`datasets` builder for morpheme-level Korean NER corpora with POS tags.

Configs:

* ``klp2016``: the KLP 2016 corpus (kmounlp/NER, ``2016klp/``), read from ``data_dir``
  (``train.txt``/``dev.txt``/``test.txt`` or the upstream ``ner.train``/``ner.dev``/
  ``ner.test``) or, online and without ``data_dir``, downloaded from GitHub.
* ``conll``: your own CoNLL-style files (``data_files`` or ``data_dir``), for example the
  traditional-culture corpus of the paper.
* ``sample``: a small traditional-culture corpus shipped with the package (KLP layout).

Every config gives the same features; NER tags are normalised to IOB2 and the label names
come from the data (see ``KoreanNER``). With datasets >= 4 the builder is instantiated
rather than loaded as a script::

    builder = KoreanNER(config_name="klp2016", data_dir="path/to/klp2016")
    builder.download_and_prepare()
    dataset = builder.as_dataset()
"""

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import datasets
from huggingface_hub import constants as hub_constants

from . import formats, tag_schemes
from .formats import CorpusFormatError, Sentence, read_conll, read_klp
from .tag_schemes import TAG_SCHEMES, TagSequenceError, detect_tag_scheme, entity_type, iob2_label_names, to_iob2

logger = logging.getLogger(__name__)

READERS = {"klp": read_klp, "conll": read_conll}
ERROR_POLICIES = ("raise", "skip")
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
_SOURCE_MODULES = (Path(__file__), Path(formats.__file__), Path(tag_schemes.__file__))
_REPORTED_SKIP_REASONS = 3

_FEATURES_DESCRIPTION = """\
Fields: `id` (position of the sentence in its split), `tokens` (morphemes), `pos_tags`
(POS tag of each morpheme), `ner_tags` (IOB2 NER tag of each morpheme), `word_ids` (0-based
index of the eojeol, i.e. the space-separated word of `text`, that each morpheme belongs to;
-1 at every position when the source gives no eojeol index) and `text` (the raw sentence;
"" when the source does not give it)."""


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
        default_data_dir: folder read when neither ``data_dir`` nor ``data_files`` is given.
        download_urls: split -> URL, downloaded when no folder or file is given.
    """

    file_format: str = "conll"
    tag_scheme: str = "auto"
    errors: str = "raise"
    pos_labels: Sequence[str] | None = None
    ner_labels: Sequence[str] | None = None
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
        ):
            if value not in allowed:
                raise ValueError(f"{option}={value!r} is not supported; expected one of {', '.join(allowed)}")
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


@dataclass
class _Corpus:
    split_files: dict[str, list[str]]
    sentences: dict[str, list[Sentence]]  # NER tags in IOB2
    features: datasets.Features


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
            homepage="https://github.com/kmounlp/NER",
            license="Non-commercial use only, on MIT terms (Korea Maritime and Ocean University NLP lab)",
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
        ),
    ]
    DEFAULT_CONFIG_NAME = "sample"

    # Read once per builder: in _info() for local files, after the download otherwise.
    _corpus: _Corpus | None = None

    def _info(self) -> datasets.DatasetInfo:
        self.config.validate()
        split_files = self.config.local_split_files()
        return datasets.DatasetInfo(
            description=f"{self.config.description or ''}\n\n{_FEATURES_DESCRIPTION}".strip(),
            # Downloaded files are read in _split_generators, which fills in the features.
            features=None if split_files is None else self._read_corpus(split_files).features,
            homepage=self.config.homepage,
            license=self.config.license,
        )

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        split_files = self.config.local_split_files()
        if split_files is None:
            split_files = self._download(dl_manager)
        corpus = self._read_corpus(split_files)
        self.info.features = corpus.features
        return [datasets.SplitGenerator(name=split, gen_kwargs={"split": split}) for split in corpus.sentences]

    def _generate_examples(self, split: str):
        for index, sentence in enumerate(self._corpus.sentences[split]):
            yield (
                index,
                {
                    "id": str(index),
                    "tokens": sentence.tokens,
                    "pos_tags": sentence.pos_tags,
                    "ner_tags": sentence.ner_tags,
                    "word_ids": sentence.word_ids,
                    "text": sentence.text,
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
            sentences = _read_sentences(split_files, self.config)
            features = _features(
                pos_labels=_label_names(sentences, "pos_tags", self.config.pos_labels, _sorted_labels),
                ner_labels=_label_names(sentences, "ner_tags", self.config.ner_labels, _iob2_labels),
            )
            self._corpus = _Corpus(split_files, sentences, features)
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
        }
    )


def _read_sentences(split_files: Mapping[str, list[str]], config: KoreanNERConfig) -> dict[str, list[Sentence]]:
    """Reads every split, converts NER tags to IOB2, and raises or skips malformed sentences."""
    skipped: list[CorpusFormatError] = []

    def reject(error: CorpusFormatError) -> None:
        if config.errors == "raise":
            raise error
        skipped.append(error)

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

    if skipped:
        per_file = ", ".join(
            f"{path}: {count}" for path, count in Counter(str(error.path) for error in skipped).items()
        )
        reasons = "\n".join(f"  - {error}" for error in skipped[:_REPORTED_SKIP_REASONS])
        logger.warning(
            f"errors='skip': skipped {len(skipped)} malformed sentence(s) ({per_file}). First problems:\n{reasons}"
        )
    return sentences


def _sorted_labels(tags: Iterable[str]) -> list[str]:
    return sorted(set(tags))


def _iob2_labels(tags: Iterable[str]) -> list[str]:
    return iob2_label_names(entity_type(tag) for tag in tags if tag != tag_schemes.OUTSIDE)


def _label_names(
    sentences: Mapping[str, list[Sentence]], attribute: str, supplied: Sequence[str] | None, derive
) -> list[str]:
    """The label names of one tag column: ``supplied``, or derived from the training split
    (all splits when there is none) by ``derive``. Every tag must be among them."""
    kind = "POS tag" if attribute == "pos_tags" else "IOB2 NER tag"
    option = attribute.replace("_tags", "_labels")
    if supplied is not None:
        names = list(supplied)
        source = f"the supplied {option}"
    else:
        reference_splits = ["train"] if "train" in sentences else list(sentences)
        names = derive(
            tag for split in reference_splits for sentence in sentences[split] for tag in getattr(sentence, attribute)
        )
        source = "the 'train' split"  # without one, every split is a reference and no tag is unknown
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
