"""CoNg context similarities (`--cong_context_anchors`), an optional input feature: how anchors are drawn, the oracle
of a context that is an anchor, and the feature's path through the tokenizer, the model and a saved folder."""

import json

import pytest
import torch
from remote_code import run_without_package

from modeling_mtl_bilstm import MTLBiLSTMConfig, MTLBiLSTMForTokenClassification, MTLBiLSTMTokenizer
from modeling_mtl_bilstm.cong_mtl_bilstm import CongContexts


pytest.importorskip("kiwipiepy", reason="CoNg features need kiwipiepy: pip install -e '.[korean]'")

SENTENCE = ["세종", "은", "1443", "년", "에", "훈민정음", "을", "만들", "었", "다", "."]
OTHER = ["이순신", "은", "1545", "년", "에", "한성부", "에서", "태어나", "었", "다", "."]
TRAINING = [SENTENCE, SENTENCE, OTHER, OTHER, SENTENCE[:4]]
NER_TAGS = {0: "O", 1: "B-PS", 2: "I-PS"}


def cong_model(tokenizer: MTLBiLSTMTokenizer, seed=0) -> MTLBiLSTMForTokenClassification:
    torch.manual_seed(seed)
    config = MTLBiLSTMConfig(
        vocab_size=tokenizer.vocab_size,
        char_vocab_size=tokenizer.char_vocab_size,
        embedding_dim=8,
        char_embedding_dim=4,
        char_cnn_filters=4,
        shared_hidden_size=6,
        pos_hidden_size=5,
        ner_hidden_size=5,
        pos_id2label={0: "NNG", 1: "JX"},
        ner_id2label=NER_TAGS,
        cong_context_anchors=tokenizer.cong_contexts.num_features if tokenizer.cong_contexts else 0,
    )
    return MTLBiLSTMForTokenClassification(config).eval()


def test_anchors_are_a_seeded_sample_of_the_contexts_seen_twice():
    contexts = CongContexts.build(TRAINING, num_anchors=5, window=3)
    assert contexts == CongContexts.build(TRAINING, num_anchors=5, window=3)
    seen_twice = {tuple(s[end - 3 : end]) for s in (SENTENCE, OTHER) for end in range(3, len(s) + 1)}
    assert len(set(contexts.anchors)) == 5 and set(contexts.anchors) <= seen_twice
    assert CongContexts.build(TRAINING, num_anchors=5, window=3, seed=1) != contexts
    with pytest.raises(ValueError, match="expected at least 99 contexts of 3 morphemes seen twice, found 17"):
        CongContexts.build(TRAINING, num_anchors=99, window=3)
    with pytest.raises(ValueError, match="window: expected a positive int, received 0"):
        CongContexts([["세종"]], window=0)
    with pytest.raises(ValueError, match="anchors: expected non-empty lists of forms"):
        CongContexts([[]])


def test_a_context_that_is_an_anchor_has_similarity_one_to_it():
    """The oracle: the left context of morpheme i (i and the window - 1 before it) compared with each anchor; where
    it is an anchor, the cosine is 1 (up to the rounding of Kiwi's quantised embeddings). Contexts at the sentence's start are shorter."""
    window = 3
    anchors = [SENTENCE[2:5], SENTENCE[5:8], ["한성부", "에서"]]
    contexts = CongContexts(anchors, window=window)
    rows = contexts.similarities(SENTENCE)
    assert len(rows) == len(SENTENCE) and all(len(row) == 3 for row in rows)
    assert all(-1.001 <= value <= 1.001 for row in rows for value in row)
    assert rows[4][0] == pytest.approx(1.0, abs=1e-3)  # 1443 년 에
    assert rows[7][1] == pytest.approx(1.0, abs=1e-3)  # 훈민정음 을 만들
    assert rows[4][1] < 0.99 and rows[7][0] < 0.99
    shorter = CongContexts([["에서"], SENTENCE[:2]], window=2).similarities(OTHER)
    assert shorter[6][0] == pytest.approx(1.0, abs=1e-3)
    assert CongContexts([SENTENCE[:1]], window=2).similarities(SENTENCE)[0][0] == pytest.approx(1.0, abs=1e-3)


def test_forms_map_to_cong_morphemes_and_unknown_forms_to_kiwis_reading():
    from modeling_mtl_bilstm.cong_mtl_bilstm import _cong_model

    kiwi = _cong_model()[0]
    ids = CongContexts([["세종"]]).morpheme_ids(["은", "1443", ".", "\u11ab"])
    assert kiwi.morpheme(ids[0]).form == "은"
    # A number and a symbol have no embedding of their own: Kiwi's generic morphemes of their tags stand in.
    assert (kiwi.morpheme(ids[1]).form, kiwi.morpheme(ids[1]).tag) == ("", "SN")
    assert kiwi.morpheme(ids[2]).tag == "SF"
    assert ids[3] == CongContexts([["세종"]]).morpheme_ids(["\u3134"])[0]  # conjoining ᆫ is the corpora's ㄴ


