"""Readers for the two file layouts of morpheme-level Korean NER corpora.

* ``klp``: the KLP 2016 layout (kmounlp/NER, folder ``2016klp``). Each sentence is a
  ``; <raw sentence>`` line, a ``$<sentence with <surface:TYPE> marks>`` line, then one
  ``<eojeol index>\\t<morpheme>\\t<POS>\\t<NER>`` line per morpheme; sentences are separated
  by a blank line. The eojeol index is 1-based.
* ``conll``: one ``<morpheme> <POS> <NER>`` line per morpheme, tab- or whitespace-separated,
  optionally preceded by a 1-based eojeol index column; blank lines separate sentences.
  ``#`` comment lines and ``-DOCSTART-`` lines before a sentence are skipped, and a
  CoNLL-U style ``# text = <raw sentence>`` comment gives the sentence text.
* ``klue``: KLUE-NER's TSV layout (``klue-ner-v1.1_*.tsv``): ``## `` comment lines open the file; each
  sentence is a ``## <sentence id>\t<sentence with <surface:TYPE> marks>`` line, then one
  ``<character>\t<tag>`` line per character of the sentence (a space is the character `` ``), tags in
  character-level IOB2; a blank line between sentences. ``read_klue`` gives each sentence's text and the
  character spans of its entities, read from the tags (the marks of the ``##`` line are not always well formed).
* ``ner2016``: the layout of the 2016 Korean NER competition data: one
  ``<morpheme>\t<POS>\t<NER>`` line per morpheme (exactly three tab-separated fields), a
  blank line between sentences, and nothing else: no eojeol index, no sentence text, no
  comment lines (a ``#`` morpheme line is data).

Gold entity spans: a KLP 2016 ``$`` line, and each line of the sample's ``sentences.txt``,
marks entities inline as ``<surface:TYPE>``; ``read_entity_spans`` gives each sentence's raw
text with the character spans of its entities. ``read_gazette`` reads the competition's entity
dictionary (``<surface>\t<TYPE>`` lines).

Readers check the layout only; tag sequences are checked and converted in
``tag_schemes``. A reader yields one item per sentence: the ``Sentence``, or the
``CorpusFormatError`` that makes it unreadable, so that the caller decides whether to
raise or to skip it. Problems with the whole file (not UTF-8, no sentence) are raised.
"""

import codecs
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .tag_schemes import TagSequenceError, iob2_spans, to_iob2


KLP_FIELDS = "eojeol index, morpheme, POS tag, NER tag"
CONLL_FIELDS = "morpheme, POS tag, NER tag"
CONLL_FIELDS_BY_COUNT = {3: CONLL_FIELDS, 4: KLP_FIELDS}
GAZETTE_FIELDS = "surface, entity type"
KLUE_FIELDS = "a character, a tab and its character-level IOB2 tag"
UNKNOWN_WORD_ID = -1
SPAN_FILE_FORMATS = ("klp", "marked")
SPAN_ERROR_POLICIES = ("raise", "collect")

_EOJEOL_INDEX = re.compile(r"[0-9]+")
_ENTITY_TYPE = re.compile(r"[A-Z]+")
# <surface:TYPE>. The surface may hold ':' (10:30) but no angle bracket: KLP 2016 also writes
# brackets as text (<운동원인>, <<BBC:OG>>), and those are not marks.
ENTITY_MARK = re.compile(r"<([^<>]+?):([A-Z]+)>")
# A KLUE sentence line: '## <sentence id>\t<marked sentence>' (the file's own '## ' comments have no such id).
_KLUE_SENTENCE_LINE = re.compile(r"## (\S+)\t")


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


class GazetteEntry(NamedTuple):
    surface: str
    type: str


class EntityMarkError(ValueError):
    """A ``<surface:TYPE>`` mark that cannot be read; ``expected``/``found`` as in ``CorpusFormatError``."""

    def __init__(self, expected: str, found: str):
        self.expected = expected
        self.found = found
        super().__init__(f"expected {expected}; found {found}")


