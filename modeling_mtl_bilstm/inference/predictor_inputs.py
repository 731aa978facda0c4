"""What the predictor (`predictor.KoreanNERPredictor`) takes in: the checks of its arguments and inputs, and where a
sentence longer than `max_length` morphemes is cut into chunks.
"""

import re
from collections.abc import Sequence

from .morphology import Morpheme


OUTSIDE_TAG = "O"
ENTITY_PREFIXES = ("B", "I")


def reindexed_message(message: str, offset: int) -> str:
    """A `texts[i]` error message of a chunk, with the index into the whole input."""
    return re.sub(r"texts\[(\d+)\]", lambda match: f"texts[{int(match.group(1)) + offset}]", message, count=1)


def check_sizes(batch_size: int, max_length: int):
    """Raises `ValueError` unless both sizes are positive ints."""
    for name, value in (("batch_size", batch_size), ("max_length", max_length)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}: expected a positive int, received {value!r}.")


def checked_texts(inputs) -> list[str]:
    """The texts of a list of str, as a list; `TypeError` for anything else, naming the first text that is no str."""
    if not isinstance(inputs, Sequence):
        raise TypeError(f"inputs: expected a str or a list of str, received {type(inputs).__name__}.")
    for index, text in enumerate(inputs):
        if not isinstance(text, str):
            raise TypeError(f"inputs[{index}]: expected a str, received {type(text).__name__}.")
    return list(inputs)


def check_iob2(id2label: dict[int, str]):
    """Raises `ValueError` at the first NER tag name that is not IOB2."""
    for label in id2label.values():
        prefix, _, entity_type = label.partition("-")
        if label != OUTSIDE_TAG and (prefix not in ENTITY_PREFIXES or not entity_type):
            raise ValueError(
                f"config.ner_id2label: expected IOB2 tags ('O', 'B-<type>', 'I-<type>'), received {label!r}."
            )


def starts_word(sentence: Sequence[Morpheme], index: int) -> bool:
    """Whether a morpheme begins a new word: text lies between it and the previous morpheme."""
    return index > 0 and sentence[index].start > sentence[index - 1].end


def chunk_bounds(word_starts: Sequence[bool], max_length: int) -> list[tuple[int, int]]:
    """Consecutive `[begin, end)` chunks of at most `max_length` morphemes covering a sentence (none for an
    empty one), each cut at the last word start of its second half, or at `max_length` where it has none."""
    bounds, begin, length = [], 0, len(word_starts)
    while length - begin > max_length:
        limit = begin + max_length
        end = next((i for i in range(limit, limit - max_length // 2, -1) if word_starts[i]), limit)
        bounds.append((begin, end))
        begin = end
    if length > begin:
        bounds.append((begin, length))
    return bounds
