"""Tests of raw-text NER: Kiwi analysis and offsets, the predictor, the pipeline and the CLI.

A tiny model is trained (about a second) on hand-written sentences analysed by the same Kiwi analyser,
so that it tags them as marked; other inputs test the shape and the invariants of the results."""

import io
import itertools
import json
import re
import sys
import unicodedata

import pytest
import torch


pytest.importorskip("kiwipiepy", reason="raw-text NER needs kiwipiepy: pip install -e '.[korean]'")

from tiny_models import train_marked_model, unmark  # noqa: E402
from transformers import pipeline  # noqa: E402

from modeling_mtl_bilstm import (  # noqa: E402
    KoreanNERPipeline,
    KoreanNERPredictor,
    MTLBiLSTMConfig,
    MTLBiLSTMForTokenClassification,
    MTLBiLSTMTokenizer,
    cli,  # noqa: E402
)
from modeling_mtl_bilstm.data_scripts.tag_schemes import iob2_spans  # noqa: E402
from modeling_mtl_bilstm.inference import predictor as predictor_module  # noqa: E402
from modeling_mtl_bilstm.inference.morphology import NFCOffsets, to_sejong_tag  # noqa: E402
from modeling_mtl_bilstm.inference.predictor import _chunk_bounds  # noqa: E402


# Entities marked <surface:TYPE>, as in the KLP 2016 `$` lines.
MARKED_SENTENCES = [
    "<세종대왕:PS>은 <1443년:DT>에 훈민정음을 창제했다.",
    "<이순신:PS>은 <1592년:DT>에 <한산도:LC>에서 크게 이겼다.",
    "<김구:PS>는 <1949년:DT>에 <서울:LC>에서 세상을 떠났다.",
    "어제 <부산:LC>에 갔어요.",
    "<세종:PS>이 <경복궁:LC>에서 책을 읽었다.",
    "UNESCO에 등재된 宗廟는 <서울:LC>에 있다.",
    "<서울:LC> <서울:LC> <서울:LC>",
    "우리는 <2002년:DT>에 <대구:LC>로 이사했다.",
    "<장영실:PS>은 측우기를 만들었다.",
    "그는 <제주도:LC>에서 귤을 먹었어요.",
]

TRICKY_INPUTS = [
    "",
    "   ",
    "\n\t\r\n",
    "Hello world",
    "😀😀",
    "👨‍👩‍👧 가족",
    "ㅋㅋㅋ",
    "한국ㅋㅋ 먹었어욥",
    "\ud800서울",  # an unpaired surrogate
    "a\x00b",
    "(서울) \"부산\" 'UN' ≪宗廟≫",
    "https://example.com 에서 @user #태그 test@mail.com 010-1234-5678",
    "1. 가. 나) 항목",
    "東京と서울とNew York",
    "창제했다했다했다",
    "1443년1443년",
    "\u200b\u200b서울\u200b",
    "ㄱㄴㄷ ㅏㅑ",
    "...!!!???",
    "이순신은 1592년에 한산도에서 크게 이겼다. 김구는 1949년에 서울에서 세상을 떠났다.",
    unicodedata.normalize("NFD", "세종대왕은 1443년에 서울에서 Café를 열었다."),  # decomposed Hangul and é
    "한각 ẹ́ ᄀ",  # conjoining jamo, partly over a precomposed syllable
]


def entity_tuples(result: dict) -> list[tuple[str, str, int, int]]:
    return [(e["text"], e["type"], e["start"], e["end"]) for e in result["entities"]]


def without_scores(result: dict) -> dict:
    return {**result, "entities": [{k: v for k, v in e.items() if k != "score"} for e in result["entities"]]}


def assert_same_results(results, expected):
    assert [without_scores(r) for r in results] == [without_scores(r) for r in expected]
    scores = [e["score"] for r in results for e in r["entities"]]
    assert scores == pytest.approx([e["score"] for r in expected for e in r["entities"]], abs=1e-5)


@pytest.fixture(scope="module")
def analyzer(kiwi_analyzer):
    return kiwi_analyzer


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, analyzer):
    """A tiny multi-task model (CRF NER head, syllable CNN) trained until it tags MARKED_SENTENCES as marked."""
    return train_marked_model(tmp_path_factory.mktemp("tiny-ner-model"), analyzer, MARKED_SENTENCES)


