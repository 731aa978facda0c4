"""Gold entity spans written inline as ``<surface:TYPE>`` marks: a KLP 2016 ``$`` line, and each line of the
sample's ``sentences.txt`` (the ``marked`` layout). ``read_entity_spans`` gives each sentence's raw text with the
character spans of its entities.
"""

import re
from collections.abc import Iterator
from pathlib import Path

from .format_common import CorpusFormatError, EntitySpan, MarkedSentence, Sentence, decode
from .morpheme_formats import read_klp


SPAN_FILE_FORMATS = ("klp", "marked")
SPAN_ERROR_POLICIES = ("raise", "collect")
# <surface:TYPE>. The surface may hold ':' (10:30) but no angle bracket: KLP 2016 also writes
# brackets as text (<운동원인>, <<BBC:OG>>), and those are not marks.
ENTITY_MARK = re.compile(r"<([^<>]+?):([A-Z]+)>")


class EntityMarkError(ValueError):
    """A ``<surface:TYPE>`` mark that cannot be read; ``expected``/``found`` as in ``CorpusFormatError``."""

    def __init__(self, expected: str, found: str):
        self.expected = expected
        self.found = found
        super().__init__(f"expected {expected}; found {found}")


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


def _read_marked_lines(path: Path) -> Iterator[MarkedSentence | CorpusFormatError]:
    found_any = False
    for number, raw in enumerate(decode(path).split("\n"), start=1):
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
