"""The vectors that initialise a new model's morpheme embeddings: which file, computed where."""

import logging
from pathlib import Path

from ..inference.morphology import KOREAN_EXTRA_INSTALL
from .arguments import ModelArguments
from .kiwi_embeddings import write_kiwi_vectors
from .local_vectors import LOCAL_VECTOR_METHODS, VECTORS_EXTRA_INSTALL, local_vectors_file


logger = logging.getLogger(__name__)
# The package each --morpheme_vectors choice needs, and how to install it.
VECTOR_PACKAGES = {
    "kiwi": ("kiwipiepy", KOREAN_EXTRA_INSTALL),
    **dict.fromkeys(LOCAL_VECTOR_METHODS, ("gensim", VECTORS_EXTRA_INSTALL)),
}


def vectors_wanted(model_args: ModelArguments) -> bool:
    """Whether a new model's morpheme embeddings start from vectors (a fine-tuned one keeps its trained ones)."""
    return not model_args.init_from and bool(model_args.morpheme_vectors_file or model_args.morpheme_vectors != "none")


def pretrained_vectors(model_args: ModelArguments, output_dir: Path, training_sentences) -> Path | None:
    """The vector file that initialises the morpheme embeddings of a new model: the user's
    (`--morpheme_vectors_file`), or those of `--morpheme_vectors`: gensim's trained on `training_sentences`, or
    Kiwi's, computed once into the output folder. None for `--morpheme_vectors none` and for a fine-tuned model
    (`--init_from`), whose trained embeddings stay."""
    if model_args.init_from:
        if model_args.morpheme_vectors != "none":
            logger.info("--init_from %s: keeping its trained morpheme embeddings.", model_args.init_from)
        return None
    if model_args.morpheme_vectors_file:
        return Path(model_args.morpheme_vectors_file)
    if model_args.morpheme_vectors == "none":
        return None
    if model_args.morpheme_vectors != "kiwi":
        return local_vectors_file(
            training_sentences, model_args.morpheme_vectors, model_args.embedding_dim, output_dir
        )
    path = output_dir / f"kiwi_vectors_{model_args.embedding_dim}d.txt"
    if not path.exists():
        logger.info("Computing Kiwi CoNg morpheme vectors into %s", path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_kiwi_vectors(path.with_suffix(".partial"), dim=model_args.embedding_dim).rename(path)
    return path