@pytest.fixture(scope="module")
def predictor(model_dir, analyzer):
    return KoreanNERPredictor.from_pretrained(model_dir, analyzer=analyzer)


@pytest.fixture
def shared_kiwi(monkeypatch, analyzer):
    """Predictors built inside the CLI reuse the module's analyser: a new Kiwi takes seconds to warm up."""
    monkeypatch.setattr(predictor_module, "KiwiMorphemeAnalyzer", lambda: analyzer)


# ---------------------------------------------------------------- analysis and offsets


@pytest.mark.parametrize(
    "kiwi_tag, sejong_tag",
    [
        ("NNP", "NNP"),
        ("VV-I", "VV"),
        ("VA-R", "VA"),
        ("XSA-I", "XSA"),
        ("SSO", "SS"),
        ("SSC", "SS"),
        ("W_URL", "SL"),
        ("W_EMAIL", "SL"),
        ("W_MENTION", "SL"),
        ("W_HASHTAG", "SW"),
        ("W_SERIAL", "SN"),
        ("W_EMOJI", "SW"),
        ("UN", "NA"),
        ("SB", "SW"),
        ("USER3", "NNP"),
    ],
)
def test_kiwi_tags_map_onto_sejong(kiwi_tag, sejong_tag):
    assert to_sejong_tag(kiwi_tag) == sejong_tag


@pytest.mark.parametrize(
    "text, expected",
    [
        # Contractions: the morphemes of 했 and 갔 share its span.
        ("창제했다", [("창제", 0, 2, "NNG"), ("하", 2, 3, "XSV"), ("었", 2, 3, "EP"), ("다", 3, 4, "EF")]),
        ("갔어요", [("가", 0, 1, "VV"), ("었", 0, 1, "EP"), ("어요", 1, 3, "EF")]),
        # An ending's added coda (Z_CODA) is given back to the ending.
        ("먹었어욥", [("먹", 0, 1, "VV"), ("었", 1, 2, "EP"), ("어요", 2, 4, "EF")]),
        ("우리집에성", [("우리", 0, 2, "NP"), ("집", 2, 3, "NNG"), ("에서", 3, 5, "JKB")]),
        # Overlapping spans: 짓 covers 지어, 어 its second syllable; the irregular verb loses Kiwi's -I.
        (
            "1443년에 지어졌다",
            [
                ("1443", 0, 4, "SN"),
                ("년", 4, 5, "NNB"),
                ("에", 5, 6, "JKB"),
                ("짓", 7, 9, "VV"),
                ("어", 8, 9, "EC"),
                ("지", 9, 10, "VX"),
                ("었", 9, 10, "EP"),
                ("다", 10, 11, "EF"),
            ],
        ),
        # Brackets are SS; compatibility jamo (ㄴ, not ᆫ); Hanja.
        (
            "(서울)에 간 宗廟",
            [
                ("(", 0, 1, "SS"),
                ("서울", 1, 3, "NNP"),
                (")", 3, 4, "SS"),
                ("에", 4, 5, "JKB"),
                ("가", 6, 7, "VV"),
                ("ㄴ", 6, 7, "ETM"),
                ("宗廟", 8, 10, "SH"),
            ],
        ),
        ("\ud800서울", [("\ufffd", 0, 1, "SW"), ("서울", 1, 3, "NNP")]),
    ],
)
def test_analysis_in_training_conventions_with_offsets(analyzer, text, expected):
    (sentence,) = analyzer.analyze([text])[0]
    assert [(m.form, m.start, m.end, m.tag) for m in sentence] == expected


def test_analysis_keeps_kiwi_tags_and_splits_sentences_with_document_offsets(analyzer):
    text = "(서울)에 갔다. 걸었다"
    sentences = analyzer.analyze([text])[0]
    assert [[(m.form, m.kiwi_tag, m.start, m.end) for m in s] for s in sentences] == [
        [
            ("(", "SSO", 0, 1),
            ("서울", "NNP", 1, 3),
            (")", "SSC", 3, 4),
            ("에", "JKB", 4, 5),
            ("가", "VV", 6, 7),
            ("었", "EP", 6, 7),
            ("다", "EF", 7, 8),
            (".", "SF", 8, 9),
        ],
        [("걷", "VV-I", 10, 11), ("었", "EP", 11, 12), ("다", "EF", 12, 13)],
    ]
    assert analyzer.analyze(["", "  \n "]) == [[], []]


