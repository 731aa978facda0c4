"""The optional per-morpheme features of the tokenizer's encoding: the eojeol position of each morpheme (from its
eojeol index) and the matches of a gazetteer ([`Gazetteer`]), computed from the same inputs in training and at
inference. A remote-code module, like the tokenizer that imports it; it needs no torch.
"""

import json
import os
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path


# `eojeol_ids`: the eojeol position of each morpheme. Unknown (no eojeol index, or padding) is the padding id.
EOJEOL_UNKNOWN_ID, EOJEOL_INITIAL_ID, EOJEOL_INTERNAL_ID = 0, 1, 2
NUM_EOJEOL_IDS = len((EOJEOL_UNKNOWN_ID, EOJEOL_INITIAL_ID, EOJEOL_INTERNAL_ID))
# `gazetteer_flags`: per entity type, whether a match of that type starts (B) or continues (I) at a morpheme.
GAZETTEER_FLAG_PREFIXES = ("B", "I")
# Shorter gazetteer surfaces (one syllable: 일, 중, 미) are mostly other words: they are left out.
MIN_GAZETTEER_SURFACE_LENGTH = 2


def eojeol_ids_of(word_ids: Sequence[int]) -> list[int]:
    """The `eojeol_ids` of a sentence from each morpheme's eojeol index (`word_ids`, -1 where unknown). A morpheme is
    eojeol-initial when it is the sentence's first or its eojeol index differs from the previous morpheme's,
    eojeol-internal otherwise: of the morphemes of a contraction (했 = 하 + 었, one shared span) only the first can
    start an eojeol. At inference the predictor gives each morpheme the index of the whitespace-separated word of the
    text where it starts, as the corpus builder does for Kiwi-analysed training text."""
    return [
        EOJEOL_UNKNOWN_ID
        if word_id < 0
        else EOJEOL_INITIAL_ID
        if index == 0 or word_id != word_ids[index - 1]
        else EOJEOL_INTERNAL_ID
        for index, word_id in enumerate(word_ids)
    ]


def gazetteer_flag_count(types: Sequence[str] | None) -> int:
    """Size of the last axis of `gazetteer_flags` for gazetteer `types` (0 without a gazetteer)."""
    return len(GAZETTEER_FLAG_PREFIXES) * len(types or ())


def gazetteer_key(text: str) -> str:
    """What gazetteer surfaces and morpheme forms are compared as: NFC, without whitespace."""
    return "".join(unicodedata.normalize("NFC", text).split())


class Gazetteer:
    """
    Entity surfaces and their types, matched over sentences of morphemes.

    An entry matches a contiguous run of morphemes whose forms, concatenated, equal its surface (both compared as
    [`gazetteer_key`]: NFC, spaces removed, so "이순신 장군" matches 이순신 + 장군 and "세종대왕" matches 세종 +
    대왕). Forms are not surface text: a surface that a contraction changes (지난 = 지나 + ㄴ) does not match.
    Matches are found left to right, the longest at each position (leftmost-longest, no overlaps); a match gives
    its first morpheme the flag B and the others the flag I of each type of the entry. Surfaces shorter than
    `MIN_GAZETTEER_SURFACE_LENGTH` characters are left out.

    Args:
        types: the entity types, in the order of the flags (`B-types[0]`, `I-types[0]`, `B-types[1]`, ...).
        entries: `(surface, type)` pairs; a surface may have several types.
    """

    def __init__(self, types: Sequence[str], entries: Iterable[tuple[str, str]] = ()):
        types = tuple(types)
        if not types or len(set(types)) != len(types):
            raise ValueError(f"Gazetteer types: expected distinct entity types, received {types!r}.")
        self.types = types
        index = {entity_type: i for i, entity_type in enumerate(types)}
        found: dict[str, set[int]] = {}
        for surface, entity_type in entries:
            if entity_type not in index:
                raise ValueError(f"Gazetteer entry {surface!r}: expected a type in {types}, received {entity_type!r}.")
            key = gazetteer_key(surface)
            if len(key) >= MIN_GAZETTEER_SURFACE_LENGTH:
                found.setdefault(key, set()).add(index[entity_type])
        self.entries = {key: tuple(sorted(found[key])) for key in sorted(found)}
        # The proper prefixes of the entries: a run of morphemes that spells none cannot grow into a match.
        self._prefixes = frozenset(key[:length] for key in self.entries for length in range(1, len(key)))

    @property
    def num_flags(self) -> int:
        return gazetteer_flag_count(self.types)

    def __len__(self) -> int:
        return len(self.entries)

    def __eq__(self, other) -> bool:
        return isinstance(other, Gazetteer) and (self.types, self.entries) == (other.types, other.entries)

    def matches(self, morphemes: Sequence[str]) -> list[tuple[int, int, tuple[str, ...]]]:
        """`(first, end, types)` of each match: morphemes `first` to `end - 1` spell an entry of `types`."""
        keys = [gazetteer_key(morpheme) for morpheme in morphemes]
        found, first = [], 0
        while first < len(keys):
            longest, spelled = None, ""
            for end in range(first + 1, len(keys) + 1):
                spelled += keys[end - 1]
                if spelled in self.entries:
                    longest = (end, spelled)
                if spelled not in self._prefixes:
                    break
            if longest is None:
                first += 1
                continue
            end, key = longest
            found.append((first, end, tuple(self.types[i] for i in self.entries[key])))
            first = end
        return found

    def flags(self, morphemes: Sequence[str]) -> list[list[int]]:
        """The `gazetteer_flags` of a sentence: per morpheme, `num_flags` 0/1 values (B and I of each type)."""
        flags = [[0] * self.num_flags for _ in morphemes]
        width = len(GAZETTEER_FLAG_PREFIXES)
        for first, end, types in self.matches(morphemes):
            for entity_type in types:
                column = width * self.types.index(entity_type)
                flags[first][column] = 1
                for position in range(first + 1, end):
                    flags[position][column + 1] = 1
        return flags

    def to_dict(self) -> dict:
        return {
            "types": list(self.types),
            "entries": {key: [self.types[i] for i in ids] for key, ids in self.entries.items()},
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "gazetteer") -> "Gazetteer":
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("types"), list)
            or not isinstance(data.get("entries"), dict)
        ):
            raise ValueError(
                f"{source}: expected a JSON object with a list under 'types' and an object under 'entries'."
            )
        return cls(data["types"], ((surface, t) for surface, types in data["entries"].items() for t in types))

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Gazetteer":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")), source=str(path))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(types={self.types}, entries={len(self)})"


__all__ = [
    "EOJEOL_INITIAL_ID",
    "EOJEOL_INTERNAL_ID",
    "EOJEOL_UNKNOWN_ID",
    "GAZETTEER_FLAG_PREFIXES",
    "MIN_GAZETTEER_SURFACE_LENGTH",
    "NUM_EOJEOL_IDS",
    "Gazetteer",
    "eojeol_ids_of",
    "gazetteer_flag_count",
    "gazetteer_key",
]
