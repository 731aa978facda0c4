"""Tests of the morpheme/syllable vocabulary, the collator and pretrained-embedding initialisation."""

import json

import pytest
import torch
from remote_code import run_without_package

from modeling_mtl_bilstm import (
    DataCollatorForMTLBiLSTM,
    MTLBiLSTMConfig,
    MTLBiLSTMForTokenClassification,
    MTLBiLSTMTokenizer,
)
from modeling_mtl_bilstm.training.pretrained_embeddings import initialize_morpheme_embeddings, read_text_vectors


CORPUS = [["세종", "이", "한글", "을", "만들", "었", "다"], ["세종", "은", "왕", "이", "다"], ["이", "이"]]


def test_build_orders_by_frequency_and_respects_min_frequency():
    tokenizer = MTLBiLSTMTokenizer.build(CORPUS, min_frequency=2)
    # "이" 4x, "세종" 2x, "다" 2x (ties by first appearance); singletons dropped.
    assert tokenizer.id_to_morpheme == ["[PAD]", "[UNK]", "이", "세종", "다"]
    assert tokenizer.convert_tokens_to_ids(["세종", "한글"]) == [3, 1]
    assert tokenizer.char_ids_of("세종") == [tokenizer.char_to_id["세"], tokenizer.char_to_id["종"]]
    assert MTLBiLSTMTokenizer.build(CORPUS, max_vocab_size=4).id_to_morpheme == ["[PAD]", "[UNK]", "이", "세종"]


def test_unknown_morpheme_keeps_its_syllables():
    tokenizer = MTLBiLSTMTokenizer.build(CORPUS)
    encoded = tokenizer.encode(["세한"])
    assert encoded["input_ids"] == [tokenizer.unk_token_id]
    assert encoded["char_ids"] == [[tokenizer.char_to_id["세"], tokenizer.char_to_id["한"]]]
    assert tokenizer.encode(["쀏"])["char_ids"] == [[tokenizer.unk_token_id]]


def test_jamo_unit_splits_syllables():
    tokenizer = MTLBiLSTMTokenizer.build(CORPUS, char_unit="jamo")
    assert len(tokenizer.char_ids_of("한")) == 3  # ㅎ ㅏ ㄴ
    assert tokenizer.char_vocab_size < MTLBiLSTMTokenizer.build(CORPUS).char_vocab_size + 20


def test_batch_padding_and_label_alignment():
    tokenizer = MTLBiLSTMTokenizer.build(CORPUS)
    batch = tokenizer([["세종", "이"], ["한글"]], pos_tags=[[3, 4], [5]], ner_tags=[[1, 0], [0]])
    assert batch["input_ids"].tolist() == [
        tokenizer.convert_tokens_to_ids(["세종", "이"]),
        [tokenizer.convert_tokens_to_ids(["한글"])[0], 0],
    ]
    assert batch["attention_mask"].tolist() == [[1, 1], [1, 0]]
    assert batch["char_ids"].shape == (2, 2, 2)
    assert batch["char_ids"][1, 1].tolist() == [0, 0]
    assert batch["char_ids"][0, 1].tolist() == [tokenizer.char_to_id["이"], 0]
    assert batch["pos_labels"].tolist() == [[3, 4], [5, -100]]
    assert batch["ner_labels"].tolist() == [[1, 0], [0, -100]]
    single = tokenizer(["세종", "이"])
    assert single["input_ids"].shape == (1, 2)


def test_collator_pads_encoded_features_and_drops_other_columns():
    tokenizer = MTLBiLSTMTokenizer.build(CORPUS)
    features = [dict(tokenizer.encode(s, ner_tags=[0] * len(s)), tokens=s) for s in CORPUS]
    batch = DataCollatorForMTLBiLSTM(tokenizer)(features)
    assert set(batch) == {"input_ids", "attention_mask", "char_ids", "ner_labels"}
    assert batch["input_ids"].shape == (3, 7)
    assert batch["ner_labels"][2].tolist() == [0, 0] + [-100] * 5