@pytest.mark.parametrize(
    "text",
    [
        unicodedata.normalize("NFD", "세종대왕은 1443년에 창제했다"),
        "\u1112\u1161\u11ab\uac00\u11a8",  # 한 as three jamo, then 가 + a final jamo (각)
        "Cafe\u0301 a\u0323\u0302 e\u0301\u0301",  # é; ậ reordered and composed; a second accent left apart
        "\u1100\u1100\u1161",  # a lone initial before a syllable
    ],
)
def test_nfc_offsets_map_every_character_back_to_its_source(text):
    offsets = NFCOffsets(text)
    assert offsets.text == unicodedata.normalize("NFC", text) != text
    spans = [offsets.original_span(index, index + 1) for index in range(len(offsets.text))]
    # The spans tile the original text in order, and each normalises to the characters it stands for.
    pieces = list(dict.fromkeys(spans))
    assert pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(left[1] == right[0] for left, right in zip(pieces, pieces[1:]))
    assert "".join(unicodedata.normalize("NFC", text[start:end]) for start, end in pieces) == offsets.text
    assert offsets.original_span(len(offsets.text), len(offsets.text)) == (len(text), len(text))


def test_nfc_offsets_of_an_nfc_text_are_the_identity():
    offsets = NFCOffsets("서울 Café")
    assert offsets.text == "서울 Café"
    assert [offsets.original_span(i, j) for i, j in [(0, 2), (3, 7), (7, 7)]] == [(0, 2), (3, 7), (7, 7)]


def test_decomposed_hangul_is_analysed_like_precomposed(analyzer):
    text = "세종대왕은 1443년에 창제했다"
    decomposed = unicodedata.normalize("NFD", text)
    (composed_sentence,) = analyzer.analyze([text])[0]
    (decomposed_sentence,) = analyzer.analyze([decomposed])[0]
    assert [(m.form, m.tag) for m in decomposed_sentence] == [(m.form, m.tag) for m in composed_sentence]
    for composed, from_decomposed in zip(composed_sentence, decomposed_sentence):
        assert (
            unicodedata.normalize("NFC", decomposed[from_decomposed.start : from_decomposed.end])
            == (text[composed.start : composed.end])
        )


# ---------------------------------------------------------------- predictor


@pytest.mark.parametrize("marked", MARKED_SENTENCES)
def test_entities_and_offsets_on_the_training_sentences(predictor, marked):
    text, expected = unmark(marked)
    result = predictor(text)
    assert result["text"] == text
    assert entity_tuples(result) == expected
    for entity in result["entities"]:
        assert 0.5 < entity["score"] <= 1.0


def test_tokens_of_a_contraction_and_of_latin_and_hanja(predictor):
    result = predictor("UNESCO에 등재된 宗廟는 서울에 있다.")
    tokens = [(t["form"], t["start"], t["end"], t["pos"], t["ner"], t["kiwi_tag"]) for t in result["tokens"]]
    assert tokens[:7] == [
        ("UNESCO", 0, 6, "SL", "O", "SL"),
        ("에", 6, 7, "JKB", "O", "JKB"),
        ("등재", 8, 10, "NNG", "O", "NNG"),
        ("되", 10, 11, "XSV", "O", "XSV"),
        ("ㄴ", 10, 11, "ETM", "O", "ETM"),  # 된 = 되 + ㄴ
        ("宗廟", 12, 14, "SH", "O", "SH"),
        ("는", 14, 15, "JX", "O", "JX"),
    ]