@dataclass
class _ColumnLayout:
    """The number of columns of a CoNLL file (3, or 4 with the eojeol index), fixed by its
    first morpheme line."""

    count: int | None = None

    def names(self) -> str:
        return CONLL_FIELDS_BY_COUNT.get(self.count, f"{CONLL_FIELDS}, optionally after an eojeol index")


@dataclass
class _Block:
    """The lines of one sentence: a run of non-blank lines."""

    lines: list[Line] = field(default_factory=list)
    problems: list[CorpusFormatError] = field(default_factory=list)


def read_klp(path: str | Path) -> Iterator[Sentence | CorpusFormatError]:
    """Yields the sentences of a KLP 2016 file (see the module docstring)."""
    path = Path(path)
    yield from _read_blocks(path, lambda block: _parse_klp_block(path, block))


def read_conll(path: str | Path) -> Iterator[Sentence | CorpusFormatError]:
    """Yields the sentences of a CoNLL-style column file (see the module docstring)."""
    path = Path(path)
    layout = _ColumnLayout()
    yield from _read_blocks(path, lambda block: _parse_conll_block(path, block, layout))


def read_ner2016(path: str | Path) -> Iterator[Sentence | CorpusFormatError]:
    """Yields the sentences of a file of the 2016 competition layout (see the module docstring).
    ``text`` is "" and every word id ``UNKNOWN_WORD_ID``: the file gives neither."""
    path = Path(path)
    yield from _read_blocks(path, lambda block: _parse_ner2016_block(path, block))


def read_klue(path: str | Path) -> Iterator[MarkedSentence | CorpusFormatError]:
    """Yields each sentence of a KLUE-NER TSV file (see the module docstring) as its text with the character spans
    of its entities (``source_id`` is KLUE's sentence id), or the ``CorpusFormatError`` that makes it unreadable.
    A tagged span that begins or ends with whitespace (2 of KLUE dev's 11,384 entities: `` 24살``) is trimmed to
    its text and counted in ``trimmed_entities``: the span of a name holds no surrounding space."""
    path = Path(path)
    yield from _read_blocks(path, lambda block: _parse_klue_block(path, block))


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


def parse_entity_marks(marked: str) -> tuple[str, list[EntitySpan]]:
    """The text of a sentence with ``<surface:TYPE>`` marks, without the marks, and the spans of the
    marked entities in that text. Angle brackets that form no mark are text. Raises
    ``EntityMarkError`` for a surface with leading or trailing whitespace."""
    parts, entities, length, cursor = [], [], 0, 0
    for match in ENTITY_MARK.finditer(marked):
        surface, entity_type = match.group(1), match.group(2)
        if surface != surface.strip():
            raise EntityMarkError("an entity surface without leading or trailing whitespace", repr(match.group(0)))
        plain = marked[cursor : match.start()]
        parts += [plain, surface]
        length += len(plain)
        entities.append(EntitySpan(length, length + len(surface), entity_type))
        length += len(surface)
        cursor = match.end()
    parts.append(marked[cursor:])
    return "".join(parts), entities


def entity_spans(sentence: Sentence) -> list[EntitySpan]:
    """The gold entity spans of a KLP sentence, read from its ``$`` line, as offsets into its
    ``text`` (the ``;`` line). Raises ``CorpusFormatError`` naming the ``$`` line where that line
    without its marks is not the ``;`` line."""
    line = sentence.marked_line
    if line is None:
        raise ValueError(f"{sentence.path}: the sentence has no '$' line (only the KLP layout has one)")
    try:
        unmarked, entities = parse_entity_marks(line.content[1:])
    except EntityMarkError as error:
        raise CorpusFormatError(sentence.path, line.number, line.raw, error.expected, error.found) from None
    if unmarked != sentence.text:
        raise CorpusFormatError(
            sentence.path,
            line.number,
            line.raw,
            "the '$' line without its <surface:TYPE> marks to be the ';' line above it",
            _first_difference(sentence.text, unmarked),
        )
    return entities


