"""Tests of the optional input features (issue 13): eojeol positions, the gazetteer and word dropout.

The features of a sentence are computed from the same inputs in training and at inference; the oracle tests write
down the features of known sentences and check every path that computes them against that."""

import json
import random
import unicodedata

import datasets
import pytest
import torch
from huggingface_hub.errors import StrictDataclassFieldValidationError
from remote_code import run_without_package
from tiny_models import RANDOM_MODEL_SIZES
from transformers import AutoTokenizer

from modeling_mtl_bilstm import (
    DataCollatorForMTLBiLSTM,
    MTLBiLSTMConfig,
    MTLBiLSTMForTokenClassification,
    MTLBiLSTMTokenizer,
    load_korean_ner,
)
from modeling_mtl_bilstm.tokenization_mtl_bilstm import (
    EOJEOL_INITIAL_ID,
    EOJEOL_INTERNAL_ID,
    EOJEOL_UNKNOWN_ID,
    MIN_GAZETTEER_SURFACE_LENGTH,
    SINGLETON_MASK,
    Gazetteer,
    eojeol_ids_of,
)
from modeling_mtl_bilstm.training import DataArguments
from modeling_mtl_bilstm.training.features import (
    build_gazetteers,
    encode_corpus,
    gazetteer_fold,
    sentence_entities,
    training_singletons,
)


WS, WI, UN = EOJEOL_INITIAL_ID, EOJEOL_INTERNAL_ID, EOJEOL_UNKNOWN_ID  # word start, word inside, unknown
NER_TAGS = {0: "O", 1: "B-DT", 2: "I-DT", 3: "B-LC", 4: "I-LC", 5: "B-PS", 6: "I-PS"}
TYPES = ("DT", "LC", "PS")
# Flags in the order B-DT, I-DT, B-LC, I-LC, B-PS, I-PS.
NONE, B_DT, I_DT = [0] * 6, [1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]

# A sentence of the bundled sample's training split, whose corpus morphemes and Kiwi's are the same; 했 is a
# contraction (하 + 었 share its span).
ORACLE_TEXT = "세종은 1443년에 훈민정음을 만들고 1446년에 반포했다."
ORACLE_MORPHEMES = ["세종", "은", "1443", "년", "에", "훈민정음", "을", "만들", "고", "1446", "년", "에", "반포", "하", "었", "다", "."]  # fmt: skip
ORACLE_EOJEOL_IDS = [WS, WI, WS, WI, WI, WS, WI, WS, WI, WS, WI, WI, WS, WI, WI, WI, WI]
ORACLE_GAZETTEER = Gazetteer(
    TYPES,
    [
        ("세종", "PS"),
        ("세종", "LC"),  # a surface with two types
        ("1443년", "DT"),
        ("1446", "DT"),
        ("1446년", "DT"),  # the longer match wins
        ("반포했", "DT"),  # surface text of a contraction: the forms are 반포 + 하 + 었, no match
        ("은", "PS"),  # one character: left out
    ],
)
ORACLE_FLAGS = [[0, 0, 1, 0, 1, 0], NONE, B_DT, I_DT, *[NONE] * 5, B_DT, I_DT, *[NONE] * 6]


def feature_tokenizer(sentences=(ORACLE_MORPHEMES,), gazetteer=ORACLE_GAZETTEER) -> MTLBiLSTMTokenizer:
    return MTLBiLSTMTokenizer.build(sentences, eojeol_features=True, gazetteer=gazetteer)


def feature_model(tokenizer: MTLBiLSTMTokenizer, seed=0, **overrides) -> MTLBiLSTMForTokenClassification:
    torch.manual_seed(seed)
    config = MTLBiLSTMConfig(
        vocab_size=tokenizer.vocab_size,
        char_vocab_size=tokenizer.char_vocab_size,
        **RANDOM_MODEL_SIZES,
        pos_id2label={0: "NNG", 1: "NNP", 2: "JX"},
        ner_id2label=NER_TAGS,
        use_eojeol_features=tokenizer.eojeol_features,
        eojeol_embedding_dim=3,
        gazetteer_types=tokenizer.gazetteer.types if tokenizer.gazetteer else None,
        **overrides,
    )
    return MTLBiLSTMForTokenClassification(config).eval()