@pytest.mark.parametrize("text", TRICKY_INPUTS + [unmark(m)[0] for m in MARKED_SENTENCES])
def test_offsets_always_index_the_input(predictor, text):
    result = predictor(text)
    assert result["text"] == text
    for entity in result["entities"]:
        assert 0 <= entity["start"] < entity["end"] <= len(text)
        assert entity["text"] == text[entity["start"] : entity["end"]]
        assert 0.0 <= entity["score"] <= 1.0
    for token in result["tokens"]:
        assert 0 <= token["start"] <= token["end"] <= len(text)
        assert set(token) == {"form", "start", "end", "pos", "ner", "kiwi_tag"}
    starts = [token["start"] for token in result["tokens"]]
    assert starts == sorted(starts)
    json.dumps(result, ensure_ascii=False)  # plain Python values only


def test_decomposed_input_gives_the_entities_of_the_composed_text(predictor):
    text, expected = unmark(MARKED_SENTENCES[2])
    decomposed = unicodedata.normalize("NFD", text)
    result = predictor(decomposed)
    assert result["text"] == decomposed
    assert [(unicodedata.normalize("NFC", e["text"]), e["type"]) for e in result["entities"]] == [
        (surface, entity_type) for surface, entity_type, _, _ in expected
    ]
    for entity in result["entities"]:
        assert entity["text"] == decomposed[entity["start"] : entity["end"]]


@pytest.mark.parametrize("text", ["", "   ", "\n\t\r\n"])
def test_blank_input_gives_an_empty_result(predictor, text):
    assert predictor(text) == {"text": text, "entities": [], "tokens": []}


@pytest.mark.parametrize(
    "text, forms",
    [("Hello world", ["Hello", "world"]), ("😀😀", ["😀", "😀"]), ("ㅋㅋㅋ", ["ㅋㅋㅋ"])],
)
def test_non_korean_input_is_tokenised(predictor, text, forms):
    assert [token["form"] for token in predictor(text)["tokens"]] == forms


def test_string_and_list_calls(predictor):
    texts = [unmark(MARKED_SENTENCES[0])[0], "", unmark(MARKED_SENTENCES[3])[0]]
    single = predictor(texts[2])
    assert isinstance(single, dict) and entity_tuples(single) == [("부산", "LC", 3, 5)]
    batch = predictor(texts)
    assert isinstance(batch, list) and [r["text"] for r in batch] == texts
    assert_same_results([batch[2]], [single])
    assert predictor(tuple(texts[:1]))[0]["text"] == texts[0]
    assert predictor([]) == []
    with pytest.raises(TypeError, match=r"inputs\[1\]: expected a str, received int"):
        predictor(["서울", 3])


def test_batch_size_does_not_change_results(predictor, model_dir, analyzer):
    texts = [unmark(m)[0] for m in MARKED_SENTENCES] + TRICKY_INPUTS
    one_by_one = KoreanNERPredictor.from_pretrained(model_dir, analyzer=analyzer, batch_size=1)
    assert_same_results(one_by_one(texts), predictor(texts))