def read_entity_spans(path: str | Path, file_format: str = "klp") -> Iterator[MarkedSentence | CorpusFormatError]:
    """Yields each sentence's raw text and gold entity spans, or the ``CorpusFormatError`` that
    makes the sentence unreadable (as the other readers do).

    Args:
        path: the file.
        file_format: ``"klp"``, a KLP 2016 layout file: the spans come from the ``$`` line and must
            align with the ``;`` line; the sentence's morpheme lines are read too (``.sentence``).
            ``"marked"``, one sentence per line with inline marks, as the sample's
            ``sentences.txt``: blank lines and ``#`` comment lines are skipped, and an angle
            bracket outside a mark is an error (the text has no ``;`` line to align with).
    """
    path = Path(path)
    if file_format == "klp":
        for item in read_klp(path):
            if isinstance(item, CorpusFormatError):
                yield item
                continue
            try:
                entities = entity_spans(item)
            except CorpusFormatError as error:
                yield error
            else:
                yield MarkedSentence(path, item.marked_line.number, item.text, entities, item)
    elif file_format == "marked":
        yield from _read_marked_lines(path)
    else:
        raise ValueError(
            f"file_format={file_format!r} is not supported; expected one of {', '.join(SPAN_FILE_FORMATS)}"
        )


def load_entity_spans(
    path: str | Path, file_format: str = "klp", errors: str = "raise"
) -> tuple[list[MarkedSentence], list[CorpusFormatError]]:
    """``read_entity_spans`` as lists: the readable sentences and the errors of the others.
    ``errors="raise"`` raises the first error instead; ``"collect"`` returns them all, so that a
    caller can count and show them."""
    if errors not in SPAN_ERROR_POLICIES:
        raise ValueError(f"errors={errors!r} is not supported; expected one of {', '.join(SPAN_ERROR_POLICIES)}")
    sentences, problems = [], []
    for item in read_entity_spans(path, file_format):
        if isinstance(item, CorpusFormatError):
            if errors == "raise":
                raise item
            problems.append(item)
        else:
            sentences.append(item)
    return sentences, problems


def read_gazette(path: str | Path, entity_types: tuple[str, ...] | None = None) -> list[GazetteEntry]:
    """The entries of an entity dictionary, one ``<surface>\\t<TYPE>`` line each, in file order.

    A surface may hold spaces and occur with several types. Raises ``CorpusFormatError`` naming
    the file and line at the first line that is not a non-empty, unpadded surface, a tab and an
    upper-case type (one of ``entity_types`` where given); at a blank line; and for a file
    without entries.
    """
    path = Path(path)
    text = _decode(path)
    if not text:
        raise CorpusFormatError(path, None, None, f"at least one line ({GAZETTE_FIELDS})", "an empty file")
    raw_lines = text.split("\n")
    terminated = text.endswith("\n")
    if terminated:
        raw_lines.pop()
    crlf = bool(raw_lines) and raw_lines[0].endswith("\r")
    expected_type = "an upper-case entity type" if entity_types is None else f"one of {', '.join(entity_types)}"
    entries = []
    for number, raw in enumerate(raw_lines, start=1):
        content = raw[:-1] if crlf and raw.endswith("\r") else raw
        if crlf and content == raw and (terminated or number < len(raw_lines)):
            raise CorpusFormatError(
                path, number, raw, "a CRLF line ending like the first line of the file", "a bare LF"
            )
        if "\r" in content:
            raise CorpusFormatError(
                path, number, raw, "no carriage return inside a line", f"'\\r' at column {content.index(chr(13)) + 1}"
            )
        fields = content.split("\t")
        if len(fields) != 2:
            raise CorpusFormatError(path, number, raw, f"2 tab-separated fields ({GAZETTE_FIELDS})", str(len(fields)))
        surface, entity_type = fields
        if not surface.strip() or surface != surface.strip():
            raise CorpusFormatError(
                path, number, raw, "a non-empty surface without leading or trailing spaces", repr(surface)
            )
        if not _ENTITY_TYPE.fullmatch(entity_type) or (entity_types is not None and entity_type not in entity_types):
            raise CorpusFormatError(path, number, raw, expected_type, repr(entity_type))
        entries.append(GazetteEntry(surface, entity_type))
    return entries


