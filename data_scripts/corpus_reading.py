"""Reading a corpus's split files into sentences for the ``KoreanNER`` builder: the files of a folder
(``find_split_files``), each read in the config's layout (``READERS``), NER tags converted to IOB2, re-analysed with
Kiwi where the config says so, and malformed sentences raised or skipped (``read_sentences``).
"""

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

from .entity_marks import entity_spans
from .format_common import CorpusFormatError, Sentence
from .kiwi_reanalysis import projection_note, reanalyse_splits
from .klue import read_klue, read_klue_splits
from .morpheme_formats import read_conll, read_klp, read_ner2016
from .span_projection import ProjectionStats
from .tag_schemes import TagSequenceError, detect_tag_scheme, to_iob2


# The warnings about a corpus are the builder's: they go to the logger of ``korean_ner``, which reads the corpus.
logger = logging.getLogger(f"{__name__.rpartition('.')[0]}.korean_ner")

READERS = {"klp": read_klp, "conll": read_conll, "ner2016": read_ner2016, "klue": read_klue}
# Files looked up in data_dir, per split, in order of preference.
SPLIT_FILE_NAMES = {
    "train": ("train.txt", "ner.train"),
    "validation": ("validation.txt", "dev.txt", "ner.dev"),
    "test": ("test.txt", "ner.test"),
}
_REPORTED_SKIP_REASONS = 3


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


def read_sentences(
    split_files: Mapping[str, list[str]], config, new_analyzer: Callable
) -> tuple[dict[str, list[Sentence]], dict[str, ProjectionStats] | None]:
    """Reads every split, converts NER tags to IOB2, re-analyses it with Kiwi where the config
    says so, and raises or skips malformed sentences. ``config`` is a ``KoreanNERConfig``;
    ``new_analyzer()`` gives the ``KiwiMorphemeAnalyzer`` of a re-analysis."""
    skipped: list[CorpusFormatError] = []

    def reject(error: CorpusFormatError) -> None:
        if config.errors == "raise":
            raise error
        skipped.append(error)

    if config.file_format == "klue":
        sentences, projection_stats = read_klue_splits(split_files, new_analyzer(), config.misaligned_entities, reject)
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
        projection_stats = reanalyse_splits(sentences, new_analyzer(), config.misaligned_entities, reject)
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
    skipped: list[CorpusFormatError], projection_stats: dict[str, ProjectionStats] | None, misaligned_entities: str
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
        logger.warning(projection_note(projection_stats, misaligned_entities))
