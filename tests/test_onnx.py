"""Tests of the ONNX path: numpy decoding against the torch CRF, the export (exact per-sentence results in padded
batches, both directions of every Bi-LSTM), the ONNX Runtime predictor against the torch one, the CLI and the Hub
folder. The numpy decoding tests need numpy only; the others skip where the `onnx` extra is not installed."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from remote_code import block_imports
from tiny_models import train_tagger

from modeling_mtl_bilstm import MTLBiLSTMConfig, MTLBiLSTMForTokenClassification, MTLBiLSTMTokenizer
from modeling_mtl_bilstm.crf import ConditionalRandomField, allowed_transitions
from modeling_mtl_bilstm.crf import viterbi_decode as torch_viterbi
from modeling_mtl_bilstm.inference import numpy_crf
from modeling_mtl_bilstm.inference.numpy_crf import CRFScores, NumpyTransitionConstraints


REPO = Path(__file__).resolve().parents[1]
ONNX_REASON = 'the ONNX path needs the onnx extra: pip install -e ".[onnx]"'
NER_LABELS = ["O", "B-DT", "I-DT", "B-LC", "I-LC", "B-PS", "I-PS"]
# (morpheme, POS, NER) sentences, pre-split as a corpus gives them.
TRAINING_SENTENCES = [
    [("세종", "NNP", "B-PS"), ("대왕", "NNG", "I-PS"), ("은", "JX", "O"), ("1443", "SN", "B-DT"), ("년", "NNB", "I-DT"),
     ("에", "JKB", "O"), ("훈민정음", "NNP", "O"), ("을", "JKO", "O"), ("창제", "NNG", "O"), ("하", "XSV", "O"),
     ("었", "EP", "O"), ("다", "EF", "O"), (".", "SF", "O")],
    [("이순신", "NNP", "B-PS"), ("은", "JX", "O"), ("1592", "SN", "B-DT"), ("년", "NNB", "I-DT"), ("에", "JKB", "O"),
     ("한산도", "NNP", "B-LC"), ("에서", "JKB", "O"), ("이기", "VV", "O"), ("었", "EP", "O"), ("다", "EF", "O"),
     (".", "SF", "O")],
    [("김구", "NNP", "B-PS"), ("는", "JX", "O"), ("서울", "NNP", "B-LC"), ("에서", "JKB", "O"), ("살", "VV", "O"),
     ("었", "EP", "O"), ("다", "EF", "O")],
    [("어제", "NNG", "O"), ("부산", "NNP", "B-LC"), ("에", "JKB", "O"), ("가", "VV", "O"), ("었", "EP", "O"),
     ("어요", "EF", "O")],
    [("서울", "NNP", "B-LC"), ("서울", "NNP", "B-LC"), ("서울", "NNP", "B-LC")],
]  # fmt: skip
RAW_TEXTS = [
    "세종대왕은 1443년에 훈민정음을 창제했다.",
    "이순신은 1592년에 한산도에서 이겼다. 김구는 서울에서 살았다.",
    "어제 부산에 갔어요.",
    "서울 서울 서울",
    "",
    "Hello 😀",
]


def requires_onnx():
    for module in ("onnx", "onnxscript", "onnxruntime"):
        pytest.importorskip(module, reason=ONNX_REASON)


def random_model(tiny_config, tokenizer, seed=0, **fields) -> MTLBiLSTMForTokenClassification:
    """A model of the tiny sizes with random weights (CRF scores of a few units, so that they matter)."""
    config = tiny_config(
        **{
            "vocab_size": tokenizer.vocab_size,
            "char_vocab_size": tokenizer.char_vocab_size,
            "pos_id2label": dict(enumerate(["NNG", "NNP", "JX", "SN", "EF"])),
            "ner_id2label": dict(enumerate(NER_LABELS)),
            "dropout": 0.0,
            **fields,
        }
    )
    torch.manual_seed(seed)
    model = MTLBiLSTMForTokenClassification(config).eval()
    with torch.no_grad():
        for head in model.heads.values():
            if head.crf is not None:
                for parameter in (head.crf.start_transitions, head.crf.end_transitions, head.crf.transitions):
                    parameter.normal_(0.0, 1.0)
        if model.embeddings.frozen_morpheme_vectors is not None:
            model.embeddings.frozen_morpheme_vectors.normal_(0.0, 1.0)  # pretrained vectors, not the zeros of init
    return model


@pytest.fixture(scope="module")
def tokenizer():
    return MTLBiLSTMTokenizer.build([[form for form, _, _ in sentence] for sentence in TRAINING_SENTENCES])


@pytest.fixture(scope="module")
def mixed_batch():
    """Sentences of 13, 3, 7 and 1 morphemes, for one padded batch."""
    forms = [[form for form, _, _ in sentence] for sentence in TRAINING_SENTENCES]
    return [forms[0], ["서울", "에서", "살"], forms[2], ["김구"]]


def onnx_logits(path, inputs) -> dict[str, np.ndarray]:
    from modeling_mtl_bilstm.inference.onnx_backend import ONNXRuntimeTagger

    return ONNXRuntimeTagger(path, num_threads=1).logits({name: tensor.numpy() for name, tensor in inputs.items()})


# ---------------------------------------------------------------- numpy decoding against the torch CRF
# (their shared contract, against brute force, is in test_crf.py; these compare them on longer sequences)


def random_emissions(seed, batch_size=6, length=9, num_tags=7):
    generator = torch.Generator().manual_seed(seed)
    emissions = torch.randn(batch_size, length, num_tags, generator=generator) * 3
    lengths = torch.randint(1, length + 1, (batch_size,), generator=generator)
    lengths[0] = length
    mask = torch.arange(length)[None, :] < lengths[:, None]
    return emissions, mask


def numpy_constraints(labels) -> NumpyTransitionConstraints:
    return numpy_crf.iob2_constraints(dict(enumerate(labels)))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("constrained", [False, True])
def test_numpy_viterbi_gives_the_torch_crf_paths(seed, constrained):
    emissions, mask = random_emissions(seed)
    crf = ConditionalRandomField(len(NER_LABELS))
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_(0.0, 2.0, generator=torch.Generator().manual_seed(seed + 100))
    constraints = allowed_transitions(NER_LABELS) if constrained else None
    expected = crf.decode(emissions, mask, constraints=constraints).numpy()
    scores = CRFScores(*(p.detach().numpy() for p in (crf.start_transitions, crf.transitions, crf.end_transitions)))
    received = numpy_crf.viterbi_decode(
        emissions.numpy(), mask.numpy(), scores, numpy_constraints(NER_LABELS) if constrained else None
    )
    assert received.dtype == np.int64
    np.testing.assert_array_equal(received, expected)


@pytest.mark.parametrize("seed", range(3))
def test_numpy_viterbi_over_log_softmax_gives_the_softmax_head_paths(seed):
    emissions, mask = random_emissions(seed)
    constraints = allowed_transitions(NER_LABELS)
    expected = torch_viterbi(emissions.log_softmax(dim=-1), mask, constraints=constraints).numpy()
    received = numpy_crf.viterbi_decode(
        numpy_crf.log_softmax(emissions.numpy()), mask.numpy(), None, numpy_constraints(NER_LABELS)
    )
    np.testing.assert_array_equal(received, expected)
    argmax = numpy_crf.viterbi_decode(emissions.numpy(), mask.numpy())
    np.testing.assert_array_equal(argmax, emissions.argmax(dim=-1).masked_fill(~mask, -100).numpy())


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("constrained", [False, True])
def test_numpy_marginals_are_the_torch_crf_marginals(seed, constrained):
    emissions, mask = random_emissions(seed, length=12)
    crf = ConditionalRandomField(len(NER_LABELS))
    constraints = allowed_transitions(NER_LABELS) if constrained else None
    expected = crf.marginals(emissions.double(), mask, constraints=constraints).numpy()
    scores = CRFScores(*(p.detach().numpy() for p in (crf.start_transitions, crf.transitions, crf.end_transitions)))
    received = numpy_crf.crf_marginals(
        emissions.numpy(), mask.numpy(), scores, numpy_constraints(NER_LABELS) if constrained else None
    )
    assert received.dtype == np.float64
    np.testing.assert_allclose(received, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(received.sum(axis=2)[mask.numpy()], 1.0, atol=1e-12)
    assert (received[~mask.numpy()] == 0).all()


def test_numpy_marginals_of_scores_far_apart_are_the_torch_crf_marginals():
    # O first, then I-PS, which may not follow O, by thousands: every allowed path underflows as a probability.
    emissions = torch.zeros(1, 3, len(NER_LABELS))
    emissions[0, 0, NER_LABELS.index("O")] = 3000.0
    emissions[0, 1, NER_LABELS.index("I-PS")] = 3000.0
    mask = torch.ones(1, 3, dtype=torch.bool)
    crf = ConditionalRandomField(len(NER_LABELS))
    expected = crf.marginals(emissions.double(), mask, constraints=allowed_transitions(NER_LABELS)).numpy()
    scores = CRFScores(*(p.detach().numpy() for p in (crf.start_transitions, crf.transitions, crf.end_transitions)))
    received = numpy_crf.crf_marginals(emissions.numpy(), mask.numpy(), scores, numpy_constraints(NER_LABELS))
    np.testing.assert_allclose(received, expected, atol=1e-12)
    np.testing.assert_allclose(received.sum(axis=2), 1.0, atol=1e-12)


def test_numpy_softmax_is_torch_softmax():
    emissions, _ = random_emissions(0)
    np.testing.assert_allclose(numpy_crf.softmax(emissions.numpy()), emissions.softmax(dim=-1).numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: numpy_crf.viterbi_decode(np.zeros((2, 3)), np.ones((2, 3))), "emissions: expected shape"),
        (lambda: numpy_crf.viterbi_decode(np.zeros((2, 3, 4)), np.ones((2, 2))), r"mask: expected shape \(2, 3\)"),
        (
            lambda: numpy_crf.viterbi_decode(np.zeros((1, 2, 4)), np.array([[0, 1]])),
            "expected every sequence to start with a real position",
        ),
        (
            lambda: numpy_crf.viterbi_decode(
                np.zeros((1, 2, 3)), np.ones((1, 2)), constraints=numpy_constraints("OO")
            ),
            "constraints: expected shapes",
        ),
        (lambda: numpy_crf.iob2_constraints({1: "O"}), r"id2label: expected ids 0..0, received \[1\]"),
    ],
)
def test_numpy_decoding_errors_say_expected_and_received(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- export


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_config, tokenizer):
    """A random model with a two-layer shared Bi-LSTM and its fp32 and int8 ONNX files."""
    requires_onnx()
    from modeling_mtl_bilstm.inference.onnx_export import export_onnx

    model = random_model(tiny_config, tokenizer, shared_num_layers=2)
    directory = tmp_path_factory.mktemp("onnx-random")
    paths = export_onnx(model, tokenizer, directory, int8=True)
    return model, paths


def test_export_writes_both_files_with_dynamic_axes_and_lstm_nodes(exported):
    import onnx

    model, paths = exported
    assert set(paths) == {"fp32", "int8"} and all(path.is_file() for path in paths.values())
    graph = onnx.load(str(paths["fp32"])).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask", "char_ids"]
    assert [o.name for o in graph.output] == ["pos_logits", "ner_logits"]
    for value in (*graph.input, *graph.output):
        batch, length = value.type.tensor_type.shape.dim[:2]
        assert batch.dim_param and length.dim_param, value.name  # symbolic, not fixed sizes
    lstms = [node for node in graph.node if node.op_type == "LSTM"]
    assert len(lstms) == 2 + 2  # two shared layers, one per task
    for node in lstms:
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attributes["direction"] == b"bidirectional" and node.input[4]  # sequence_lens is set
    int8_graph = onnx.load(str(paths["int8"])).graph
    assert sum(node.op_type == "DynamicQuantizeLSTM" for node in int8_graph.node) == 4
    assert paths["int8"].stat().st_size < paths["fp32"].stat().st_size


def test_onnx_scores_equal_eager_scores_on_a_padded_batch(exported, tokenizer, mixed_batch):
    model, paths = exported
    inputs = dict(tokenizer(mixed_batch))
    with torch.no_grad():
        expected = model(**inputs)
    received = onnx_logits(paths["fp32"], inputs)
    mask = inputs["attention_mask"].bool().numpy()
    for task in ("ner", "pos"):
        np.testing.assert_allclose(received[task][mask], expected[f"{task}_logits"].numpy()[mask], atol=1e-5)


def test_each_sentence_gets_in_a_batch_what_it_gets_alone(exported, tokenizer, mixed_batch):
    _, paths = exported
    batched = onnx_logits(paths["fp32"], dict(tokenizer(mixed_batch)))
    for row, sentence in enumerate(mixed_batch):
        alone = onnx_logits(paths["fp32"], dict(tokenizer([sentence])))
        for task in ("ner", "pos"):
            np.testing.assert_allclose(batched[task][row, : len(sentence)], alone[task][0], atol=1e-6)


def test_backward_direction_runs_within_each_sentence(tmp_path, tiny_config, tokenizer, mixed_batch):
    """With the forward direction of every LSTM switched off, each position's scores come from the positions after
    it only: padding after a short sentence would change them unless each sentence is reversed within its length."""
    requires_onnx()
    from modeling_mtl_bilstm.inference.onnx_export import export_onnx

    model = random_model(tiny_config, tokenizer, seed=3)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lstm" in name and "reverse" not in name:
                parameter.zero_()
    path = export_onnx(model, tokenizer, tmp_path)["fp32"]

    # The model reads the positions to the right: adding a morpheme changes the first one's scores.
    short, longer = (
        onnx_logits(path, dict(tokenizer([["서울"]]))),
        onnx_logits(path, dict(tokenizer([["서울", "에서"]]))),
    )
    assert np.abs(short["ner"][0, 0] - longer["ner"][0, 0]).max() > 1e-3

    inputs = dict(tokenizer(mixed_batch))
    batched = onnx_logits(path, inputs)
    with torch.no_grad():
        eager = model(**inputs)
    for row, sentence in enumerate(mixed_batch):
        alone = onnx_logits(path, dict(tokenizer([sentence])))
        np.testing.assert_allclose(batched["ner"][row, : len(sentence)], alone["ner"][0], atol=1e-6)
        np.testing.assert_allclose(
            batched["ner"][row, : len(sentence)], eager.ner_logits[row, : len(sentence)], atol=1e-5
        )


def test_batch_sizes_and_lengths_unseen_at_export(exported, tokenizer):
    model, paths = exported
    forms = tokenizer.id_to_morpheme[2:]
    sentences = [
        [forms[(i * 7 + j) % len(forms)] for j in range(length)] for i, length in enumerate([25, 1, 18, 4, 9])
    ]
    inputs = dict(tokenizer(sentences))
    with torch.no_grad():
        expected = model(**inputs)
    received = onnx_logits(paths["fp32"], inputs)
    mask = inputs["attention_mask"].bool().numpy()
    np.testing.assert_allclose(received["ner"][mask], expected.ner_logits.numpy()[mask], atol=1e-5)


def test_tagger_decodes_as_the_torch_model(exported, tokenizer, mixed_batch):
    from modeling_mtl_bilstm.inference.onnx_backend import ONNXRuntimeTagger

    model, paths = exported
    inputs = dict(tokenizer(mixed_batch))
    tagger = ONNXRuntimeTagger(paths["fp32"], num_threads=1)
    assert tagger.tasks == ("pos", "ner") and not tagger.int8 and tagger.id2label["ner"] == dict(enumerate(NER_LABELS))
    received = tagger.decode_all(inputs)
    expected = model.decode(**inputs)
    for task in ("pos", "ner"):
        np.testing.assert_array_equal(received[task], expected[task].numpy())
    mask = inputs["attention_mask"].bool()
    logits = tagger.logits(inputs)["ner"]
    marginals = model.heads["ner"].crf.marginals(
        torch.from_numpy(logits).double(), mask, constraints=model.decoding_constraints("ner")
    )
    np.testing.assert_allclose(tagger.probabilities("ner", logits, mask.numpy()), marginals.numpy(), atol=1e-12)


def test_int8_file_tags_like_fp32_mostly(exported, tokenizer, mixed_batch):
    from modeling_mtl_bilstm.inference.onnx_backend import ONNXRuntimeTagger

    _, paths = exported
    inputs = dict(tokenizer(mixed_batch))
    fp32 = ONNXRuntimeTagger(paths["fp32"], num_threads=1)
    int8 = ONNXRuntimeTagger(paths["int8"], num_threads=1)
    assert int8.int8 and int8.tasks == fp32.tasks
    mask = inputs["attention_mask"].bool().numpy()
    fp32_logits, int8_logits = fp32.logits(inputs)["ner"][mask], int8.logits(inputs)["ner"][mask]
    # Quantisation noise, not another model: the scores stay close and correlated.
    assert np.corrcoef(fp32_logits.ravel(), int8_logits.ravel())[0, 1] > 0.99


@pytest.mark.parametrize(
    "fields, tasks, inputs, outputs",
    [
        ({}, ("ner",), ["input_ids", "attention_mask", "char_ids"], ["ner_logits"]),
        ({"char_vocab_size": 0}, None, ["input_ids", "attention_mask"], ["pos_logits", "ner_logits"]),
        ({"use_crf": False, "tasks": ("ner",)}, None, ["input_ids", "attention_mask", "char_ids"], ["ner_logits"]),
        ({"task_num_layers": 0}, None, ["input_ids", "attention_mask", "char_ids"], ["pos_logits", "ner_logits"]),
        ({"frozen_embedding_dim": 4}, None, ["input_ids", "attention_mask", "char_ids"], ["pos_logits", "ner_logits"]),
    ],
)
def test_export_variants_decode_as_the_torch_model(
    tmp_path, tiny_config, tokenizer, mixed_batch, fields, tasks, inputs, outputs
):
    requires_onnx()
    import onnx

    from modeling_mtl_bilstm.inference.onnx_backend import ONNXRuntimeTagger
    from modeling_mtl_bilstm.inference.onnx_export import export_onnx

    model = random_model(tiny_config, tokenizer, seed=1, **fields)
    path = export_onnx(model, tokenizer, tmp_path, tasks=tasks)["fp32"]
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == inputs and [o.name for o in graph.output] == outputs
    batch = model.model_inputs(tokenizer(mixed_batch))
    expected = model.decode(**batch)
    received = ONNXRuntimeTagger(path, num_threads=1).decode_all(batch)
    assert set(received) == {name.removesuffix("_logits") for name in outputs}
    for task, tags in received.items():
        np.testing.assert_array_equal(tags, expected[task].numpy())


def test_export_errors_say_expected_and_received(tmp_path, tiny_config, tokenizer):
    requires_onnx()
    from modeling_mtl_bilstm.inference.onnx_backend import ONNXRuntimeTagger
    from modeling_mtl_bilstm.inference.onnx_export import export_onnx
    from modeling_mtl_bilstm.inference.predictor import quantize_dynamic_int8

    model = random_model(tiny_config, tokenizer, tasks=("ner",))
    with pytest.raises(ValueError, match=r"tasks: expected a non-empty subset of the model's tasks \('ner',\)"):
        export_onnx(model, tokenizer, tmp_path, tasks=("pos",))
    with pytest.raises(ValueError, match="expected float bidirectional batch-first nn.LSTMs"):
        export_onnx(quantize_dynamic_int8(model), tokenizer, tmp_path)
    model.train()
    assert set(export_onnx(model, tokenizer, tmp_path, int8=True)) == {"fp32", "int8"}
    assert model.training  # the caller's model keeps its mode
    # A later export without int8 removes the int8 file of the earlier one, which may be of another model.
    path = export_onnx(model.eval(), tokenizer, tmp_path)["fp32"]
    assert not (tmp_path / "model.int8.onnx").exists()
    with pytest.raises(
        ValueError,
        match=r"expected the inputs of model.onnx \['input_ids', 'attention_mask', 'char_ids'\], missing \['char_ids'\]",
    ):
        ONNXRuntimeTagger(path).logits({"input_ids": np.ones((1, 1)), "attention_mask": np.ones((1, 1))})
    with pytest.raises(FileNotFoundError, match=r"model.int8.onnx .* export-onnx --model .* --int8"):
        ONNXRuntimeTagger.from_pretrained(tmp_path, int8=True)


# ---------------------------------------------------------------- the predictor, CLI and Hub folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny model trained on TRAINING_SENTENCES, saved with its tokenizer and ONNX files."""
    requires_onnx()
    from modeling_mtl_bilstm.inference.onnx_export import export_onnx_from_pretrained

    directory = train_tagger(
        tmp_path_factory.mktemp("tiny-onnx-model"),
        [[form for form, _, _ in sentence] for sentence in TRAINING_SENTENCES],
        [[pos for _, pos, _ in sentence] for sentence in TRAINING_SENTENCES],
        [[ner for _, _, ner in sentence] for sentence in TRAINING_SENTENCES],
        ner_labels=NER_LABELS,
        steps=100,
    )
    export_onnx_from_pretrained(directory, int8=True)
    return directory