def _read_blocks(path: Path, parse_block) -> Iterator[Sentence | CorpusFormatError]:
    found_any = False
    for block in _sentence_blocks(path):
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


def _decode(path: Path) -> str:
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


def _sentence_blocks(path: Path) -> list[_Block]:
    """Splits a file into runs of non-blank lines, checking line endings on the way.

    The first line sets the file's line ending (CRLF or LF); a line breaking it, or a
    carriage return inside a line, is a problem of the sentence it belongs to. A blank line
    with such a problem belongs to the sentence it closes (or to the next one at the start).
    """
    text = _decode(path)
    if not text:
        raise CorpusFormatError(path, None, None, f"at least one line ({GAZETTE_FIELDS})", "an empty file")
    raw_lines = text.split("\n")
    terminated = text.endswith("\n")
    if terminated:
        raw_lines.pop()  # the empty string after the final newline
    crlf = bool(raw_lines) and raw_lines[0].endswith("\r")

    blocks: list[_Block] = []
    current = _Block()
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
            current = _Block()
    if current.lines:
        blocks.append(current)
    if blocks:
        blocks[0].problems[:0] = orphan_problems
    return blocks


def _parse_klp_block(path: Path, block: _Block) -> Sentence:
    if block.problems:
        raise block.problems[0]
    header, *rest = block.lines
    if not header.content.startswith("; "):
        raise CorpusFormatError(
            path,
            header.number,
            header.raw,
            "a '; <raw sentence>' line opening the sentence",
            "another line",
        )
    text = header.content[2:]
    if not rest or not rest[0].content.startswith("$"):
        line = rest[0] if rest else header
        raise CorpusFormatError(
            path, line.number, line.raw, "a '$<annotated sentence>' line after the ';' line", "another line"
        )
    morpheme_lines = rest[1:]
    if not morpheme_lines:
        raise CorpusFormatError(
            path, rest[0].number, rest[0].raw, f"morpheme lines ({KLP_FIELDS}) after the '$' line", "none"
        )

    sentence = Sentence(path, [], [], [], [], text, morpheme_lines, marked_line=rest[0])
    for line in morpheme_lines:
        fields = _split_fields(path, line, separator="\t", names=KLP_FIELDS, counts=(4,))
        index, token, pos_tag, ner_tag = fields
        sentence.word_ids.append(_eojeol_index(path, line, index, sentence.word_ids))
        sentence.tokens.append(token)
        sentence.pos_tags.append(pos_tag)
        sentence.ner_tags.append(ner_tag)
    _check_last_eojeol(path, sentence)
    return sentence


def _parse_conll_block(path: Path, block: _Block, layout: _ColumnLayout) -> Sentence | None:
    """Returns None for a block of comment and -DOCSTART- lines only."""
    if block.problems:
        raise block.problems[0]
    text = ""
    lines = block.lines
    # Comment and -DOCSTART- lines may only precede the morphemes (as in CoNLL-U): a "#" line
    # after the first morpheme is a morpheme line whose token is "#".
    while lines and (lines[0].content.startswith("#") or lines[0].content.split()[0] == "-DOCSTART-"):
        comment = lines[0].content.lstrip("#").strip()
        if comment.startswith("text ="):
            text = comment[len("text =") :].strip()
        lines = lines[1:]
    if not lines:
        return None

    sentence = Sentence(path, [], [], [], [], text, lines)
    for line in lines:
        fields = _split_fields(
            path,
            line,
            separator="\t" if "\t" in line.content else None,
            names=layout.names(),
            counts=(layout.count,) if layout.count else tuple(CONLL_FIELDS_BY_COUNT),
        )
        layout.count = len(fields)
        *index, token, pos_tag, ner_tag = fields
        if index:
            sentence.word_ids.append(_eojeol_index(path, line, index[0], sentence.word_ids))
        else:
            sentence.word_ids.append(UNKNOWN_WORD_ID)
        sentence.tokens.append(token)
        sentence.pos_tags.append(pos_tag)
        sentence.ner_tags.append(ner_tag)
    if text and layout.count == 4:
        _check_last_eojeol(path, sentence)
    return sentence


