"""Initialise morpheme embeddings from a word2vec / fastText / GloVe text-format vector file."""

import logging
from pathlib import Path

import numpy as np
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


def write_text_vectors(path: str | Path, vectors: dict[str, np.ndarray], dim: int) -> Path:
    """Writes `{word: vector}` as a word2vec text file (a `<count> <dim>` header, then `<word> <v1> ... <vd>`
    lines), the format that `read_text_vectors` and `--morpheme_vectors_file` read. Words holding a space or a
    newline cannot be written in it and are left out (logged)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writable = {word: vector for word, vector in vectors.items() if word and " " not in word and "\n" not in word}
    if len(writable) < len(vectors):
        logger.info("%s: %d words with a space or newline left out.", path, len(vectors) - len(writable))
    with path.open("w", encoding="utf-8") as handle:
        handle.write(f"{len(writable)} {dim}\n")
        for word, vector in writable.items():
            if len(vector) != dim:
                raise ValueError(f"{path}: expected vectors of {dim} numbers, received {len(vector)} for {word!r}.")
            handle.write(word + " " + " ".join(f"{x:.5f}" for x in vector) + "\n")
    return path


def initialize_morpheme_embeddings(model, tokenizer, path: str | Path) -> float:
    """Copies the vectors of `path` into the model's morpheme embeddings for every vocabulary entry the file has,
    and returns (and logs) the hit rate over the vocabulary (padding/unknown excluded). A model with a frozen
    table (`config.frozen_embedding_dim > 0`) gets them there too, with zeros for the entries the file lacks."""
    tables = {"embedding_dim": model.get_input_embeddings().weight}
    if model.embeddings.frozen_morpheme_vectors is not None:
        tables["frozen_embedding_dim"] = model.embeddings.frozen_morpheme_vectors
    vocabulary = tokenizer.id_to_morpheme[2:]
    vectors = read_text_vectors(path, wanted=set(vocabulary))
    if vectors:
        dim = len(next(iter(vectors.values())))
        for name, table in tables.items():
            if dim != table.size(1):
                raise ValueError(f"{path}: expected vectors of the model's {name}={table.size(1)}, received {dim}.")
    hits = 0
    with torch.no_grad():
        if "frozen_embedding_dim" in tables:
            tables["frozen_embedding_dim"].zero_()
        for index, morpheme in enumerate(vocabulary, start=2):
            vector = vectors.get(morpheme)
            if vector is not None:
                for table in tables.values():
                    table[index] = vector.to(table.dtype)
                hits += 1
    hit_rate = hits / max(1, len(vocabulary))
    logger.info(
        "Pretrained embeddings %s: %d of %d morphemes found (%.1f%%).", path, hits, len(vocabulary), 100 * hit_rate
    )
    return hit_rate