def predictors(model_dir, **kwargs):
    from modeling_mtl_bilstm import KoreanNERPredictor

    return (
        KoreanNERPredictor.from_pretrained(model_dir, **kwargs),
        KoreanNERPredictor.from_pretrained(model_dir, backend="onnx", **kwargs),
    )


def assert_same_results(received, expected):
    def without_scores(result):
        return {**result, "entities": [{k: v for k, v in e.items() if k != "score"} for e in result["entities"]]}

    assert [without_scores(r) for r in received] == [without_scores(r) for r in expected]
    scores = [e["score"] for r in received for e in r["entities"]]
    assert scores == pytest.approx([e["score"] for r in expected for e in r["entities"]], abs=1e-5)


def test_onnx_predictor_tags_corpus_morphemes_as_torch(model_dir):
    torch_predictor, onnx_predictor = predictors(model_dir, batch_size=2)
    sentences = [[form for form, _, _ in sentence] for sentence in TRAINING_SENTENCES] + [["서울"], []]
    expected = torch_predictor.predict_morphemes(sentences)
    assert onnx_predictor.predict_morphemes(sentences) == expected
    assert expected[0][1][:2] == ["B-PS", "I-PS"]  # the model learnt its sentences: the comparison is not vacuous
    assert "model.onnx" in repr(onnx_predictor)