def _parse_ner2016_block(path: Path, block: _Block) -> Sentence:
    if block.problems:
        raise block.problems[0]
    sentence = Sentence(path, [], [], [], [], "", block.lines)
    for line in block.lines:
        token, pos_tag, ner_tag = _split_fields(path, line, separator="\t", names=CONLL_FIELDS, counts=(3,))
        sentence.tokens.append(token)
        sentence.pos_tags.append(pos_tag)
        sentence.ner_tags.append(ner_tag)
        sentence.word_ids.append(UNKNOWN_WORD_ID)
    return sentence


def _parse_klue_block(path: Path, block: _Block) -> MarkedSentence | None:
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


def _read_marked_lines(path: Path) -> Iterator[MarkedSentence | CorpusFormatError]:
    found_any = False
    for number, raw in enumerate(_decode(path).split("\n"), start=1):
        content = raw.removesuffix("\r")
        if not content.strip() or content.startswith("#"):
            continue
        found_any = True
        try:
            text, entities = parse_entity_marks(content)
        except EntityMarkError as error:
            yield CorpusFormatError(path, number, raw, error.expected, error.found)
            continue
        stray = next((column for column, char in enumerate(text, start=1) if char in "<>"), None)
        if stray is not None:
            yield CorpusFormatError(
                path,
                number,
                raw,
                "entities marked <surface:TYPE> and no other angle bracket",
                f"{text[stray - 1]!r} at character {stray} of the unmarked sentence",
            )
        elif text != text.strip():
            yield CorpusFormatError(path, number, raw, "a sentence without leading or trailing whitespace", "some")
        else:
            yield MarkedSentence(path, number, text, entities)
    if not found_any:
        raise CorpusFormatError(path, None, None, "at least one sentence", "none")


def _first_difference(expected: str, found: str) -> str:
    """Where two sentences first differ, with a little context of each."""
    index = next((i for i, (a, b) in enumerate(zip(expected, found)) if a != b), min(len(expected), len(found)))
    window = slice(max(index - 5, 0), index + 10)
    return (
        f"a difference at character {index + 1} of the sentence: the ';' line has {expected[window]!r} "
        f"where the unmarked '$' line has {found[window]!r}"
    )


def _split_fields(path: Path, line: Line, separator: str | None, names: str, counts: tuple[int, ...]) -> list[str]:
    fields = [field.strip() for field in line.content.split(separator)]
    if len(fields) not in counts:
        how = "tab-separated" if separator == "\t" else "tab- or space-separated"
        expected = " or ".join(str(count) for count in counts)
        raise CorpusFormatError(path, line.number, line.raw, f"{expected} {how} fields ({names})", f"{len(fields)}")
    for position, value in enumerate(fields, start=1):
        if not value:
            raise CorpusFormatError(
                path, line.number, line.raw, f"a non-empty field {position} ({names})", "an empty one"
            )
    return fields


def _eojeol_index(path: Path, line: Line, value: str, previous_word_ids: list[int]) -> int:
    """Converts a 1-based eojeol index to a 0-based word id, checking that it starts at 1
    and then stays or grows by one from morpheme to morpheme."""
    if not _EOJEOL_INDEX.fullmatch(value):
        raise CorpusFormatError(path, line.number, line.raw, "an integer eojeol index", repr(value))
    word_id = int(value) - 1
    allowed = (previous_word_ids[-1], previous_word_ids[-1] + 1) if previous_word_ids else (0,)
    if word_id not in allowed:
        expected = " or ".join(str(allowed_id + 1) for allowed_id in allowed)
        raise CorpusFormatError(path, line.number, line.raw, f"eojeol index {expected}", value)
    return word_id


def _check_last_eojeol(path: Path, sentence: Sentence) -> None:
    """The eojeol indexes must cover exactly the space-separated words of the sentence text."""
    word_count = len(sentence.text.split())
    if sentence.word_ids[-1] + 1 != word_count:
        line = sentence.lines[-1]
        raise CorpusFormatError(
            path,
            line.number,
            line.raw,
            f"the last eojeol index to be {word_count}, the number of words in the sentence text",
            str(sentence.word_ids[-1] + 1),
        )
