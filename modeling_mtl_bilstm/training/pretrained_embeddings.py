"""Initialise morpheme embeddings from a word2vec / fastText / GloVe text-format vector file."""

import logging
from pathlib import Path

import torch


logger = logging.getLogger(__name__)


def read_text_vectors(path: str | Path, wanted: set[str] | None = None) -> dict[str, torch.Tensor]:
    """Reads `<word> <v1> ... <vd>` lines (an optional word2vec/fastText `<count> <dim>` header first).
    Only words in `wanted` are kept when it is given, so large files need little memory."""
    path = Path(path)
    vectors, dim = {}, None
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if line_number == 1 and _is_header(parts):
                dim = int(parts[1])
                continue
            if len(parts) < 2:
                raise ValueError(f"{path}:{line_number}: expected '<word> <numbers...>', received {line[:80]!r}.")
            if dim is None:
                dim = len(parts) - 1
            if len(parts) - 1 != dim:
                raise ValueError(
                    f"{path}:{line_number}: expected {dim} numbers after the word, received {len(parts) - 1}."
                )
            if wanted is not None and parts[0] not in wanted:
                continue
            try:
                vectors[parts[0]] = torch.tensor([float(x) for x in parts[1:]])
            except ValueError:
                raise ValueError(
                    f"{path}:{line_number}: expected numbers after the word, received {line[:80]!r}."
                ) from None
    return vectors


def read_vector_words(path: str | Path) -> list[str]:
    """The words of a text-format vector file, in file order (no vectors parsed)."""
    with Path(path).open(encoding="utf-8") as handle:
        first = handle.readline()
        words = [] if _is_header(first.split()) else [first.split(" ", 1)[0]]
        words += [line.split(" ", 1)[0] for line in handle]
    return [word for word in words if word.strip()]


def _is_header(parts: list[str]) -> bool:
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def initialize_morpheme_embeddings(model, tokenizer, path: str | Path) -> float:
    """Copies the vectors of `path` into the model's morpheme embeddings for every vocabulary entry
    the file has, and returns (and logs) the hit rate over the vocabulary (padding/unknown excluded)."""
    embeddings = model.get_input_embeddings()
    vocabulary = tokenizer.id_to_morpheme[2:]
    vectors = read_text_vectors(path, wanted=set(vocabulary))
    if vectors:
        dim = len(next(iter(vectors.values())))
        if dim != embeddings.embedding_dim:
            raise ValueError(
                f"{path}: expected vectors of the model's embedding_dim={embeddings.embedding_dim}, received {dim}."
            )
    hits = 0
    with torch.no_grad():
        for index, morpheme in enumerate(vocabulary, start=2):
            vector = vectors.get(morpheme)
            if vector is not None:
                embeddings.weight[index] = vector.to(embeddings.weight.dtype)
                hits += 1
    hit_rate = hits / max(1, len(vocabulary))
    logger.info(
        "Pretrained embeddings %s: %d of %d morphemes found (%.1f%%).", path, hits, len(vocabulary), 100 * hit_rate
    )
    return hit_rate