def test_long_document_keeps_offsets_into_the_whole_text(predictor):
    sentences = [unmark(m) for m in MARKED_SENTENCES[:6]]
    text = " ".join(text for text, _ in sentences)
    document = " ".join([text] * (5000 // len(text) + 1))
    assert len(document) >= 5000
    expected, offset = [], 0
    while offset < len(document):
        for sentence, entities in sentences:
            expected += [(surface, kind, offset + start, offset + end) for surface, kind, start, end in entities]
            offset += len(sentence) + 1
    assert entity_tuples(predictor(document)) == expected


def test_long_sentence_is_tagged_in_chunks_not_cut(predictor, monkeypatch):
    shapes = []
    forward = predictor.model.forward

    def recording_forward(input_ids, **kwargs):
        shapes.append(tuple(input_ids.shape))
        return forward(input_ids, **kwargs)

    monkeypatch.setattr(predictor.model, "forward", recording_forward)
    text = " ".join(["서울"] * 600)
    result = predictor(text)
    assert shapes == [(3, 256)]  # chunks of 256, 256 and 88 morphemes, in one batch
    assert [(t["start"], t["end"]) for t in result["tokens"]] == [(3 * i, 3 * i + 2) for i in range(600)]
    assert len(result["entities"]) == 600
    assert all(e["text"] == "서울" and e["type"] == "LC" for e in result["entities"])


def test_chunks_end_at_word_starts_in_their_second_half():
    #             0      1      2     3      4     5      6      7     8      9
    word_starts = [False, False, True, False, True, False, False, True, False, False]
    assert _chunk_bounds(word_starts, 4) == [(0, 4), (4, 7), (7, 10)]
    assert _chunk_bounds([False] * 10, 4) == [(0, 4), (4, 8), (8, 10)]  # no word start: hard cuts
    assert _chunk_bounds(word_starts, 10) == [(0, 10)]
    assert _chunk_bounds([], 4) == []


def test_entity_spans_read_iob2_as_the_metric_scores_it():
    tags = ["B-PS", "I-PS", "I-LC", "O", "I-DT", "I-DT", "B-LC", "B-LC", "I-LC", "O"]
    assert iob2_spans(tags) == [("PS", 0, 2), ("LC", 6, 7), ("LC", 7, 9)]  # stray I- tags open nothing
    assert iob2_spans(["O", "O"]) == [] and iob2_spans([]) == []


def test_entity_spans_equal_the_strict_metric_entities_on_every_short_sequence():
    """Oracle: seqeval's strict IOB2 entities (what korean_ner_pos scores) on every sequence of up to 4 tags."""
    from seqeval.scheme import IOB2, Entities

    alphabet = ["O", "B-PS", "I-PS", "B-LC", "I-LC"]
    for length in range(5):
        for tags in itertools.product(alphabet, repeat=length):
            expected = sorted((e.tag, e.start, e.end) for e in Entities([list(tags)], IOB2).entities[0])
            assert sorted(iob2_spans(tags)) == expected, tags


def test_predict_morphemes_is_model_only(predictor, analyzer):
    text, _ = unmark(MARKED_SENTENCES[0])
    (sentence,) = analyzer.analyze([text])[0]
    forms = [m.form for m in sentence]
    pos_tags, ner_tags = predictor.predict_morphemes([forms])[0]
    assert ner_tags == ["B-PS", "I-PS", "O", "B-DT", "I-DT", "O", "O", "O", "O", "O", "O", "O", "O"]
    assert pos_tags == [m.tag for m in sentence]
    assert predictor.predict_morphemes([[], forms[:2]]) == [([], []), (["NNP", "NNG"], ["B-PS", "I-PS"])]
    with pytest.raises(TypeError, match=r"sentences\[0\]: expected a list of morphemes, received a str"):
        predictor.predict_morphemes(["세종대왕"])


def is_valid_iob2(tags: list[str]) -> bool:
    return all(
        not tag.startswith("I-") or (i > 0 and tags[i - 1] in (f"B-{tag[2:]}", tag)) for i, tag in enumerate(tags)
    )


def test_entity_score_is_the_crf_posterior_marginal(predictor):
    """Brute force over all tag paths of a three-morpheme sentence: the score of a decoded tag is its probability
    among the valid IOB2 paths, the paths that constrained decoding chooses from."""
    result = predictor("서울 서울 서울")
    model, crf = predictor.model, predictor.model.heads["ner"].crf
    inputs = predictor.tokenizer([["서울"] * 3])
    with torch.no_grad():
        emissions = model(**inputs).ner_logits
        num_tags = emissions.size(-1)
        paths = torch.cartesian_prod(*[torch.arange(num_tags)] * 3)
        log_probabilities = crf.log_likelihood(
            emissions.expand(len(paths), -1, -1), paths, torch.ones(len(paths), 3, dtype=torch.bool)
        )
    probabilities = log_probabilities.exp()
    assert probabilities.sum().item() == pytest.approx(1.0, abs=1e-5)
    id2label = model.config.ner_id2label
    valid = torch.tensor([is_valid_iob2([id2label[int(i)] for i in path]) for path in paths])
    probabilities = torch.where(valid, probabilities, 0.0)
    probabilities = probabilities / probabilities.sum()
    b_lc = model.config.ner_label2id["B-LC"]
    marginals = [probabilities[paths[:, i] == b_lc].sum().item() for i in range(3)]
    assert [e["score"] for e in result["entities"]] == pytest.approx(marginals, abs=1e-5)


def test_quantized_model_agrees_with_fp32(predictor, model_dir, analyzer):
    quantized = KoreanNERPredictor.from_pretrained(model_dir, analyzer=analyzer, quantize=True)
    assert isinstance(quantized.model.shared_encoder.lstm, torch.ao.nn.quantized.dynamic.LSTM)
    assert isinstance(quantized.model.heads["ner"].classifier, torch.ao.nn.quantized.dynamic.Linear)
    assert isinstance(predictor.model.shared_encoder.lstm, torch.nn.LSTM)  # the fp32 model is left as it was
    texts = [unmark(m)[0] for m in MARKED_SENTENCES]
    fp32_tokens = [t for r in predictor(texts) for t in r["tokens"]]
    int8_tokens = [t for r in quantized(texts) for t in r["tokens"]]
    assert len(int8_tokens) == len(fp32_tokens)
    for task in ("ner", "pos"):
        agreement = sum(a[task] == b[task] for a, b in zip(fp32_tokens, int8_tokens)) / len(fp32_tokens)
        assert agreement >= 0.9, task


def test_model_without_pos_head_reports_kiwis_tag_in_sejong(model_dir, analyzer):
    tokenizer = MTLBiLSTMTokenizer.from_pretrained(model_dir)
    trained = MTLBiLSTMConfig.from_pretrained(model_dir)
    config = MTLBiLSTMConfig(
        vocab_size=tokenizer.vocab_size,
        embedding_dim=4,
        shared_hidden_size=4,
        ner_hidden_size=4,
        tasks=("ner",),
        ner_id2label=trained.ner_id2label,
    )
    ner_only = KoreanNERPredictor(MTLBiLSTMForTokenClassification(config), tokenizer, analyzer=analyzer)
    tokens = ner_only("(서울)에 갔다. 걸었다")["tokens"]
    assert [(t["form"], t["pos"], t["kiwi_tag"]) for t in tokens] == [
        ("(", "SS", "SSO"),
        ("서울", "NNP", "NNP"),
        (")", "SS", "SSC"),
        ("에", "JKB", "JKB"),
        ("가", "VV", "VV"),
        ("었", "EP", "EP"),
        ("다", "EF", "EF"),
        (".", "SF", "SF"),
        ("걷", "VV", "VV-I"),
        ("었", "EP", "EP"),
        ("다", "EF", "EF"),
    ]
    assert ner_only.predict_morphemes([["서울"]])[0][0] is None


@pytest.mark.parametrize(
    "config_kwargs, predictor_kwargs, message",
    [
        ({}, {"batch_size": 0}, "batch_size: expected a positive int, received 0"),
        ({}, {"max_length": 0}, "max_length: expected a positive int, received 0"),
        ({}, {"quantize": True, "device": "cuda"}, "quantize=True: expected device 'cpu'"),
        ({"tasks": ("pos",), "ner_id2label": None}, {}, "expected a model with an NER head, received one for tasks"),
        ({"ner_id2label": {0: "O", 1: "PER"}}, {}, "expected IOB2 tags ('O', 'B-<type>', 'I-<type>'), received 'PER'"),
    ],
)
def test_predictor_errors_say_expected_and_received(config_kwargs, predictor_kwargs, message):
    kwargs = dict(
        vocab_size=10,
        embedding_dim=4,
        shared_hidden_size=4,
        pos_hidden_size=4,
        ner_hidden_size=4,
        pos_id2label={0: "NNG"},
        ner_id2label={0: "O", 1: "B-PS", 2: "I-PS"},
    )
    model = MTLBiLSTMForTokenClassification(MTLBiLSTMConfig(**{**kwargs, **config_kwargs}))
    with pytest.raises(ValueError, match=re.escape(message)):
        KoreanNERPredictor(model, MTLBiLSTMTokenizer(["서울"]), **predictor_kwargs)


def test_missing_kiwipiepy_names_the_extra(model_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "kiwipiepy", None)  # makes `import kiwipiepy` fail
    without_kiwi = KoreanNERPredictor.from_pretrained(model_dir)
    assert without_kiwi.predict_morphemes([["서울"]]) == [(["NNP"], ["B-LC"])]  # model-only use still works
    with pytest.raises(ImportError, match=re.escape('pip install "mtl-bilstm-ner[korean]"')):
        without_kiwi("서울")


# ---------------------------------------------------------------- pipeline


def test_pipeline_answers_like_token_classification(predictor, model_dir, analyzer):
    ner = pipeline("korean-ner", model=str(model_dir), analyzer=analyzer)
    assert isinstance(ner, KoreanNERPipeline)
    texts = [unmark(MARKED_SENTENCES[1])[0], "", "서울 서울 서울"]
    single = ner(texts[0])
    assert [{k: v for k, v in e.items() if k != "score"} for e in single] == [
        {"entity_group": "PS", "word": "이순신", "start": 0, "end": 3},
        {"entity_group": "DT", "word": "1592년", "start": 5, "end": 10},
        {"entity_group": "LC", "word": "한산도", "start": 12, "end": 15},
    ]
    answers = ner(texts)
    assert answers[0] == single
    as_predictor_results = [
        {
            "text": text,
            "tokens": [],
            "entities": [
                {
                    "text": e["word"],
                    "type": e["entity_group"],
                    "start": e["start"],
                    "end": e["end"],
                    "score": e["score"],
                }
                for e in answer
            ],
        }
        for text, answer in zip(texts, answers)
    ]
    assert_same_results(as_predictor_results, [{**r, "tokens": []} for r in predictor(texts)])
    with pytest.raises(ValueError, match="batch_size: expected it when the pipeline is built"):
        ner(texts, batch_size=8)


# ---------------------------------------------------------------- command line


def test_cli_predicts_a_file_line_by_line(predictor, model_dir, tmp_path, shared_kiwi, capsys):
    lines = [unmark(MARKED_SENTENCES[0])[0], "", "   ", "어제 부산에 갔어요.", "😀 Hello"]
    source = tmp_path / "input.txt"
    source.write_bytes("\r\n".join(lines).encode("utf-8") + b"\n")
    target = tmp_path / "output.jsonl"
    assert (
        cli.main(
            [
                "predict",
                "--model",
                str(model_dir),
                "--input",
                str(source),
                "--output",
                str(target),
                "--batch_size",
                "2",
            ]
        )
        == 0
    )
    written = target.read_text(encoding="utf-8")
    assert "부산" in written  # not \ud5e8-escaped
    results = [json.loads(line) for line in written.splitlines()]
    assert_same_results(results, predictor(lines))
    assert results[1] == {"text": "", "entities": [], "tokens": []}
    assert "5/5" in capsys.readouterr().err  # the progress bar


def test_cli_reads_stdin_and_writes_stdout(predictor, model_dir, monkeypatch, shared_kiwi, capsys):
    lines = ["서울 서울 서울", "", "UNESCO에 등재된 宗廟는 서울에 있다."]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("\n".join(lines).encode("utf-8"))))
    assert cli.main(["predict", "--model", str(model_dir), "--quantize"]) == 0
    captured = capsys.readouterr()
    results = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["text"] for r in results] == lines
    assert [len(r["entities"]) for r in results] == [3, 0, 1]
    assert "line/s" not in captured.err  # no progress bar for a stream


