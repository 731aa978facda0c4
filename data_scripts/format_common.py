"""What every corpus reader of ``formats`` shares: the items a reader yields (``Sentence``, ``MarkedSentence`` with
its ``EntitySpan``s), the ``CorpusFormatError`` that makes a sentence unreadable, and the reading of a file into
sentence blocks (runs of non-blank lines), with its UTF-8 and line-ending checks.

A reader yields one item per sentence: the sentence, or the ``CorpusFormatError`` that makes it unreadable, so that
the caller decides whether to raise or to skip it (``read_blocks``). Problems with the whole file (not UTF-8, no
sentence) are raised.
"""

import codecs
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple


# The fields of an entity dictionary line (``formats.read_gazette``); an empty file of any layout is reported with them.
GAZETTE_FIELDS = "surface, entity type"
UNKNOWN_WORD_ID = -1


class CorpusFormatError(ValueError):
    """A corpus file does not follow its format. The message names the file, the line, the
    line itself and what was expected there."""

    def __init__(
        self,
        path: str | Path,
        line_number: int | None,
        line: str | bytes | None,
        expected: str,
        found: str,
    ):
        self.path = Path(path)
        self.line_number = line_number
        self.line = line
        self.expected = expected
        self.found = found
        location = str(path) if line_number is None else f"{path}, line {line_number}"
        message = f"{location}: expected {expected}; found {found}"
        if line is not None:
            message += f": {line!r}"
        super().__init__(message)


@dataclass(frozen=True)
class Line:
    number: int  # 1-based
    raw: str  # as in the file, without the final "\n"
    content: str  # without the line ending


@dataclass
class Sentence:
    path: Path
    tokens: list[str]
    pos_tags: list[str]
    ner_tags: list[str]  # as written in the file, in whatever tag scheme it uses
    word_ids: list[int]  # 0-based eojeol index of each morpheme, UNKNOWN_WORD_ID if the file has none
    text: str  # the raw sentence, "" if the file does not give it
    lines: list[Line]  # the line of each morpheme, for error messages
    marked_line: Line | None = None  # the KLP '$' line (entities marked inline), None in other layouts
    id: str | None = None  # the corpus's own sentence id (KLUE's), None where it has none
    entities: "list[EntitySpan] | None" = None  # gold character spans of `text`; None where the source gives none


class EntitySpan(NamedTuple):
    """A gold entity of a raw sentence: character offsets (end exclusive) and type."""

    start: int
    end: int
    type: str


@dataclass
class MarkedSentence:
    """A raw sentence with the character spans of its gold entities."""

    path: Path
    line_number: int  # the line the marks were read from: the KLP '$' line, or the sentences.txt line
    text: str
    entities: list[EntitySpan]
    sentence: Sentence | None = None  # the KLP morpheme lines (tags as in the file); None for "marked"
    source_id: str | None = None  # the corpus's own sentence id (KLUE's), None where it has none
    trimmed_entities: int = 0  # entities whose tagged span began or ended with whitespace, trimmed off (KLUE)


@dataclass
class Block:
    """The lines of one sentence: a run of non-blank lines."""

    lines: list[Line] = field(default_factory=list)
    problems: list[CorpusFormatError] = field(default_factory=list)


def read_blocks(path: Path, parse_block) -> Iterator[Sentence | CorpusFormatError]:
    """Yields ``parse_block(block)`` for each sentence block of the file (none where it returns None), or the
    ``CorpusFormatError`` it raises; raises one for a file without sentences."""
    found_any = False
    for block in sentence_blocks(path):
        try:
            sentence = parse_block(block)
        except CorpusFormatError as error:
            yield error
            found_any = True
        else:
            if sentence is not None:
                yield sentence
                found_any = True
    if not found_any:
        raise CorpusFormatError(path, None, None, "at least one sentence", "none")


def decode(path: Path) -> str:
    """The text of a UTF-8 file (a BOM left out); ``CorpusFormatError`` naming the line of the first byte that is not
    UTF-8."""
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        line_end = data.find(b"\n", error.start)
        line = data[line_start : len(data) if line_end == -1 else line_end]
        line_number = data.count(b"\n", 0, error.start) + 1
        raise CorpusFormatError(
            path, line_number, line, "UTF-8 text", f"byte {data[error.start]:#04x}, which is not UTF-8"
        ) from error


def file_lines(path: Path, expected: str) -> tuple[list[str], bool, bool]:
    """The lines of a non-empty file, with their line-ending characters but the final newline: `(lines, whether
    the file ends with a newline, whether its first line ends in CRLF)`. An empty file raises `CorpusFormatError`
    saying that `expected` was expected."""
    text = decode(path)
    if not text:
        raise CorpusFormatError(path, None, None, expected, "an empty file")
    lines = text.split("\n")
    terminated = text.endswith("\n")
    if terminated:
        lines.pop()  # the empty string after the final newline
    return lines, terminated, bool(lines) and lines[0].endswith("\r")


def sentence_blocks(path: Path) -> list[Block]:
    """Splits a file into runs of non-blank lines, checking line endings on the way.

    The first line sets the file's line ending (CRLF or LF); a line breaking it, or a
    carriage return inside a line, is a problem of the sentence it belongs to. A blank line
    with such a problem belongs to the sentence it closes (or to the next one at the start).
    """
    raw_lines, terminated, crlf = file_lines(path, "at least one sentence")

    blocks: list[Block] = []
    current = Block()
    orphan_problems: list[CorpusFormatError] = []
    for index, raw in enumerate(raw_lines):
        number = index + 1
        ends_in_cr = raw.endswith("\r")
        content = raw[:-1] if crlf and ends_in_cr else raw
        unterminated_last_line = not terminated and index == len(raw_lines) - 1
        problem = None
        if crlf and not ends_in_cr and not unterminated_last_line:
            problem = CorpusFormatError(
                path, number, raw, "a CRLF line ending like the first line of the file", "a bare LF"
            )
        elif "\r" in content:
            problem = CorpusFormatError(
                path,
                number,
                raw,
                "no '\\r' before the CRLF line ending"
                if crlf
                else "no '\\r' (the file's first line ends in a bare LF)",
                f"'\\r' at column {content.index(chr(13)) + 1}",
            )

        if content.strip():
            current.lines.append(Line(number, raw, content))
            if problem:
                current.problems.append(problem)
            continue
        if problem:
            if current.lines:
                current.problems.append(problem)
            elif blocks:
                blocks[-1].problems.append(problem)
            else:
                orphan_problems.append(problem)
        if current.lines:
            blocks.append(current)
            current = Block()
    if current.lines:
        blocks.append(current)
    if blocks:
        blocks[0].problems[:0] = orphan_problems
    return blocks
