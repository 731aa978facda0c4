"""Morpheme vectors trained on the training sentences (`--morpheme_vectors fasttext|word2vec`), and the frozen copy
of pretrained vectors (`--frozen_embedding`, `config.frozen_embedding_dim`)."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForTokenClassification

from modeling_mtl_bilstm import MTLBiLSTMConfig, MTLBiLSTMForTokenClassification, MTLBiLSTMTokenizer
from modeling_mtl_bilstm.training import ArgumentError, local_vectors
from modeling_mtl_bilstm.training.pretrained_embeddings import initialize_morpheme_embeddings, read_text_vectors


pytest.importorskip("gensim", reason="fastText/word2vec vectors need gensim: pip install -e '.[vectors]'")

# Two families of words that share their contexts: word2vec should place each word nearer its own family.
SENTENCES = [
    [subject, "이", verb, "다"] for subject in ("사과", "배", "귤") for verb in ("달", "맛있") for _ in range(20)
] + [[place, "에", verb, "다"] for place in ("서울", "부산", "대구") for verb in ("가", "오") for _ in range(20)]


@pytest.mark.parametrize("method", local_vectors.LOCAL_VECTOR_METHODS)
def test_every_morpheme_gets_a_vector_of_the_asked_size_and_scale(method):
    vectors = local_vectors.train_local_vectors(SENTENCES, method=method, dim=12)
    assert set(vectors) == {word for sentence in SENTENCES for word in sentence}
    matrix = np.stack(list(vectors.values()))
    assert matrix.shape == (len(vectors), 12)
    assert matrix.std() == pytest.approx(0.1, rel=1e-4)


def test_words_of_shared_contexts_end_up_nearer_each_other(monkeypatch):
    # Without subsampling: in a corpus of 14 words, every word is frequent enough to be dropped most of the time.
    monkeypatch.setitem(local_vectors.GENSIM_SETTINGS, "sample", 0)
    vectors = local_vectors.train_local_vectors(SENTENCES, method="word2vec", dim=16)

    def cosine(a, b):
        return float(vectors[a] @ vectors[b] / np.linalg.norm(vectors[a]) / np.linalg.norm(vectors[b]))

    assert cosine("사과", "배") > cosine("사과", "서울")
    assert cosine("서울", "부산") > cosine("서울", "귤")


def test_vectors_are_the_same_in_another_process_with_another_string_hash_seed(tmp_path):
    """gensim seeds word vectors with a hash of the word: Python's own would differ between processes."""
    script = (
        "import json, sys; from modeling_mtl_bilstm.training.local_vectors import train_local_vectors; "
        "sentences = json.load(open(sys.argv[1])); "
        "print(json.dumps({w: v.tolist() for w, v in train_local_vectors(sentences, 'fasttext', 8).items()}))"
    )
    sentences = tmp_path / "sentences.json"
    sentences.write_text(json.dumps(SENTENCES[::10], ensure_ascii=False), encoding="utf-8")
    outputs = [
        subprocess.run(
            [sys.executable, "-c", script, str(sentences)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    ]
    assert json.loads(outputs[0]) == json.loads(outputs[1])


def test_vector_file_is_keyed_by_content(tmp_path, monkeypatch):
    first = local_vectors.local_vectors_file(SENTENCES, "word2vec", 8, tmp_path)
    assert set(read_text_vectors(first)) == {word for sentence in SENTENCES for word in sentence}
    monkeypatch.setattr(local_vectors, "train_local_vectors", lambda *args: pytest.fail("trained again"))
    assert local_vectors.local_vectors_file(SENTENCES, "word2vec", 8, tmp_path) == first
    monkeypatch.undo()
    others = {
        local_vectors.local_vectors_file(SENTENCES[:-1], "word2vec", 8, tmp_path),
        local_vectors.local_vectors_file(SENTENCES, "fasttext", 8, tmp_path),
        local_vectors.local_vectors_file(SENTENCES, "word2vec", 8, tmp_path, seed=2),
    }
    assert first not in others and len(others) == 3
    assert not list(tmp_path.glob("*.partial"))


def test_bad_method_or_no_sentences_fail_clearly():
    with pytest.raises(ValueError, match=r"expected a method in \('word2vec', 'fasttext'\), received 'glove'"):
        local_vectors.train_local_vectors(SENTENCES, method="glove")
    with pytest.raises(ValueError, match="expected training sentences, received none"):
        local_vectors.train_local_vectors([[]], method="word2vec")


def test_frozen_table_holds_the_vectors_and_training_leaves_it_unchanged(tmp_path):
    tokenizer = MTLBiLSTMTokenizer.build(SENTENCES)
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("2 3\n사과 1 2 3\n서울 4 5 6\n", encoding="utf-8")
    config = MTLBiLSTMConfig(
        vocab_size=tokenizer.vocab_size,
        embedding_dim=3,
        frozen_embedding_dim=3,
        char_vocab_size=tokenizer.char_vocab_size,
        char_cnn_filters=2,
        shared_hidden_size=4,
        ner_hidden_size=4,
        ner_id2label={0: "O", 1: "B-LC", 2: "I-LC"},
        tasks=("ner",),
    )
    model = MTLBiLSTMForTokenClassification(config)
    initialize_morpheme_embeddings(model, tokenizer, vectors)
    frozen = model.embeddings.frozen_morpheme_vectors
    assert not frozen.requires_grad and all(value is not frozen for value in model.parameters())
    assert frozen[tokenizer.morpheme_to_id["서울"]].tolist() == [4, 5, 6]
    assert frozen[tokenizer.morpheme_to_id["배"]].abs().sum() == 0  # no vector: zeros, not noise
    assert model.get_input_embeddings().weight[tokenizer.morpheme_to_id["사과"]].tolist() == [1, 2, 3]
    before_frozen, before_trained = frozen.clone(), model.get_input_embeddings().weight.clone()

    encoded = tokenizer(SENTENCES[:4], return_tensors="pt")
    labels = torch.zeros_like(encoded["input_ids"])
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model(**encoded, ner_labels=labels).loss.backward()
    optimizer.step()
    assert torch.equal(frozen, before_frozen)
    assert not torch.equal(model.get_input_embeddings().weight, before_trained)
    hidden = model(**encoded, output_hidden_states=True).hidden_states[0]
    assert hidden.shape[-1] == model.embeddings.output_size == 3 + 3 + 2

    model.save_pretrained(tmp_path / "saved")
    loaded = MTLBiLSTMForTokenClassification.from_pretrained(tmp_path / "saved")
    assert torch.equal(loaded.embeddings.frozen_morpheme_vectors, before_frozen)
    assert not loaded.embeddings.frozen_morpheme_vectors.requires_grad


def test_frozen_vectors_must_have_the_models_sizes(tmp_path):
    tokenizer = MTLBiLSTMTokenizer.build(SENTENCES)
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("사과 1 2 3\n", encoding="utf-8")
    model = MTLBiLSTMForTokenClassification(
        MTLBiLSTMConfig(
            vocab_size=tokenizer.vocab_size,
            embedding_dim=3,
            frozen_embedding_dim=4,
            ner_id2label={0: "O"},
            tasks=("ner",),
        )
    )
    with pytest.raises(ValueError, match="expected vectors of the model's frozen_embedding_dim=4, received 3"):
        initialize_morpheme_embeddings(model, tokenizer, vectors)
    with pytest.raises(ValueError, match="frozen_embedding_dim: expected an int >= 0, received -1"):
        MTLBiLSTMConfig(frozen_embedding_dim=-1)


def test_training_with_local_vectors_and_a_frozen_copy(train, tiny_training_flags, tmp_path):
    output_dir = tmp_path / "run"
    argv = ["--num_train_epochs", "1", "--output_dir", str(output_dir), *tiny_training_flags]
    train([*argv, "--morpheme_vectors", "fasttext", "--frozen_embedding"])
    vector_files = list(output_dir.glob("local_fasttext_16d_*.txt"))
    assert len(vector_files) == 1 and not list(output_dir.glob("kiwi_vectors_*"))
    best = output_dir / "best_model"
    model = AutoModelForTokenClassification.from_pretrained(best)
    assert model.config.frozen_embedding_dim == 16
    tokenizer = MTLBiLSTMTokenizer.from_pretrained(best)
    vectors = read_text_vectors(vector_files[0])
    saved = load_file(best / "model.safetensors")["embeddings.frozen_morpheme_vectors"]
    word = next(word for word in tokenizer.id_to_morpheme[2:] if word in vectors)
    assert torch.allclose(saved[tokenizer.morpheme_to_id[word]], vectors[word])  # frozen: still the vector
    info = json.loads((output_dir / "run_info.json").read_text())
    assert info["arguments"]["model"]["morpheme_vectors"] == "fasttext"
    assert info["arguments"]["model"]["frozen_embedding"] is True
    assert "frozen_vectors" not in info["arguments"]["model"]  # deprecated spellings are not recorded


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--frozen_embedding", "--morpheme_vectors", "none"], "--frozen_embedding: expected vectors to freeze"),
        (["--init_from", "some/model", "--frozen_embedding"], "drop --frozen_embedding"),
        (["--init_from", "some/model", "--morpheme_vectors_file", "v.txt"], "drop --morpheme_vectors_file"),
    ],
)
def test_vector_arguments_fail_clearly(train, tmp_path, argv, message):
    with pytest.raises(ArgumentError, match=message):
        train([*argv, "--output_dir", str(tmp_path)])


def test_local_vectors_without_gensim_fail_before_training_naming_the_fix(train, tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gensim" else find_spec(name, *a)
    )
    with pytest.raises(ArgumentError, match=r"--morpheme_vectors fasttext needs gensim.*\[vectors\].*none"):
        train(["--output_dir", str(tmp_path)])  # the default
    assert not list(tmp_path.iterdir())
