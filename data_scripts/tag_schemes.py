"""NER tag schemes: detection, validation and conversion to IOB2.

Schemes (``TYPE`` is an entity type such as ``PS``):

* ``iob2``: ``B-TYPE`` opens every entity, ``I-TYPE`` continues it.
* ``iob1``: ``I-TYPE`` opens an entity; ``B-TYPE`` only marks an entity that directly
  follows another one of the same type.
* ``bioes``: ``B-``/``I-``/``E-`` for the first/inside/last morpheme of an entity,
  ``S-TYPE`` for a one-morpheme entity.
* ``klp``: KLP 2016 tags, ``B_TYPE`` opens an entity and a bare ``I`` continues it.

``O`` is outside any entity in every scheme.
"""

from collections.abc import Iterable, Sequence


TAG_SCHEMES = ("iob1", "iob2", "bioes", "klp")
OUTSIDE = "O"


class TagSequenceError(ValueError):
    """A tag that the scheme does not allow at its position."""

    def __init__(self, position: int, expected: str, found: str):
        self.position = position
        self.expected = expected
        self.found = found
        super().__init__(f"expected {expected}; found {found}")


def detect_tag_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
    """Guesses the scheme of a corpus from all its tag sequences.

    KLP tags and BIOES ``E-``/``S-`` prefixes are unambiguous. Otherwise an ``I-TYPE``
    opening an entity means IOB1; without one, IOB1 and IOB2 read the tags the same way.
    """
    has_klp_tags = has_bioes_tags = has_iob1_openings = False
    for tags in tag_sequences:
        previous = OUTSIDE
        for tag in tags:
            has_klp_tags |= tag == "I" or tag.startswith("B_")
            has_bioes_tags |= tag.startswith(("E-", "S-"))
            has_iob1_openings |= tag.startswith("I-") and previous not in (f"B-{tag[2:]}", tag)
            previous = tag
    if has_klp_tags:
        return "klp"
    if has_bioes_tags:
        return "bioes"
    return "iob1" if has_iob1_openings else "iob2"


def to_iob2(tags: Sequence[str], scheme: str) -> list[str]:
    """Converts the tags of one sentence to IOB2, raising ``TagSequenceError`` for a tag
    the scheme does not allow where it stands."""
    converters = {"iob1": _from_iob1, "iob2": _from_iob2, "bioes": _from_bioes, "klp": _from_klp}
    if scheme not in converters:
        raise ValueError(f"Unknown tag scheme {scheme!r}; expected one of {', '.join(TAG_SCHEMES)}")
    return converters[scheme](tags)


def iob2_label_names(entity_types: Iterable[str]) -> list[str]:
    """The IOB2 labels of the given entity types: ``O`` first, then by type name, ``B-``
    before ``I-``."""
    return [OUTSIDE] + [f"{prefix}-{entity_type}" for entity_type in sorted(set(entity_types)) for prefix in "BI"]


def iob2_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """``(type, first, last)`` position ranges (``last`` exclusive) of the entities of an IOB2 tag sequence, read
    as the metric scores them (strict IOB2): ``B-X`` opens an entity, ``I-X`` continues an open ``X`` entity, and
    an ``I-X`` that continues none opens nothing."""
    spans = []
    open_entity = False
    for index, tag in enumerate(tags):
        prefix, _, entity = tag.partition("-")
        if prefix == "I" and open_entity and spans[-1][0] == entity:
            spans[-1] = (entity, spans[-1][1], index + 1)
        elif prefix == "B":
            spans.append((entity, index, index + 1))
            open_entity = True
        else:
            open_entity = False
    return spans


def entity_type(iob2_tag: str) -> str:
    """The entity type of a ``B-TYPE`` or ``I-TYPE`` tag."""
    return iob2_tag[2:]


def is_iob2_tag(tag: str) -> bool:
    return tag == OUTSIDE or (tag[:2] in ("B-", "I-") and len(tag) > 2)


def _split_prefixed(tag: str, position: int, prefixes: str) -> tuple[str, str]:
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, separator, entity = tag.partition("-")
    if not (separator and entity and len(prefix) == 1 and prefix in prefixes):
        allowed = ", ".join(f"'{prefix}-<TYPE>'" for prefix in prefixes)
        raise TagSequenceError(position, f"'O' or {allowed}", repr(tag))
    return prefix, entity


def _describe_previous(tags: Sequence[str], position: int) -> str:
    return "at the start of the sentence" if position == 0 else f"after {tags[position - 1]!r}"


def _from_iob2(tags: Sequence[str]) -> list[str]:
    open_type = None
    for position, tag in enumerate(tags):
        prefix, entity = _split_prefixed(tag, position, "BI")
        if prefix == "I" and entity != open_type:
            raise TagSequenceError(
                position,
                f"'I-{entity}' only after 'B-{entity}' or 'I-{entity}'",
                f"{tag!r} {_describe_previous(tags, position)}",
            )
        open_type = entity or None
    return list(tags)


def _from_iob1(tags: Sequence[str]) -> list[str]:
    converted = []
    open_type = None
    for position, tag in enumerate(tags):
        prefix, entity = _split_prefixed(tag, position, "BI")
        if prefix == "I" and entity != open_type:
            converted.append(f"B-{entity}")
        else:
            converted.append(tag)
        open_type = entity or None
    return converted


def _from_bioes(tags: Sequence[str]) -> list[str]:
    converted = []
    open_type = None
    for position, tag in enumerate(tags):
        prefix, entity = _split_prefixed(tag, position, "BIES")
        continues_entity = prefix in ("I", "E")
        if open_type is not None and not (continues_entity and entity == open_type):
            raise TagSequenceError(
                position,
                f"'I-{open_type}' or 'E-{open_type}' to continue or close the entity",
                f"{tag!r} {_describe_previous(tags, position)}",
            )
        if open_type is None and continues_entity:
            raise TagSequenceError(
                position,
                f"'{prefix}-{entity}' only after 'B-{entity}' or 'I-{entity}'",
                f"{tag!r} {_describe_previous(tags, position)}",
            )
        if prefix == OUTSIDE:
            converted.append(OUTSIDE)
        else:
            converted.append(f"{'B' if prefix in ('B', 'S') else 'I'}-{entity}")
        open_type = entity if prefix in ("B", "I") else None
    if open_type is not None:
        raise TagSequenceError(
            len(tags) - 1,
            f"'I-{open_type}' or 'E-{open_type}' to continue or close the entity",
            f"the end of the sentence after {tags[-1]!r}",
        )
    return converted


def _from_klp(tags: Sequence[str]) -> list[str]:
    converted = []
    open_type = None
    for position, tag in enumerate(tags):
        if tag == OUTSIDE:
            open_type = None
            converted.append(OUTSIDE)
        elif tag == "I":
            if open_type is None:
                raise TagSequenceError(
                    position,
                    "'I' only after 'B_<TYPE>' or 'I'",
                    f"'I' {_describe_previous(tags, position)}",
                )
            converted.append(f"I-{open_type}")
        elif tag.startswith("B_") and len(tag) > 2:
            open_type = tag[2:]
            converted.append(f"B-{open_type}")
        else:
            raise TagSequenceError(position, "'O', 'B_<TYPE>' or 'I'", repr(tag))
    return converted
