"""Readers for the file layouts of morpheme-level Korean NER corpora, all importable from here.

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

Where they live: ``morpheme_formats`` (``klp``, ``conll``, ``ner2016``), ``klue`` (``klue``, with its splits),
``entity_marks`` (the ``<surface:TYPE>`` marks) and ``format_common`` (the types a reader yields, and the reading of a
file into sentence blocks); the entity dictionary is read here.
"""

import re
from pathlib import Path
from typing import NamedTuple

from .entity_marks import (
    ENTITY_MARK,
    SPAN_ERROR_POLICIES,
    SPAN_FILE_FORMATS,
    EntityMarkError,
    entity_spans,
    load_entity_spans,
    parse_entity_marks,
    read_entity_spans,
)
from .format_common import (
    GAZETTE_FIELDS,
    UNKNOWN_WORD_ID,
    CorpusFormatError,
    EntitySpan,
    Line,
    MarkedSentence,
    Sentence,
    file_lines,
)
from .klue import KLUE_FIELDS, KLUE_FILE_HEADER, read_klue, write_klue
from .morpheme_formats import CONLL_FIELDS, CONLL_FIELDS_BY_COUNT, KLP_FIELDS, read_conll, read_klp, read_ner2016


_ENTITY_TYPE = re.compile(r"[A-Z]+")


class GazetteEntry(NamedTuple):
    surface: str
    type: str


def read_gazette(path: str | Path, entity_types: tuple[str, ...] | None = None) -> list[GazetteEntry]:
    """The entries of an entity dictionary, one ``<surface>\\t<TYPE>`` line each, in file order.

    A surface may hold spaces and occur with several types. Raises ``CorpusFormatError`` naming
    the file and line at the first line that is not a non-empty, unpadded surface, a tab and an
    upper-case type (one of ``entity_types`` where given); at a blank line; and for a file
    without entries.
    """
    path = Path(path)
    raw_lines, terminated, crlf = file_lines(path, f"at least one line ({GAZETTE_FIELDS})")
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


__all__ = [
    "CONLL_FIELDS",
    "CONLL_FIELDS_BY_COUNT",
    "ENTITY_MARK",
    "GAZETTE_FIELDS",
    "KLP_FIELDS",
    "KLUE_FIELDS",
    "KLUE_FILE_HEADER",
    "SPAN_ERROR_POLICIES",
    "SPAN_FILE_FORMATS",
    "UNKNOWN_WORD_ID",
    "CorpusFormatError",
    "EntityMarkError",
    "EntitySpan",
    "GazetteEntry",
    "Line",
    "MarkedSentence",
    "Sentence",
    "entity_spans",
    "load_entity_spans",
    "parse_entity_marks",
    "read_conll",
    "read_entity_spans",
    "read_gazette",
    "read_klp",
    "read_klue",
    "read_ner2016",
    "write_klue",
]