def test_cli_reports_undecodable_lines(model_dir, tmp_path, shared_kiwi, capsys):
    source = tmp_path / "latin1.txt"
    source.write_bytes("서울\n".encode() + "café\n".encode("latin-1"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["predict", "--model", str(model_dir), "--input", str(source), "--output", str(tmp_path / "o")])
    assert exit_info.value.code == 1
    assert f"{source}, line 2: expected UTF-8 text, found byte 0xe9" in capsys.readouterr().err


def test_cli_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["predict", "--model", "m", "--batch_size", "0"])
    assert exit_info.value.code == 2
    assert "expected a positive integer, received '0'" in capsys.readouterr().err


# ---------------------------------------------------------------- long documents: blocks, offsets, eojeol indexes


def test_text_blocks_cover_the_text_and_end_after_sentence_ends():
    from modeling_mtl_bilstm.inference.morphology import text_blocks

    sentence = "이순신은 1592년에 한산도에서 크게 이겼다. "
    text = "'" + sentence * 40  # an unbalanced quote before every sentence
    bounds = text_blocks(text, max_chars=100)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(text)
    assert all(end == next_start for (_, end), (next_start, _) in zip(bounds, bounds[1:]))
    assert all(0 < end - start <= 100 for start, end in bounds)
    assert all(text[end - 2 : end] == ". " for _, end in bounds[:-1])  # each block ends after a sentence end
    assert text_blocks("", 100) == [(0, 0)] and text_blocks(sentence, 100) == [(0, len(sentence))]
    spaceless = "가" * 250
    assert text_blocks(spaceless, 100) == [(0, 100), (100, 200), (200, 250)]  # no break: cut at the limit