def corpus_row(corpus, text: str) -> dict:
    return next(row for row in corpus["train"] if row["text"] == text)


# ---------------------------------------------------------------- eojeol positions


@pytest.mark.parametrize(
    "word_ids, expected",
    [
        ([0, 0, 1, 1, 1, 2], [WS, WI, WS, WI, WI, WS]),
        ([-1, -1, -1], [UN, UN, UN]),  # no eojeol index (the ner2016 corpus)
        ([3, 3, 4], [WS, WI, WS]),  # a sentence's first morpheme starts an eojeol whatever its index
        ([0], [WS]),
    ],
)
def test_eojeol_ids_from_word_ids(word_ids, expected):
    assert eojeol_ids_of(word_ids) == expected


def test_tokenizer_gives_eojeol_ids_only_when_asked_and_unknown_without_word_ids():
    plain = MTLBiLSTMTokenizer.build([ORACLE_MORPHEMES])
    assert "eojeol_ids" not in plain.encode(ORACLE_MORPHEMES, word_ids=[0] * len(ORACLE_MORPHEMES))
    tokenizer = feature_tokenizer()
    assert tokenizer.encode(["세종", "은"])["eojeol_ids"] == [UN, UN]
    batch = tokenizer([["세종", "은"], ["세종"]], word_ids=[[0, 0], [0]])
    assert batch["eojeol_ids"].tolist() == [[WS, WI], [WS, UN]]  # padding is unknown
    with pytest.raises(ValueError, match="word_ids: expected 2 eojeol indexes .* received 1"):
        tokenizer.encode(["세종", "은"], word_ids=[0])


# ---------------------------------------------------------------- gazetteer


def test_gazetteer_matches_leftmost_longest_over_morpheme_forms():
    gazetteer = Gazetteer(
        ("LC", "PS"),
        [("이순신 장군", "PS"), ("이순신", "PS"), ("서울", "LC"), ("서울역", "LC"), ("역", "LC")],
    )
    assert len(gazetteer) == 4  # 역: one character, left out
    morphemes = ["이순신", "장군", "은", "서울", "역", "에서", "서울", "에"]
    assert gazetteer.matches(morphemes) == [(0, 2, ("PS",)), (3, 5, ("LC",)), (6, 7, ("LC",))]
    assert gazetteer.flags(morphemes) == [
        [0, 0, 1, 0],
        [0, 0, 0, 1],
        [0, 0, 0, 0],
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 0, 0],
        [1, 0, 0, 0],
        [0, 0, 0, 0],
    ]
    # Surfaces and forms are compared in NFC without spaces.
    assert Gazetteer(("LC",), [(unicodedata.normalize("NFD", "서울"), "LC")]).matches(["서울"]) == [(0, 1, ("LC",))]


def brute_force_matches(entries: dict, keys: list[str]) -> list[tuple[int, int, tuple[str, ...]]]:
    """Leftmost-longest by trying every end of every run: the oracle of `Gazetteer.matches`."""
    found, first = [], 0
    while first < len(keys):
        ends = [end for end in range(first + 1, len(keys) + 1) if "".join(keys[first:end]) in entries]
        if not ends:
            first += 1
            continue
        found.append((first, max(ends), entries["".join(keys[first : max(ends)])]))
        first = max(ends)
    return found


def test_gazetteer_matches_equal_the_brute_force_oracle():
    rng = random.Random(0)
    syllables = ["가", "나", "다", "라", "마"]
    for _ in range(200):
        surfaces = {"".join(rng.choices(syllables, k=rng.randint(2, 6))) for _ in range(rng.randint(1, 12))}
        gazetteer = Gazetteer(("LC", "PS"), [(surface, rng.choice(["LC", "PS"])) for surface in surfaces])
        morphemes = ["".join(rng.choices(syllables, k=rng.randint(1, 3))) for _ in range(rng.randint(0, 12))]
        entries = {key: tuple(gazetteer.types[i] for i in ids) for key, ids in gazetteer.entries.items()}
        assert gazetteer.matches(morphemes) == brute_force_matches(entries, morphemes), (surfaces, morphemes)