def test_onnx_predictor_gives_the_torch_output_on_raw_text(model_dir, kiwi_analyzer):
    analyzer = kiwi_analyzer
    torch_predictor, onnx_predictor = predictors(model_dir, analyzer=analyzer, batch_size=3)
    expected = torch_predictor(RAW_TEXTS)
    assert any(result["entities"] for result in expected)
    assert_same_results(onnx_predictor(RAW_TEXTS), expected)
    int8 = predictors(model_dir, analyzer=analyzer, quantize=True)[1]
    assert int8.quantized and int8.tagger.path.name == "model.int8.onnx"
    results = int8(RAW_TEXTS)
    assert [[t["form"] for t in r["tokens"]] for r in results] == [[t["form"] for t in r["tokens"]] for r in expected]


def test_ner_only_onnx_file_reports_kiwis_pos_tags(model_dir, tmp_path):
    from modeling_mtl_bilstm import KoreanNERPredictor
    from modeling_mtl_bilstm.inference.onnx_export import export_onnx_from_pretrained

    export_onnx_from_pretrained(model_dir, tmp_path, tasks=("ner",))
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".py")) == [
        "config.json",
        "model.onnx",
        "tokenizer_config.json",
        "vocab.json",
    ]
    predictor = KoreanNERPredictor.from_pretrained(tmp_path, backend="onnx")
    torch_predictor = KoreanNERPredictor.from_pretrained(model_dir)
    sentences = [[form for form, _, _ in sentence] for sentence in TRAINING_SENTENCES]
    received = predictor.predict_morphemes(sentences)
    assert [pos for pos, _ in received] == [None] * len(sentences)
    assert [ner for _, ner in received] == [ner for _, ner in torch_predictor.predict_morphemes(sentences)]


