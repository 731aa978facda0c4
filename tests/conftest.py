"""Shared fixtures: the tiny model sizes every test trains with, and a training run as examples/train.py does it."""

import pytest
import torch
from transformers import HfArgumentParser

from modeling_mtl_bilstm import MTLBiLSTMConfig
from modeling_mtl_bilstm.training import ARGUMENT_CLASSES, run_experiment


# Tiny model sizes (command-line flags of examples/train.py), so that a run on the sample takes seconds.
TINY_MODEL_FLAGS = [
    "--embedding_dim", "16", "--char_embedding_dim", "8", "--char_cnn_filters", "8",
    "--shared_hidden_size", "16", "--pos_hidden_size", "8", "--ner_hidden_size", "8",
]  # fmt: skip
TINY_TRAINING_FLAGS = [
    *TINY_MODEL_FLAGS,
    "--per_device_train_batch_size", "32", "--learning_rate", "0.01", "--disable_tqdm", "true",
    "--torch_num_threads", "1",
    # Random initial embeddings: tests/test_train.py covers the default vectors (fastText) and Kiwi's (about 20 s).
    "--morpheme_vectors", "none",
    # The corpus's morphemes alone (the default re-analyses the sample with Kiwi too, doubling its training split):
    # tests/test_train.py covers the default.
    "--analyzer", "corpus",
]  # fmt: skip
# The same sizes as config fields, for models built in the test process.
TINY_MODEL_CONFIG = {
    "embedding_dim": 16,
    "char_embedding_dim": 8,
    "char_cnn_filters": 8,
    "shared_hidden_size": 16,
    "pos_hidden_size": 8,
    "ner_hidden_size": 8,
}


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Tiny models run fastest on one thread, and a test machine's two cores are shared with subprocesses."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def kiwi_analyzer():
    """One Kiwi analyser for the session: a new one takes seconds to load."""
    pytest.importorskip("kiwipiepy", reason="raw-text analysis needs kiwipiepy: pip install -e '.[korean]'")
    from modeling_mtl_bilstm import KiwiMorphemeAnalyzer

    return KiwiMorphemeAnalyzer()


@pytest.fixture(scope="session")
def tiny_model_flags() -> list[str]:
    return list(TINY_MODEL_FLAGS)


@pytest.fixture(scope="session")
def tiny_training_flags() -> list[str]:
    return list(TINY_TRAINING_FLAGS)


@pytest.fixture(scope="session")
def tiny_config():
    """`tiny_config(**fields)`: an `MTLBiLSTMConfig` of the tiny sizes with the given fields (label maps, vocab)."""

    def make(**fields) -> MTLBiLSTMConfig:
        return MTLBiLSTMConfig(**{**TINY_MODEL_CONFIG, **fields})

    return make


@pytest.fixture(scope="session")
def train():
    """`train(argv)`: parses `argv` as examples/train.py does and runs the experiment; returns its results."""

    def run(argv: list[str]) -> dict:
        parser = HfArgumentParser(ARGUMENT_CLASSES)
        return run_experiment(*parser.parse_args_into_dataclasses(args=argv), command=" ".join(argv))

    return run