def test_gazetteer_errors_say_expected_and_received():
    with pytest.raises(ValueError, match=r"expected a type in \('LC',\), received 'PS'"):
        Gazetteer(("LC",), [("이순신", "PS")])
    with pytest.raises(ValueError, match="expected distinct entity types"):
        Gazetteer(("LC", "LC"))
    tokenizer = feature_tokenizer()
    with pytest.raises(ValueError, match=r"gazetteer: expected one with the types \('DT', 'LC', 'PS'\)"):
        tokenizer.encode(["세종"], gazetteer=Gazetteer(("PS",)))
    with pytest.raises(ValueError, match="gazetteer: expected None, since this tokenizer has no gazetteer feature"):
        MTLBiLSTMTokenizer.build([["세종"]]).encode(["세종"], gazetteer=ORACLE_GAZETTEER)


def test_tokenizer_saves_and_loads_its_gazetteer_and_features(tmp_path):
    tokenizer = feature_tokenizer()
    written = tokenizer.save_pretrained(tmp_path)
    assert str(tmp_path / "gazetteer.json") in written
    saved = json.loads((tmp_path / "gazetteer.json").read_text(encoding="utf-8"))
    assert saved["types"] == list(TYPES) and saved["entries"]["세종"] == ["LC", "PS"]
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["gazetteer_file"] == "gazetteer.json" and config["eojeol_features"] is True
    assert config["model_input_names"][-2:] == ["eojeol_ids", "gazetteer_flags"]

    remote = AutoTokenizer.from_pretrained(tmp_path, trust_remote_code=True)  # the module copied into the folder
    for loaded in (MTLBiLSTMTokenizer.from_pretrained(tmp_path), remote):
        assert loaded.gazetteer.to_dict() == tokenizer.gazetteer.to_dict() and loaded.eojeol_features
        assert loaded.model_input_names == tokenizer.model_input_names
        encoded = loaded.encode(ORACLE_MORPHEMES, word_ids=[0] * len(ORACLE_MORPHEMES))
        assert encoded == tokenizer.encode(ORACLE_MORPHEMES, word_ids=[0] * len(ORACLE_MORPHEMES))

    # A folder that lost the gazetteer its config names fails, rather than tagging without it.
    (tmp_path / "gazetteer.json").unlink()
    with pytest.raises(OSError, match="gazetteer.json"):
        MTLBiLSTMTokenizer.from_pretrained(tmp_path)
    # Tokenizers without features save and load as before.
    plain = tmp_path / "plain"
    MTLBiLSTMTokenizer.build([ORACLE_MORPHEMES]).save_pretrained(plain)
    assert not (plain / "gazetteer.json").exists()
    assert MTLBiLSTMTokenizer.from_pretrained(plain).model_input_names == ["input_ids", "attention_mask", "char_ids"]


# ---------------------------------------------------------------- the oracle sentence, on every path


@pytest.fixture(scope="module")
def sample_corpora():
    return {analyzer: load_korean_ner("sample", analyzer=analyzer) for analyzer in ("corpus", "kiwi")}


@pytest.mark.parametrize("analyzer", ["corpus", "kiwi"])
def test_oracle_sentence_features_in_training(sample_corpora, analyzer):
    """Training data, from the corpus's own morphemes and eojeol indexes or from Kiwi's analysis of the raw text
    (word_ids from its spaces): the dataset's word_ids reach the tokenizer through encode_corpus."""
    corpus = sample_corpora[analyzer]
    row = corpus_row(corpus, ORACLE_TEXT)
    assert row["tokens"] == ORACLE_MORPHEMES
    single = corpus["train"].select([corpus["train"]["text"].index(ORACLE_TEXT)])
    encoded = encode_corpus({"train": single}, feature_tokenizer())["train"][0]
    assert encoded["eojeol_ids"] == ORACLE_EOJEOL_IDS
    assert encoded["gazetteer_flags"] == ORACLE_FLAGS