def test_the_tokenizer_computes_pads_and_saves_the_feature(tmp_path):
    contexts = CongContexts([SENTENCE[2:5], ["한성부", "에서"]], window=3)
    tokenizer = MTLBiLSTMTokenizer.build(TRAINING, cong_contexts=contexts)
    assert tokenizer.model_input_names[-1] == "context_similarities"
    encoded = tokenizer.encode(SENTENCE)
    assert encoded["context_similarities"] == contexts.similarities(SENTENCE)
    batch = tokenizer([SENTENCE, SENTENCE[:2]])
    assert batch["context_similarities"].dtype == torch.float32 and batch["context_similarities"].shape == (2, 11, 2)
    assert batch["context_similarities"][1, 2:].abs().sum() == 0  # padding
    torch.testing.assert_close(batch["context_similarities"][1, :2], batch["context_similarities"][0, :2])
    assert tokenizer.pad([encoded], return_tensors="np")["context_similarities"].dtype.name == "float32"
    paths = tokenizer.save_pretrained(tmp_path)
    assert str(tmp_path / "cong_contexts.json") in paths
    assert json.loads((tmp_path / "tokenizer_config.json").read_text())["cong_contexts_file"] == "cong_contexts.json"
    loaded = MTLBiLSTMTokenizer.from_pretrained(tmp_path)
    assert loaded.cong_contexts == contexts and loaded.model_input_names == tokenizer.model_input_names
    (tmp_path / "cong_contexts.json").unlink()
    with pytest.raises(OSError):
        MTLBiLSTMTokenizer.from_pretrained(tmp_path)


def test_the_model_takes_the_feature_and_checks_it(tmp_path):
    tokenizer = MTLBiLSTMTokenizer.build(TRAINING, cong_contexts=CongContexts.build(TRAINING, 4, window=3))
    model = cong_model(tokenizer)
    assert model.embeddings.output_size == 8 + 4 + 4
    batch = dict(tokenizer([SENTENCE, OTHER[:5]]))
    output = model(**batch)
    changed = dict(batch, context_similarities=torch.zeros_like(batch["context_similarities"]))
    assert not torch.allclose(model(**changed).ner_logits, output.ner_logits)
    with pytest.raises(ValueError, match=r"context_similarities: expected shape \(2, 11, 4\) since "):
        model(**{k: v for k, v in batch.items() if k != "context_similarities"})
    plain = cong_model(MTLBiLSTMTokenizer.build(TRAINING))
    with pytest.raises(ValueError, match="context_similarities: expected None since config.cong_context_anchors=0"):
        plain(**batch)
    with pytest.raises(ValueError, match="cong_context_anchors: expected an int >= 0, received -1"):
        MTLBiLSTMConfig(ner_id2label=NER_TAGS, cong_context_anchors=-1)
    model.save_pretrained(tmp_path)
    loaded = MTLBiLSTMForTokenClassification.from_pretrained(tmp_path).eval()
    assert loaded.config.cong_context_anchors == 4
    torch.testing.assert_close(loaded(**batch).ner_logits, output.ner_logits, rtol=1e-5, atol=1e-6)
    assert torch.isfinite(output.ner_logits).all()


def test_a_saved_folder_computes_the_feature_without_the_package(tmp_path):
    """The Hub folder stays self-contained: its remote code maps forms to CoNg and reads the saved anchors."""
    tokenizer = MTLBiLSTMTokenizer.build(TRAINING, cong_contexts=CongContexts.build(TRAINING, 3, window=2))
    model = cong_model(tokenizer, seed=3)
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    with torch.no_grad():
        expected = model(**tokenizer([SENTENCE, OTHER])).ner_logits
    torch.save(expected, tmp_path / "expected.pt")
    result = run_without_package(
        f"""
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer
        model = AutoModelForTokenClassification.from_pretrained({str(folder)!r}, trust_remote_code=True).eval()
        tokenizer = AutoTokenizer.from_pretrained({str(folder)!r}, trust_remote_code=True)
        with torch.no_grad():
            logits = model(**tokenizer({[SENTENCE, OTHER]!r})).ner_logits
        torch.testing.assert_close(logits, torch.load({str(tmp_path / "expected.pt")!r}), rtol=1e-5, atol=1e-6)
        print("REMOTE_OK")
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "REMOTE_OK" in result.stdout
