"""KLUE-NER v1.1: its TSV layout, read and written, and its splits.

The ``klue`` layout, KLUE-NER's TSV files (``klue-ner-v1.1_*.tsv``): ``## `` comment lines open the file; each
sentence is a ``## <sentence id>\t<sentence with <surface:TYPE> marks>`` line, then one
``<character>\t<tag>`` line per character of the sentence (a space is the character `` ``), tags in
character-level IOB2; a blank line between sentences. ``read_klue`` gives each sentence's text and the
character spans of its entities, read from the tags (the marks of the ``##`` line are not always well formed).

The ``klue`` config reads a folder's KLUE-NER files (``find_klue_files``); the dev file is split by sentence id into
fixed train, validation and test splits (``klue_split``), and each sentence is analysed by Kiwi with its gold
character spans projected onto the morphemes (``read_klue_splits``).
"""

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from .format_common import Block, CorpusFormatError, EntitySpan, Line, MarkedSentence, Sentence, read_blocks
from .kiwi_reanalysis import reanalyse_with_kiwi
from .span_projection import ProjectionStats
from .tag_schemes import TagSequenceError, iob2_spans, to_iob2


KLUE_FIELDS = "a character, a tab and its character-level IOB2 tag"
# A KLUE sentence line: '## <sentence id>\t<marked sentence>' (the file's own '## ' comments have no such id).
_KLUE_SENTENCE_LINE = re.compile(r"## (\S+)\t")
# KLUE-NER files, and how its dev file is shared out: each sentence goes to the split of its id's bucket
# (``klue_split``), so that a sentence keeps its split whatever else the file holds.
KLUE_FILE_PATTERNS = {"train": "klue-ner-v1.1_train*.tsv", "dev": "klue-ner-v1.1_dev*.tsv"}
KLUE_SPLIT_FRACTIONS = (("train", 0.75), ("validation", 0.10), ("test", 0.15))
_KLUE_SENTENCE_KEY = re.compile(r"_((?:train|dev)_[0-9]+)")


def read_klue(path: str | Path) -> Iterator[MarkedSentence | CorpusFormatError]:
    """Yields each sentence of a KLUE-NER TSV file (see the module docstring) as its text with the character spans
    of its entities (``source_id`` is KLUE's sentence id), or the ``CorpusFormatError`` that makes it unreadable.
    A tagged span that begins or ends with whitespace (2 of KLUE dev's 11,384 entities: `` 24살``) is trimmed to
    its text and counted in ``trimmed_entities``: the span of a name holds no surrounding space."""
    path = Path(path)
    yield from read_blocks(path, lambda block: _parse_klue_block(path, block))


KLUE_FILE_HEADER = "## 토큰, 레이블 구분자 : \\t\n## 토큰 구분자 : \\n\n## 문장 구분자 : \\n\\n\n## 주석 : ##\n## 컬럼명 : CHAR\tNE_TAG\n"


def write_klue(path: str | Path, sentences: Iterable[tuple[str, str, Sequence[str], Sequence[str]]]) -> Path:
    """Writes sentences in KLUE-NER's TSV layout (as ``read_klue`` reads it), each given as ``(sentence id,
    marked sentence, characters, character-level IOB2 tags)``; returns the path."""
    path = Path(path)
    blocks = []
    for sentence_id, marked, characters, tags in sentences:
        if len(characters) != len(tags):
            raise ValueError(
                f"{sentence_id}: expected one tag per character ({len(characters)}), received {len(tags)} tags"
            )
        lines = [f"## {sentence_id}\t{marked}"] + [f"{char}\t{tag}" for char, tag in zip(characters, tags)]
        blocks.append("\n".join(lines) + "\n")
    path.write_text(KLUE_FILE_HEADER + "\n".join(blocks), encoding="utf-8")
    return path


def _parse_klue_block(path: Path, block: Block) -> MarkedSentence | None:
    if block.problems:
        raise block.problems[0]
    lines = block.lines
    first = 0
    while first < len(lines) and lines[first].content.startswith("## "):
        if _KLUE_SENTENCE_LINE.match(lines[first].content):
            break
        first += 1  # the file's own comment lines
    if first == len(lines):
        return None
    header, character_lines = lines[first], lines[first + 1 :]
    match = _KLUE_SENTENCE_LINE.match(header.content)
    if match is None:
        raise CorpusFormatError(
            path,
            header.number,
            header.raw,
            "a '## <sentence id>\\t<marked sentence>' line opening the sentence",
            "none",
        )
    if not character_lines:
        raise CorpusFormatError(path, header.number, header.raw, f"lines of {KLUE_FIELDS} after it", "none")
    characters, tags = [], []
    for line in character_lines:
        fields = line.content.split("\t")
        if len(fields) != 2 or len(fields[0]) != 1:
            found = f"{len(fields)} field(s)" if len(fields) != 2 else f"{len(fields[0])} characters before the tab"
            raise CorpusFormatError(path, line.number, line.raw, KLUE_FIELDS, found)
        characters.append(fields[0])
        tags.append(fields[1])
    try:
        tags = to_iob2(tags, "iob2")
    except TagSequenceError as error:
        line = character_lines[error.position]
        raise CorpusFormatError(path, line.number, line.raw, error.expected, error.found) from None
    text = "".join(characters)
    entities, trimmed = [], 0
    for entity, first_char, last_char in iob2_spans(tags):
        surface = text[first_char:last_char]
        start = first_char + len(surface) - len(surface.lstrip())
        end = last_char - (len(surface) - len(surface.rstrip()))
        if start >= end:
            line = character_lines[first_char]
            raise CorpusFormatError(path, line.number, line.raw, "an entity with text", "only whitespace tagged")
        trimmed += (start, end) != (first_char, last_char)
        entities.append(EntitySpan(start, end, entity))
    return MarkedSentence(path, header.number, text, entities, source_id=match.group(1), trimmed_entities=trimmed)


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


def read_klue_splits(
    split_files: Mapping[str, list[str]], analyzer, misaligned_entities: str, reject
) -> tuple[dict[str, list[Sentence]], dict[str, ProjectionStats]]:
    """Reads KLUE-NER files into the splits of ``find_klue_files``, each sentence analysed by ``analyzer`` (a
    ``KiwiMorphemeAnalyzer``) with its gold character spans projected onto the morphemes (``reject`` gets unreadable
    sentences)."""
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
            header = Line(item.line_number, "", "")
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