@pytest.fixture(scope="module")
def kiwi_analyzer():
    pytest.importorskip("kiwipiepy", reason="raw-text NER needs kiwipiepy: pip install -e '.[korean]'")
    from modeling_mtl_bilstm import KiwiMorphemeAnalyzer

    return KiwiMorphemeAnalyzer()


def model_inputs_of(predictor, call) -> list[dict[str, torch.Tensor]]:
    """The inputs of each forward pass of the predictor's model during `call()`."""
    seen = []
    forward = predictor.model.forward

    def spy(**inputs):
        seen.append(inputs)
        return forward(**inputs)

    predictor.model.forward = spy
    try:
        call()
    finally:
        del predictor.model.forward
    return seen


def test_oracle_sentence_features_from_raw_text_through_the_predictor(kiwi_analyzer):
    from modeling_mtl_bilstm import KoreanNERPredictor

    tokenizer = feature_tokenizer()
    predictor = KoreanNERPredictor(feature_model(tokenizer), tokenizer, analyzer=kiwi_analyzer)
    (inputs,) = model_inputs_of(predictor, lambda: predictor("  " + ORACLE_TEXT))
    assert tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist()) == ORACLE_MORPHEMES
    assert inputs["eojeol_ids"][0].tolist() == ORACLE_EOJEOL_IDS
    assert inputs["gazetteer_flags"][0].tolist() == ORACLE_FLAGS
    # Pre-split morphemes with the corpus's eojeol indexes give the same inputs.
    word_ids = [0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5]
    (corpus_inputs,) = model_inputs_of(predictor, lambda: predictor.predict_morphemes([ORACLE_MORPHEMES], [word_ids]))
    assert all(torch.equal(corpus_inputs[name], inputs[name]) for name in inputs if name != "return_dict")


def test_raw_text_eojeol_indexes_are_the_corpus_builders(kiwi_analyzer):
    """Spaces inside a Kiwi morpheme (91- 92) and several sentences in one text: the predictor's word_ids are those
    of Kiwi-analysed training text; without the text, `tag` reads them from the gaps between morphemes."""
    from modeling_mtl_bilstm import KoreanNERPredictor
    from modeling_mtl_bilstm.data_scripts.korean_ner import project_entities

    text = "91- 92년 7- 8월에 서울에 갔다. 부산은 멀다."
    (sentences,) = kiwi_analyzer.analyze([text])
    assert len(sentences) == 2 and sentences[0][0].form == "91- 92"
    tokenizer = feature_tokenizer()
    predictor = KoreanNERPredictor(feature_model(tokenizer), tokenizer, analyzer=kiwi_analyzer)
    (inputs,) = model_inputs_of(predictor, lambda: predictor(text))
    training = project_entities(text, (), [m for sentence in sentences for m in sentence]).word_ids
    first = len(sentences[0])
    expected = [eojeol_ids_of(training[:first]), eojeol_ids_of(training[first:])]
    lengths = inputs["attention_mask"].sum(dim=1).tolist()
    got = [row[:length] for row, length in zip(inputs["eojeol_ids"].tolist(), lengths)]
    assert sorted(got) == sorted(expected)
    assert expected[0][:2] == [WS, WS]  # 년 starts in the word 92년, as the corpus builder counts it
    # Read from the gaps between morphemes, 년 and 월 continue the words that 91- 92 and 7- 8 start; nothing else
    # differs.
    (without_text,) = model_inputs_of(predictor, lambda: predictor.tag(sentences))
    differ = (without_text["eojeol_ids"] != inputs["eojeol_ids"]).nonzero().tolist()
    assert [without_text["eojeol_ids"][row, i].item() for row, i in differ] == [WI, WI]
    assert [(row, sentences[0][i].form) for row, i in differ] == [(0, "년"), (0, "월")]  # the longest sentence first


def real_rows(batches: list[dict], name: str) -> list[list]:
    """The rows of input `name` at the real positions of every sentence of the batches."""
    return [
        row
        for batch in batches
        for values, length in zip(batch[name].tolist(), batch["attention_mask"].sum(dim=1).tolist())
        for row in values[:length]
    ]


