"""Tag conventions shared by the torch model, the tokenizer and the numpy decoder: the label id of ignored positions
and the IOB2 rule of which tag may follow which.

A remote-code module (copied beside the modeling files of every saved model) that imports nothing, so that the
torch-free ONNX Runtime backend reads the same definitions as the torch model.
"""

from collections.abc import Mapping, Sequence


# Label id of positions without a tag (padding, sub-tokens): what torch's cross-entropy ignores by default.
IGNORE_INDEX = -100
OUTSIDE_TAG = "O"


def tag_names(id2label: Mapping[int, str] | Sequence[str]) -> list[str]:
    """The tag names in id order, from a map id -> tag (int keys, or the str keys of a JSON round trip, exactly
    `0 .. num_tags - 1`) or from a list of names in id order."""
    if isinstance(id2label, Mapping):
        by_id = {int(key): label for key, label in id2label.items()}
        if sorted(by_id) != list(range(len(by_id))):
            raise ValueError(f"id2label: expected ids 0..{len(by_id) - 1}, received {sorted(by_id)!r}.")
        labels = [by_id[i] for i in range(len(by_id))]
    else:
        labels = list(id2label)
    if not labels:
        raise ValueError("id2label: expected at least one tag, received none.")
    return labels


def iob2_allowed_moves(id2label: Mapping[int, str] | Sequence[str]) -> tuple[list[bool], list[list[bool]], list[bool]]:
    """
    The moves of valid IOB2 tag sequences (like allennlp's `allowed_transitions(constraint_type="BIO", ...)`):
    `I-X` may only follow `B-X` or `I-X`, so no sequence starts with `I-X` and none has `I-X` after `O` or after a
    tag of another type. Every other move is allowed, and every tag may end a sequence. Labels other than `B-X` and
    `I-X` (`O`, or names without a prefix) are unconstrained, like `O`, so a tag set without `I-` tags is not
    restricted at all.

    Args:
        id2label (`dict[int, str]` with ids `0 .. num_tags - 1`, or a list of tag names in id order).

    Returns:
        `(start, transitions, end)` as nested lists of bools (True: allowed): `start[j]` whether a sequence may
        begin with tag `j`, `transitions[i][j]` whether tag `j` may follow tag `i` (`num_tags` x `num_tags`),
        `end[j]` whether a sequence may end with tag `j`.
    """
    entity_types = []  # per tag: (is an I- tag, entity type or None for O-like tags)
    for label in tag_names(id2label):
        prefix, _, entity_type = str(label).partition("-")
        is_entity = prefix in ("B", "I") and entity_type != ""
        entity_types.append((is_entity and prefix == "I", entity_type if is_entity else None))
    start = [not inside for inside, _ in entity_types]
    # I-X after B-X or I-X only: the same entity type (O-like tags have none, which no I- tag has).
    transitions = [
        [not inside or previous_type == entity_type for inside, entity_type in entity_types]
        for _, previous_type in entity_types
    ]
    return start, transitions, [True] * len(entity_types)


__all__ = ["IGNORE_INDEX", "OUTSIDE_TAG", "iob2_allowed_moves", "tag_names"]