def test_long_text_is_analysed_in_blocks_with_exact_offsets(analyzer):
    """A text of several blocks: no sentence crosses a block, and every morpheme's span indexes the original (here
    partly decomposed) text as each sentence analysed alone does."""
    from modeling_mtl_bilstm.inference.morphology import MAX_BLOCK_CHARS, text_blocks

    sentences = [unmark(m)[0] for m in MARKED_SENTENCES[:5]]
    sentences[1] = unicodedata.normalize("NFD", sentences[1])
    pieces = ["'"] + sentences * (3 * MAX_BLOCK_CHARS // len(" ".join(sentences)) + 1)
    document = " ".join(pieces)
    (sentences_found,) = analyzer.analyze([document])
    assert len(text_blocks(unicodedata.normalize("NFC", document))) >= 3
    assert all(s[-1].end - s[0].start <= MAX_BLOCK_CHARS for s in sentences_found)

    expected, offset = [], 0
    for piece, analysed in zip(pieces, analyzer.analyze(pieces)):
        expected += [(m.form, m.start + offset, m.end + offset) for s in analysed for m in s]
        offset += len(piece) + 1
    received = [(m.form, m.start, m.end) for s in sentences_found for m in s]
    assert received == expected


def test_eojeol_word_ids_agree_with_the_corpus_builder(analyzer):
    """The predictor's eojeol indexes, counted per sentence, give the eojeol features that `project_entities` gives
    Kiwi-analysed training text, counted over the whole text."""
    pytest.importorskip("datasets")
    from modeling_mtl_bilstm.data_scripts.korean_ner import project_entities
    from modeling_mtl_bilstm.inference.morphology import eojeol_word_ids
    from modeling_mtl_bilstm.tokenization_mtl_bilstm import eojeol_ids_of

    texts = [unmark(m)[0] for m in MARKED_SENTENCES] + TRICKY_INPUTS
    texts.append("  ".join(texts))
    for text, sentences in zip(texts, analyzer.analyze(texts)):
        for sentence in sentences:
            expected = eojeol_ids_of(project_entities(text, (), sentence).word_ids)
            assert eojeol_ids_of(eojeol_word_ids(text, sentence)) == expected, (text, sentence)


def test_long_document_gives_the_entities_of_its_sentences(predictor):
    """A document of several blocks is tagged as its sentences are, at exact offsets."""
    from modeling_mtl_bilstm.inference.morphology import MAX_BLOCK_CHARS

    sentences = [unmark(m)[0] for m in MARKED_SENTENCES]
    pieces = sentences * (2 * MAX_BLOCK_CHARS // len(" ".join(sentences)) + 1)
    document = " ".join(pieces)
    expected, offset = [], 0
    for piece, result in zip(pieces, predictor(pieces)):
        expected += [(text, kind, start + offset, end + offset) for text, kind, start, end in entity_tuples(result)]
        offset += len(piece) + 1
    received = entity_tuples(predictor(document))
    assert received == expected and len(received) > 20
    assert all(document[start:end] == text for text, _, start, end in received)


def test_stream_yields_results_in_order_and_stops_early(predictor):
    texts = [unmark(m)[0] for m in MARKED_SENTENCES] * 30
    expected = predictor(texts)
    stream = predictor.stream(iter(texts))
    assert [next(stream) for _ in range(3)] == expected[:3]
    stream.close()
    assert list(predictor.stream(iter(texts))) == expected
    with pytest.raises(TypeError, match=r"texts\[1\]: expected a str, received int"):
        list(predictor.stream(iter(["서울", 3])))