def test_long_sentences_are_cut_after_their_features_are_computed(kiwi_analyzer):
    """With 3 morphemes per chunk the sentence is cut inside 1443년 and 반포했다: the chunk that starts at 년 keeps its
    I-DT flag and the one that starts at 다 its eojeol-internal position, as in the whole sentence."""
    from modeling_mtl_bilstm import KoreanNERPredictor

    tokenizer = feature_tokenizer()
    model = feature_model(tokenizer)
    whole = KoreanNERPredictor(model, tokenizer, analyzer=kiwi_analyzer)
    chunked = KoreanNERPredictor(model, tokenizer, analyzer=kiwi_analyzer, max_length=3)
    inputs = model_inputs_of(whole, lambda: whole(ORACLE_TEXT))
    chunks = model_inputs_of(chunked, lambda: chunked(ORACLE_TEXT))
    assert sum(batch["input_ids"].size(0) for batch in chunks) == 6
    firsts = [
        (batch["eojeol_ids"][row, 0].item(), batch["gazetteer_flags"][row, 0].tolist())
        for batch in chunks
        for row in range(batch["input_ids"].size(0))
    ]
    assert (WI, I_DT) in firsts and (WI, NONE) in firsts
    for name in ("eojeol_ids", "gazetteer_flags"):
        assert sorted(map(str, real_rows(chunks, name))) == sorted(map(str, real_rows(inputs, name))), name


# ---------------------------------------------------------------- gazetteer from the training data, k-fold


def test_training_entities_are_the_concatenated_forms_of_their_morphemes():
    tags = ["B-PS", "I-PS", "O", "B-DT", "I-DT", "I-LC", "O"]
    assert sentence_entities(["세종", "대왕", "은", "1443", "년", "에", "."], tags) == [
        ("세종대왕", "PS"),
        ("1443년", "DT"),
    ]


def test_kfold_gazetteer_never_gives_a_training_sentence_its_own_entities(sample_corpora, tmp_path):
    corpus = sample_corpora["corpus"]
    dictionary = tmp_path / "gazette.txt"
    dictionary.write_text("광화문광장\tLC\n한국은행\tOG\n홍길동\tXX\n", encoding="utf-8")
    data_args = DataArguments(gazetteer=str(dictionary), gazetteer_from_training=True, gazetteer_folds=5)
    full, folds = build_gazetteers(corpus, data_args)
    assert full.types == ("DT", "LC", "OG", "PS", "TI") and len(folds) == 5
    assert all(fold.types == full.types for fold in folds)
    train = corpus["train"]
    names = train.features["ner_tags"].feature.names
    sentences = list(zip(train["text"], train["tokens"], train["ner_tags"]))
    entities = [sentence_entities(tokens, [names[t] for t in tags]) for _, tokens, tags in sentences]
    fold_of = [gazetteer_fold(text, tokens, 5) for text, tokens, _ in sentences]
    assert sorted(set(fold_of)) == [0, 1, 2, 3, 4]
    checked = 0
    for index, own in enumerate(entities):
        for surface, entity_type in own:
            if len(surface) < MIN_GAZETTEER_SURFACE_LENGTH:
                assert surface not in full.entries
                continue
            elsewhere = any(
                (surface, entity_type) in entities[other] and fold_of[other] != fold_of[index]
                for other in range(len(sentences))
            )
            in_fold = folds[fold_of[index]].entries.get(surface, ())
            assert (full.types.index(entity_type) in in_fold) == elsewhere, (index, surface)
            checked += not elsewhere
            assert full.types.index(entity_type) in full.entries[surface]  # the model keeps every entity
    assert checked > 100  # many entities occur in one fold only: their sentences do not see them
    # The dictionary's entries are in every fold; types the corpus lacks are left out.
    assert all("광화문광장" in fold.entries and "홍길동" not in fold.entries for fold in folds)