def test_model_with_eojeol_and_gazetteer_features(tmp_path, tiny_config, kiwi_analyzer):
    """The graph takes every input the tokenizer gives the model: with the optional features, `eojeol_ids` and
    `gazetteer_flags` too, and the ONNX predictor computes them as the torch one does."""
    requires_onnx()
    import onnx

    from modeling_mtl_bilstm.inference.onnx_export import export_onnx
    from modeling_mtl_bilstm.tokenization_mtl_bilstm import Gazetteer

    gazetteer = Gazetteer(("PS", "LC"), [("세종대왕", "PS"), ("이순신", "PS"), ("서울", "LC"), ("한산도", "LC")])
    sentences = [[form for form, _, _ in sentence] for sentence in TRAINING_SENTENCES]
    tokenizer = MTLBiLSTMTokenizer.build(sentences, eojeol_features=True, gazetteer=gazetteer)
    model = random_model(tiny_config, tokenizer, seed=2, use_eojeol_features=True, gazetteer_types=gazetteer.types)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    path = export_onnx(model, tokenizer, tmp_path)["fp32"]
    names = [i.name for i in onnx.load(str(path)).graph.input]
    assert names == ["input_ids", "attention_mask", "char_ids", "eojeol_ids", "gazetteer_flags"]

    torch_predictor, onnx_predictor = predictors(tmp_path, analyzer=kiwi_analyzer, batch_size=2)
    assert_same_results(onnx_predictor(RAW_TEXTS), torch_predictor(RAW_TEXTS))


