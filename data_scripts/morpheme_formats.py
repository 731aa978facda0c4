"""Readers of the layouts with one line per morpheme: ``klp``, ``conll`` and ``ner2016`` (``formats`` describes each
layout).

Readers check the layout only; tag sequences are checked and converted in ``tag_schemes``. Each yields one item per
sentence: the ``Sentence``, or the ``CorpusFormatError`` that makes it unreadable (``format_common``).
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .format_common import UNKNOWN_WORD_ID, Block, CorpusFormatError, Line, Sentence, read_blocks


KLP_FIELDS = "eojeol index, morpheme, POS tag, NER tag"
CONLL_FIELDS = "morpheme, POS tag, NER tag"
CONLL_FIELDS_BY_COUNT = {3: CONLL_FIELDS, 4: KLP_FIELDS}

_EOJEOL_INDEX = re.compile(r"[0-9]+")


@dataclass
class _ColumnLayout:
    """The number of columns of a CoNLL file (3, or 4 with the eojeol index), fixed by its
    first morpheme line."""

    count: int | None = None

    def names(self) -> str:
        return CONLL_FIELDS_BY_COUNT.get(self.count, f"{CONLL_FIELDS}, optionally after an eojeol index")


def read_klp(path: str | Path) -> Iterator[Sentence | CorpusFormatError]:
    """Yields the sentences of a KLP 2016 file (see the module docstring)."""
    path = Path(path)
    yield from read_blocks(path, lambda block: _parse_klp_block(path, block))


def read_conll(path: str | Path) -> Iterator[Sentence | CorpusFormatError]:
    """Yields the sentences of a CoNLL-style column file (see the module docstring)."""
    path = Path(path)
    layout = _ColumnLayout()
    yield from read_blocks(path, lambda block: _parse_conll_block(path, block, layout))


def read_ner2016(path: str | Path) -> Iterator[Sentence | CorpusFormatError]:
    """Yields the sentences of a file of the 2016 competition layout (see the module docstring).
    ``text`` is "" and every word id ``UNKNOWN_WORD_ID``: the file gives neither."""
    path = Path(path)
    yield from read_blocks(path, lambda block: _parse_ner2016_block(path, block))


def _parse_klp_block(path: Path, block: Block) -> Sentence:
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


def _parse_conll_block(path: Path, block: Block, layout: _ColumnLayout) -> Sentence | None:
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


def _parse_ner2016_block(path: Path, block: Block) -> Sentence:
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