def test_kfold_training_sentences_are_encoded_with_their_folds_gazetteer(sample_corpora):
    corpus = sample_corpora["corpus"]
    full, folds = build_gazetteers(corpus, DataArguments(gazetteer_from_training=True, gazetteer_folds=2))
    tokenizer = MTLBiLSTMTokenizer.build(corpus["train"]["tokens"], gazetteer=full)
    row = corpus_row(corpus, ORACLE_TEXT)
    fold = folds[gazetteer_fold(row["text"], row["tokens"], 2)]
    small = {split: corpus[split].select(range(1)) for split in ("validation", "test")}
    index = corpus["train"]["text"].index(ORACLE_TEXT)
    encoded = encode_corpus({"train": corpus["train"].select([index]), **small}, tokenizer)
    assert encoded["train"][0]["gazetteer_flags"] == tokenizer.encode(row["tokens"])["gazetteer_flags"]
    encoded = encode_corpus({"train": corpus["train"].select([index]), **small}, tokenizer, folds)
    assert encoded["train"][0]["gazetteer_flags"] == fold.flags(row["tokens"])
    for split in ("validation", "test"):  # dev and test: the full gazetteer
        tokens = small[split][0]["tokens"]
        assert encoded[split][0]["gazetteer_flags"] == full.flags(tokens)


def test_copies_of_a_sentence_share_a_fold():
    assert gazetteer_fold("세종은 왕이다.", ["세종", "은"], 5) == gazetteer_fold(
        "세종은 왕이다.", ["세종", "은", "x"], 5
    )
    assert gazetteer_fold("", ["세종", "은"], 5) == gazetteer_fold("", ["세종", "은"], 5)
    assert {gazetteer_fold(f"문장 {i}", [], 5) for i in range(50)} == {0, 1, 2, 3, 4}


# ---------------------------------------------------------------- word dropout


def test_word_dropout_replaces_training_singletons_only_and_only_in_training(sample_corpora):
    corpus = sample_corpora["corpus"]
    singletons = training_singletons(corpus)
    counts = {}
    for tokens in corpus["train"]["tokens"]:
        for token in tokens:
            counts[token] = counts.get(token, 0) + 1
    assert singletons == {token for token, count in counts.items() if count == 1} and singletons
    tokenizer = MTLBiLSTMTokenizer.build(corpus["train"]["tokens"])
    small = {split: corpus[split].select(range(8)) for split in ("train", "validation")}
    encoded = encode_corpus(small, tokenizer, singletons=singletons)
    assert SINGLETON_MASK in encoded["train"].column_names
    assert SINGLETON_MASK not in encoded["validation"].column_names

    collator = DataCollatorForMTLBiLSTM(tokenizer, word_dropout=1.0)
    training = [dict(row) for row in encoded["train"]]
    batch = collator(training)
    plain = DataCollatorForMTLBiLSTM(tokenizer)(training)
    assert SINGLETON_MASK not in batch
    mask = torch.zeros_like(batch["input_ids"], dtype=torch.bool)
    for row, feature in enumerate(training):
        mask[row, : len(feature[SINGLETON_MASK])] = torch.tensor(feature[SINGLETON_MASK], dtype=torch.bool)
    assert mask.any()
    assert (batch["input_ids"][mask] == tokenizer.unk_token_id).all()
    assert torch.equal(batch["input_ids"][~mask], plain["input_ids"][~mask])
    assert torch.equal(batch["char_ids"], plain["char_ids"])  # the syllables stay
    evaluation = [dict(row) for row in encoded["validation"]]
    assert torch.equal(collator(evaluation)["input_ids"], DataCollatorForMTLBiLSTM(tokenizer)(evaluation)["input_ids"])


def test_word_dropout_counts_the_copies_of_a_sentence_once():
    train = datasets.Dataset.from_dict(
        {
            "text": ["세종은 한글을 만들었다.", "세종은 한글을 만들었다.", ""],
            "tokens": [
                ["세종", "은", "한글", "을", "만들었다", "."],  # the corpus's morphemes
                ["세종", "은", "한글", "을", "만들", "었", "다", "."],  # Kiwi's copy of the same text
                ["집현전", "에서", "에서", "."],  # no text: its morphemes identify it
            ],
        }
    )
    once = {"세종", "은", "한글", "을", "만들었다", "만들", "었", "다", "집현전"}
    assert training_singletons({"train": train}) == once  # 에서: twice in a sentence; .: in two sentences


