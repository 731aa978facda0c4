"""The config of the ``KoreanNER`` builder (``korean_ner``): its options and their checks, the files a config reads,
and the content-keyed id that names its cache folder.
"""

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import datasets

from . import (
    corpora,
    corpus_reading,
    entity_marks,
    format_common,
    formats,
    kiwi_reanalysis,
    klue,
    label_sets,
    morpheme_formats,
    span_projection,
    tag_schemes,
)
from .corpus_reading import READERS, find_split_files
from .kiwi_reanalysis import kiwi_fingerprint_parts
from .klue import find_klue_files
from .span_projection import MISALIGNED_POLICIES
from .tag_schemes import TAG_SCHEMES


ERROR_POLICIES = ("raise", "skip")
# Where the morphemes come from: the corpus files, or Kiwi's analysis of the raw sentences.
ANALYZERS = ("corpus", "kiwi")
# Editing the parsing code must not serve a cache prepared by the old code: every module whose code shapes the
# dataset is here, this one and the builder's (korean_ner.py, which imports this module) included.
_SOURCE_MODULES = tuple(
    Path(module.__file__)
    for module in (
        formats,
        format_common,
        morpheme_formats,
        entity_marks,
        klue,
        kiwi_reanalysis,
        label_sets,
        corpus_reading,
        tag_schemes,
        corpora,
        span_projection,
    )
) + (Path(__file__), Path(__file__).with_name("korean_ner.py"))


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
        analyzer: ``"corpus"`` (default) keeps the corpus's morphemes; ``"kiwi"`` re-analyses each
            raw sentence with ``KiwiMorphemeAnalyzer``, as the predictor does, and projects the gold
            entity spans of its ``$`` line onto Kiwi's morphemes: POS tags are Kiwi's mapped to
            Sejong tags, ``word_ids`` index the whitespace-separated words of the text. A ``$`` line
            that does not align with its ``;`` line is a format error (``errors`` applies). A layout
            without raw text (``ner2016``, ``conll``) gets it rebuilt from the morphemes by Kiwi's
            ``join``, spaces where Kiwi's rules put them (``rebuild_text``). See ``project_entities``.
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
            for part in kiwi_fingerprint_parts():
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