def test_encode_errors():
    tokenizer = MTLBiLSTMTokenizer.build(CORPUS)
    with pytest.raises(TypeError, match="received a str"):
        tokenizer.encode("세종이")
    with pytest.raises(ValueError, match="empty sentence"):
        tokenizer.encode([])
    with pytest.raises(ValueError, match="ner_labels: expected 2 tags"):
        tokenizer.encode(["세종", "이"], ner_tags=[0])
    with pytest.raises(ValueError, match="char_unit: expected one of"):
        MTLBiLSTMTokenizer.build(CORPUS, char_unit="byte")


def test_save_and_load_round_trip(tmp_path):
    tokenizer = MTLBiLSTMTokenizer.build(CORPUS, char_unit="jamo", max_chars_per_morpheme=5)
    tokenizer.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["auto_map"]["AutoTokenizer"][0] == "tokenization_mtl_bilstm.MTLBiLSTMTokenizer"
    assert (tmp_path / "tokenization_mtl_bilstm.py").exists()
    loaded = MTLBiLSTMTokenizer.from_pretrained(tmp_path)
    assert loaded.id_to_morpheme == tokenizer.id_to_morpheme
    assert loaded.id_to_char == tokenizer.id_to_char
    assert (loaded.char_unit, loaded.max_chars_per_morpheme) == ("jamo", 5)
    for key in ("input_ids", "char_ids"):
        assert torch.equal(loaded(CORPUS)[key], tokenizer(CORPUS)[key])


def test_saved_tokenizer_alone_loads_without_the_package(tmp_path):
    """save_pretrained copies the tokenizer's module and those it imports relatively, which is all that
    AutoTokenizer(trust_remote_code=True) needs where this package is not installed."""
    folder = tmp_path / "tokenizer"
    tokenizer = MTLBiLSTMTokenizer.build(CORPUS)
    tokenizer.save_pretrained(folder)
    assert sorted(path.name for path in folder.glob("*.py")) == [
        "features_mtl_bilstm.py",
        "tags_mtl_bilstm.py",
        "tokenization_mtl_bilstm.py",
    ]
    result = run_without_package(
        f"""
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained({str(folder)!r}, trust_remote_code=True)
        print(tokenizer([["세종", "이"]])["input_ids"].tolist())
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tokenizer([["세종", "이"]])["input_ids"].tolist())


def test_pretrained_embeddings_copy_vectors_and_report_hit_rate(tmp_path):
    tokenizer = MTLBiLSTMTokenizer.build(CORPUS)
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("3 4\n세종 1 2 3 4\n다 0.5 0.5 0.5 0.5\n없는말 9 9 9 9\n", encoding="utf-8")
    model = MTLBiLSTMForTokenClassification(
        MTLBiLSTMConfig(vocab_size=tokenizer.vocab_size, embedding_dim=4, ner_id2label={0: "O"}, tasks=("ner",))
    )
    hit_rate = initialize_morpheme_embeddings(model, tokenizer, vectors)
    assert hit_rate == pytest.approx(2 / (tokenizer.vocab_size - 2))
    weight = model.get_input_embeddings().weight
    assert weight[tokenizer.morpheme_to_id["세종"]].tolist() == [1, 2, 3, 4]
    assert weight[0].abs().sum() == 0  # padding untouched


def test_pretrained_embeddings_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("세종 1 2 3\n다 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected 3 numbers after the word, received 2"):
        read_text_vectors(bad)
    tokenizer = MTLBiLSTMTokenizer.build(CORPUS)
    model = MTLBiLSTMForTokenClassification(
        MTLBiLSTMConfig(vocab_size=tokenizer.vocab_size, embedding_dim=4, ner_id2label={0: "O"}, tasks=("ner",))
    )
    good_dim3 = tmp_path / "dim3.txt"
    good_dim3.write_text("세종 1 2 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected vectors of the model's embedding_dim=4, received 3"):
        initialize_morpheme_embeddings(model, tokenizer, good_dim3)


def test_read_vector_words_with_and_without_header(tmp_path):
    from modeling_mtl_bilstm.training.pretrained_embeddings import read_vector_words

    with_header = tmp_path / "a.txt"
    with_header.write_text("2 2\n세종 1 2\n다 3 4\n", encoding="utf-8")
    without = tmp_path / "b.txt"
    without.write_text("세종 1 2\n다 3 4\n", encoding="utf-8")
    assert read_vector_words(with_header) == ["세종", "다"] == read_vector_words(without)