def test_word_dropout_draws_from_the_seeded_generator():
    tokenizer = MTLBiLSTMTokenizer.build([["a", "b", "c", "d"] * 5])
    features = [dict(tokenizer.encode(["a", "b", "c", "d"] * 5), **{SINGLETON_MASK: [1] * 20}) for _ in range(4)]
    collator = DataCollatorForMTLBiLSTM(tokenizer, word_dropout=0.5)
    torch.manual_seed(3)
    first = collator(features)["input_ids"]
    torch.manual_seed(3)
    assert torch.equal(collator(features)["input_ids"], first)
    dropped = (first == tokenizer.unk_token_id).float().mean().item()
    assert 0.2 < dropped < 0.8
    with pytest.raises(ValueError, match="word_dropout: expected a probability in \\[0, 1\\], received 1.5"):
        DataCollatorForMTLBiLSTM(tokenizer, word_dropout=1.5)


# ---------------------------------------------------------------- the model


def feature_batch(tokenizer, sentences, word_ids) -> dict[str, torch.Tensor]:
    return dict(tokenizer(sentences, word_ids=word_ids))


SENTENCES = [ORACLE_MORPHEMES, ORACLE_MORPHEMES[2:7], ORACLE_MORPHEMES[:3]]
WORD_IDS = [[0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5], [0, 0, 0, 1, 1], [0, 0, 1]]


def test_config_defaults_leave_the_model_without_features(tmp_path):
    config = MTLBiLSTMConfig(ner_id2label=NER_TAGS, pos_id2label={0: "NNG"})
    assert config.use_eojeol_features is False and config.gazetteer_types is None
    # A config saved before the features existed loads without them.
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    for name in ("use_eojeol_features", "eojeol_embedding_dim", "gazetteer_types"):
        del saved[name]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    loaded = MTLBiLSTMConfig.from_pretrained(tmp_path)
    assert loaded.use_eojeol_features is False and loaded.gazetteer_types is None
    model = MTLBiLSTMForTokenClassification(loaded)
    assert model.embeddings.eojeol_embeddings is None and model.embeddings.output_size == loaded.embedding_dim


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"gazetteer_types": ["PS", "PS"]}, "MTLBiLSTMConfig.gazetteer_types: expected None or a non-empty list"),
        ({"gazetteer_types": []}, "received []"),
        ({"use_eojeol_features": True, "eojeol_embedding_dim": 0}, "eojeol_embedding_dim: expected a positive int"),
    ],
)
def test_feature_config_errors_say_expected_and_received(kwargs, message):
    with pytest.raises(ValueError, match=__import__("re").escape(message)):
        MTLBiLSTMConfig(ner_id2label=NER_TAGS, **kwargs)


def test_a_gazetteer_types_string_is_refused_by_the_field_type_check():
    # Field types are huggingface_hub's to check: the config is a strict dataclass.
    with pytest.raises(StrictDataclassFieldValidationError, match="Field 'gazetteer_types' expected a list, got str"):
        MTLBiLSTMConfig(ner_id2label=NER_TAGS, gazetteer_types="PS")


def test_features_reach_the_model_and_round_trip_with_it(tmp_path):
    tokenizer = feature_tokenizer()
    model = feature_model(tokenizer)
    assert model.embeddings.output_size == 8 + 6 + 3 + 6
    batch = feature_batch(tokenizer, SENTENCES, WORD_IDS)
    output = model(**batch, output_hidden_states=True)
    assert output.hidden_states[0].shape == (3, 17, 8 + 6 + 3 + 6)
    for name in ("eojeol_ids", "gazetteer_flags"):
        changed = dict(batch, **{name: torch.zeros_like(batch[name])})
        assert not torch.allclose(model(**changed).ner_logits, output.ner_logits), name
    model.save_pretrained(tmp_path)
    loaded = MTLBiLSTMForTokenClassification.from_pretrained(tmp_path).eval()
    assert loaded.config.gazetteer_types == TYPES and loaded.config.use_eojeol_features
    torch.testing.assert_close(loaded(**batch).ner_logits, output.ner_logits, rtol=1e-5, atol=1e-6)