def test_predictor_backend_errors_say_expected_and_received(model_dir, tmp_path):
    from modeling_mtl_bilstm import KoreanNERPredictor

    with pytest.raises(ValueError, match=r"backend: expected 'torch' or 'onnx', received 'tensorrt'"):
        KoreanNERPredictor.from_pretrained(model_dir, backend="tensorrt")
    with pytest.raises(ValueError, match=r"device: expected 'cpu' \(or None\) with backend='onnx', received 'cuda'"):
        KoreanNERPredictor.from_pretrained(model_dir, backend="onnx", device="cuda")
    bare = tmp_path / "bare"
    MTLBiLSTMConfig.from_pretrained(model_dir).save_pretrained(bare)
    with pytest.raises(
        FileNotFoundError, match=rf"expected model.onnx .* mtl-bilstm-ner export-onnx --model {bare} --output {bare}$"
    ):
        KoreanNERPredictor.from_pretrained(bare, backend="onnx")
    # An ONNX file exported from a model with other tags is refused, not decoded with the wrong names.
    other = tmp_path / "other"
    config = MTLBiLSTMConfig.from_pretrained(model_dir)
    config.ner_id2label = dict(enumerate(["O", "B-OG", "I-OG", "B-LC", "I-LC", "B-PS", "I-PS"]))
    config.save_pretrained(other)
    MTLBiLSTMTokenizer.from_pretrained(model_dir).save_pretrained(other)
    (other / "model.onnx").write_bytes((model_dir / "model.onnx").read_bytes())
    with pytest.raises(ValueError, match="expected the NER tags of the model's config .* exported from another model"):
        KoreanNERPredictor.from_pretrained(other, backend="onnx")