def test_a_saved_feature_model_and_its_gazetteer_load_without_the_package(tmp_path):
    """A Hub folder stays self-contained: the remote code computes the features from the saved gazetteer."""
    tokenizer = feature_tokenizer()
    model = feature_model(tokenizer, seed=6)
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    with torch.no_grad():
        expected = model(**feature_batch(tokenizer, SENTENCES, WORD_IDS)).ner_logits
    torch.save(expected, tmp_path / "expected.pt")
    result = run_without_package(
        f"""
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer
        model = AutoModelForTokenClassification.from_pretrained({str(folder)!r}, trust_remote_code=True).eval()
        tokenizer = AutoTokenizer.from_pretrained({str(folder)!r}, trust_remote_code=True)
        batch = tokenizer({SENTENCES!r}, word_ids={WORD_IDS!r})
        assert batch["gazetteer_flags"][0, 0].tolist() == [0, 0, 1, 0, 1, 0]
        with torch.no_grad():
            logits = model(**batch).ner_logits
        torch.testing.assert_close(logits, torch.load({str(tmp_path / "expected.pt")!r}), rtol=1e-5, atol=1e-6)
        print("REMOTE_OK")
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "REMOTE_OK" in result.stdout


def test_feature_inputs_are_checked():
    tokenizer = feature_tokenizer()
    model = feature_model(tokenizer)
    batch = feature_batch(tokenizer, SENTENCES, WORD_IDS)
    without = {k: v for k, v in batch.items() if k != "eojeol_ids"}
    with pytest.raises(ValueError, match=r"eojeol_ids: expected shape \(3, 17\) since config.use_eojeol_features"):
        model(**without)
    with pytest.raises(
        ValueError, match=r"gazetteer_flags: expected shape \(3, 17, 6\) .* received shape \(3, 17, 2\)"
    ):
        model(**dict(batch, gazetteer_flags=batch["gazetteer_flags"][..., :2]))
    plain = feature_model(MTLBiLSTMTokenizer.build([ORACLE_MORPHEMES]))
    with pytest.raises(ValueError, match="eojeol_ids: expected None since config.use_eojeol_features=False"):
        plain(**batch)


def test_features_keep_batch_independence_and_the_traceable_path_equal(monkeypatch):
    tokenizer = feature_tokenizer()
    model = feature_model(tokenizer, seed=2, shared_num_layers=2)
    batch = feature_batch(tokenizer, SENTENCES, WORD_IDS)
    batched = model(**batch)
    for row, sentence in enumerate(SENTENCES):
        alone = model(**feature_batch(tokenizer, [sentence], [WORD_IDS[row]]))
        torch.testing.assert_close(alone.ner_logits[0], batched.ner_logits[row, : len(sentence)])
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    traced_like = model(**batch)
    for name in ("ner_logits", "pos_logits"):
        torch.testing.assert_close(traced_like[name], batched[name])


def test_torch_compile_fullgraph_with_features_equals_eager():
    tokenizer = feature_tokenizer()
    model = feature_model(tokenizer, seed=4, task_num_layers=0).train()
    batch = feature_batch(tokenizer, SENTENCES, WORD_IDS)
    batch["ner_labels"] = torch.randint(0, len(NER_TAGS), batch["input_ids"].shape).masked_fill(
        batch["attention_mask"] == 0, -100
    )
    expected = model(**batch)
    torch._dynamo.reset()
    got = torch.compile(model, fullgraph=True, backend="aot_eager")(**batch)
    for name in ("loss", "ner_logits", "pos_logits"):
        torch.testing.assert_close(got[name], expected[name])


def test_torch_export_with_features_equals_eager():
    tokenizer = feature_tokenizer()
    model = feature_model(tokenizer, seed=5)
    batch = feature_batch(tokenizer, SENTENCES, WORD_IDS)
    names = ("input_ids", "attention_mask", "char_ids", "eojeol_ids", "gazetteer_flags")

    class Tagger(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return self.model(**dict(zip(names, inputs))).ner_logits

    args = tuple(batch[name] for name in names)
    exported = torch.export.export(Tagger().eval(), args)
    torch.testing.assert_close(exported.module()(*args), Tagger()(*args))