def test_cli_exports_and_predicts_with_onnx(model_dir, tmp_path, capsys, kiwi_analyzer, monkeypatch):
    from modeling_mtl_bilstm import KoreanNERPredictor, cli
    from modeling_mtl_bilstm.inference import predictor as predictor_module

    # Predictors built inside the CLI reuse the session's analyser: a new Kiwi takes seconds to load.
    monkeypatch.setattr(predictor_module, "KiwiMorphemeAnalyzer", lambda: kiwi_analyzer)

    output = tmp_path / "onnx"
    assert cli.main(["export-onnx", "--model", str(model_dir), "--output", str(output), "--int8"]) == 0
    assert {"model.onnx", "model.int8.onnx"} <= {p.name for p in output.iterdir()}
    assert "model.int8.onnx" in capsys.readouterr().out
    source = tmp_path / "input.txt"
    source.write_text("\n".join(RAW_TEXTS[:4]) + "\n", encoding="utf-8")
    written = tmp_path / "out.jsonl"
    for flags in ([], ["--quantize"]):
        argv = [
            "predict",
            "--model",
            str(output),
            "--backend",
            "onnx",
            "--input",
            str(source),
            "--output",
            str(written),
        ]
        assert cli.main(argv + flags) == 0
        results = [json.loads(line) for line in written.read_text(encoding="utf-8").splitlines()]
        assert [r["text"] for r in results] == RAW_TEXTS[:4]
    expected = KoreanNERPredictor.from_pretrained(output, backend="onnx", quantize=True, analyzer=kiwi_analyzer)
    assert_same_results(results, expected(RAW_TEXTS[:4]))
    with pytest.raises(SystemExit):
        cli.main(["predict", "--model", str(model_dir), "--backend", "tensorrt"])


def test_hub_folder_with_onnx(model_dir, tmp_path):
    from modeling_mtl_bilstm.hub.publish import build_hub_folder

    source = tmp_path / "model"
    source.mkdir()
    for path in model_dir.iterdir():
        if not path.name.endswith(".onnx"):
            (source / path.name).write_bytes(path.read_bytes())
    plain = build_hub_folder(source, tmp_path / "plain", repo_id="me/model")
    assert not list(plain.glob("*.onnx"))
    folder = build_hub_folder(source, tmp_path / "hub", repo_id="me/model", with_onnx=True)
    assert (folder / "model.onnx").is_file() and (folder / "model.int8.onnx").is_file()
    torch_predictor, onnx_predictor = predictors(folder)
    sentences = [[form for form, _, _ in sentence] for sentence in TRAINING_SENTENCES]
    assert onnx_predictor.predict_morphemes(sentences) == torch_predictor.predict_morphemes(sentences)


def test_onnx_backend_runs_without_torch(model_dir, tmp_path):
    """onnx_backend and numpy_crf import neither torch nor transformers: with both blocked, the tagger loads an
    exported file and decodes a batch to the torch model's tags."""
    tokenizer = MTLBiLSTMTokenizer.from_pretrained(model_dir)
    sentences = [[form for form, _, _ in sentence] for sentence in TRAINING_SENTENCES]
    inputs = {name: tensor.numpy() for name, tensor in tokenizer(sentences).items()}
    np.savez(tmp_path / "inputs.npz", **inputs)
    model = MTLBiLSTMForTokenClassification.from_pretrained(model_dir).eval()
    expected = {task: tags.tolist() for task, tags in model.decode(**tokenizer(sentences)).items()}
    script = block_imports("torch", "transformers") + textwrap.dedent(
        f"""
        import json, sys, types
        import numpy as np

        # Parent packages as bare namespaces: the package's __init__ imports transformers (and torch).
        for name, path in [("modeling_mtl_bilstm", {str(REPO / "modeling_mtl_bilstm")!r}),
                           ("modeling_mtl_bilstm.inference", {str(REPO / "modeling_mtl_bilstm" / "inference")!r})]:
            package = types.ModuleType(name)
            package.__path__ = [path]
            sys.modules[name] = package
        from modeling_mtl_bilstm.inference.onnx_backend import ONNXRuntimeTagger

        tagger = ONNXRuntimeTagger.from_pretrained({str(model_dir)!r}, num_threads=1)
        inputs = dict(np.load({str(tmp_path / "inputs.npz")!r}))
        tags = tagger.decode_all(inputs)
        logits = tagger.logits(inputs)["ner"]
        probabilities = tagger.probabilities("ner", logits, inputs["attention_mask"].astype(bool))
        assert not any(name.split(".")[0] in ("torch", "transformers") for name in sys.modules)
        print(json.dumps({{task: ids.tolist() for task, ids in tags.items()}}))
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == expected


def test_inference_speed_benchmark_has_onnx_rows(model_dir, tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "benchmark_inference_speed_onnx", REPO / "benchmarks" / "inference_speed.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    argv = ["--dataset", "sample", "--device", "cpu", "--threads", "1", "--model_dir", str(model_dir)]
    argv += ["--batch_sizes", "1", "8", "--repeats", "1", "--max_sentences", "12", "--no_end_to_end"]
    result = module.main(argv)
    for name in ("onnx_fp32", "onnx_int8"):
        figures = result[name]
        assert set(figures["sentences_per_second"]) == {"1", "8"} and figures["serialized_mb"] > 0
        assert 0 <= figures["ner_tag_agreement_with_fp32"] <= 1 and 0 <= figures["ner_f1"] <= 1
    assert result["onnx_fp32"]["ner_tag_agreement_with_fp32"] == 1.0
    assert set(result["speed_over_torch_fp32"]) == {"int8", "onnx_fp32", "onnx_int8"}
