"""The model by transformers' own standard (issue 17), after transformers' common tests (ModelTesterMixin,
ConfigTester): hidden states, config attributes, relabelled fine-tuning, compile and export, gradient
checkpointing; and constrained (valid IOB2) NER decoding."""

import json

import pytest
import torch
from tiny_models import NER_TAGS, POS_TAGS, RANDOM_MODEL_SIZES
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from transformers import AutoConfig, AutoModelForTokenClassification

from modeling_mtl_bilstm import MTLBiLSTMConfig, MTLBiLSTMForTokenClassification
from modeling_mtl_bilstm import modeling_mtl_bilstm as modeling


LENGTHS = [7, 2, 5]  # a padded batch of different lengths, longest first and not


def tiny_config(**overrides) -> MTLBiLSTMConfig:
    kwargs = dict(
        vocab_size=50,
        char_vocab_size=30,
        **RANDOM_MODEL_SIZES,
        pos_id2label=POS_TAGS,
        ner_id2label=NER_TAGS,
    )
    kwargs.update(overrides)
    return MTLBiLSTMConfig(**kwargs)


def tiny_model(seed=0, **overrides) -> MTLBiLSTMForTokenClassification:
    torch.manual_seed(seed)
    return MTLBiLSTMForTokenClassification(tiny_config(**overrides)).eval()


def make_batch(lengths=LENGTHS, seed=0, max_chars=4, ner_tags=NER_TAGS, with_labels=True) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    shape = (len(lengths), max(lengths))
    mask = (torch.arange(shape[1]) < torch.tensor(lengths).unsqueeze(1)).long()
    input_ids = torch.randint(2, 50, shape, generator=generator) * mask
    char_ids = torch.randint(2, 30, (*shape, max_chars), generator=generator)
    char_ids[..., -1] = 0
    batch = {"input_ids": input_ids, "attention_mask": mask, "char_ids": char_ids * mask.unsqueeze(-1)}
    if with_labels:
        for task, tags in (("pos", POS_TAGS), ("ner", ner_tags)):
            labels = torch.randint(0, len(tags), shape, generator=generator)
            batch[f"{task}_labels"] = labels.masked_fill(mask == 0, -100)
    return batch


def row_alone(batch, row, length):
    alone = {name: value[row : row + 1, :length] for name, value in batch.items()}
    alone["char_ids"] = alone["char_ids"][..., : int((alone["char_ids"] > 0).sum(-1).max())]
    return alone


@pytest.fixture
def traceable_path(monkeypatch):
    """Runs the model eagerly as it runs under torch.compile / torch.export (padded LSTM path, no data checks)."""
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    return monkeypatch


# ---------------------------------------------------------------- 1. output_hidden_states from the config


def test_config_output_hidden_states_is_honoured():
    model = tiny_model(output_hidden_states=True)
    batch = make_batch()
    assert model(**batch).hidden_states is not None
    assert model(**batch, output_hidden_states=False).hidden_states is None
    assert (
        len(model(**batch, return_dict=False)) == 6
    )  # loss, ner_loss, pos_loss, ner_logits, pos_logits, hidden_states
    model.config.output_hidden_states = False
    assert model(**batch).hidden_states is None
    assert model(**batch, output_hidden_states=True).hidden_states is not None


# ---------------------------------------------------------------- 2. hidden_states: a tuple of the tensors used


@pytest.mark.parametrize("shared_num_layers", [1, 2])
def test_hidden_states_are_one_tensor_per_layer_embeddings_first_and_batching_equivalent(shared_num_layers):
    model = tiny_model(shared_num_layers=shared_num_layers, task_num_layers=0, use_crf=False)
    config = model.config
    batch = make_batch(with_labels=False)
    output = model(**batch, output_hidden_states=True)
    hidden_states = output.hidden_states
    assert isinstance(hidden_states, tuple)
    assert len(hidden_states) == config.num_hidden_layers + 1 == shared_num_layers + 1
    batch_size, seq_len = batch["input_ids"].shape
    assert hidden_states[0].shape == (batch_size, seq_len, config.embedding_dim + config.char_cnn_filters)
    for layer_output in hidden_states[1:]:
        assert layer_output.shape == (batch_size, seq_len, 2 * config.hidden_size)
    # Embeddings first; the last entry is what the heads read (here with no task Bi-LSTM).
    torch.testing.assert_close(hidden_states[0], model.embeddings(batch["input_ids"], batch["char_ids"]))
    torch.testing.assert_close(output.ner_logits, model.heads["ner"].classifier(hidden_states[-1]))
    torch.testing.assert_close(output.pos_logits, model.heads["pos"].classifier(hidden_states[-1]))
    # Batching equivalence: a sentence's hidden states do not depend on its batch; padding is zero.
    for row, length in enumerate(LENGTHS):
        alone = model(**row_alone(batch, row, length), output_hidden_states=True).hidden_states
        for batched_layer, alone_layer in zip(hidden_states, alone):
            torch.testing.assert_close(batched_layer[row, :length], alone_layer[0])
        for layer_output in hidden_states[1:]:
            assert layer_output[row, length:].eq(0).all()


@pytest.mark.parametrize("shared_num_layers", [1, 2])
def test_hidden_states_retain_grad(shared_num_layers):
    model = tiny_model(shared_num_layers=shared_num_layers, dropout=0.2).train()
    batch = make_batch()
    output = model(**batch, output_hidden_states=True)
    for hidden_state in output.hidden_states:
        hidden_state.retain_grad()
    output.loss.backward()
    mask = batch["attention_mask"].bool()
    for index, hidden_state in enumerate(output.hidden_states):
        assert hidden_state.grad is not None, index
        assert hidden_state.grad[mask].abs().sum() > 0, index


# ---------------------------------------------------------------- 3. common config properties


def test_config_common_properties(tmp_path):
    config = tiny_config(shared_hidden_size=12, shared_num_layers=2)
    assert (config.hidden_size, config.num_hidden_layers) == (12, 2)
    # Setters and constructor arguments reach the shared Bi-LSTM sizes (ConfigTester's checks).
    config.hidden_size, config.num_hidden_layers = 9, 3
    assert (config.shared_hidden_size, config.shared_num_layers) == (9, 3)
    built = MTLBiLSTMConfig(hidden_size=16, num_hidden_layers=2)
    assert (built.shared_hidden_size, built.shared_num_layers) == (16, 2)
    with pytest.raises(ValueError, match=r"shared_hidden_size: expected a positive int, received 0"):
        MTLBiLSTMConfig(hidden_size=0)
    # Saved under the real names only, and loaded back (overrides by either name apply and are validated).
    built.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["shared_hidden_size"] == 16 and "hidden_size" not in saved and "num_hidden_layers" not in saved
    assert AutoConfig.from_pretrained(tmp_path).hidden_size == 16
    assert AutoConfig.from_pretrained(tmp_path, hidden_size=20).shared_hidden_size == 20
    with pytest.raises(ValueError, match=r"shared_num_layers: expected a positive int, received 0"):
        AutoConfig.from_pretrained(tmp_path, num_hidden_layers=0)
    # The model is built from them.
    model = MTLBiLSTMForTokenClassification(tiny_config(hidden_size=11, num_hidden_layers=2))
    assert (model.shared_encoder.lstm.hidden_size, model.shared_encoder.lstm.num_layers) == (11, 2)
    assert MTLBiLSTMConfig().to_dict()["model_type"] == "mtl_bilstm"  # builds without arguments


# ---------------------------------------------------------------- 4. relabelling


NEW_NER_TAGS = {0: "O", 1: "B-PS", 2: "I-PS"}  # the sample's tags relabelled to a subset of types


def test_fine_tuning_on_a_new_tag_set_gives_a_consistent_config_and_model(tmp_path):
    old = tiny_model(seed=1)
    old.save_pretrained(tmp_path)
    model = AutoModelForTokenClassification.from_pretrained(
        tmp_path, ner_id2label=NEW_NER_TAGS, ignore_mismatched_sizes=True
    )
    config = model.config
    assert config.ner_id2label == NEW_NER_TAGS and config.id2label == NEW_NER_TAGS
    assert config.ner_label2id == config.label2id == {"O": 0, "B-PS": 1, "I-PS": 2}
    assert config.num_labels == 3 and config.pos_id2label == POS_TAGS
    head = model.heads["ner"]
    assert head.classifier.out_features == 3 and head.crf.num_tags == 3
    # Everything but the NER output layer is the saved model's.
    new_state, old_state = model.state_dict(), old.state_dict()
    for name, tensor in new_state.items():
        if name.startswith(("heads.ner.classifier", "heads.ner.crf")):
            assert tensor.shape != old_state[name].shape, name
        else:
            assert torch.equal(tensor, old_state[name]), name
    # It trains, and saves and loads with the new tags.
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batch = make_batch(ner_tags=NEW_NER_TAGS)
    loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss) and model(**batch).loss < loss
    model.save_pretrained(tmp_path / "relabelled")
    reloaded = AutoModelForTokenClassification.from_pretrained(tmp_path / "relabelled")
    assert reloaded.config.id2label == NEW_NER_TAGS and reloaded.heads["ner"].crf.num_tags == 3


def test_relabelling_overrides_are_validated_and_num_labels_must_agree_with_the_tags(tmp_path):
    tiny_model().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"ner_id2label: expected ids 0..1, received \[0, 2\]"):
        AutoModelForTokenClassification.from_pretrained(tmp_path, ner_id2label={0: "O", 2: "B-PS"})
    with pytest.raises(ValueError, match=r"num_labels: expected 5 \(the tags of ner_id2label\), received 9"):
        AutoModelForTokenClassification.from_pretrained(tmp_path, num_labels=9)
    # Agreeing values are fine, and a config overridden by `id2label` (the standard field) relabels the NER head.
    assert AutoModelForTokenClassification.from_pretrained(tmp_path, num_labels=5).config.num_labels == 5
    config = AutoConfig.from_pretrained(tmp_path, id2label=NEW_NER_TAGS)
    assert config.ner_id2label == NEW_NER_TAGS and config.label2id == {"O": 0, "B-PS": 1, "I-PS": 2}
    # Assignments after construction keep the maps consistent too.
    config.ner_id2label = NER_TAGS
    assert config.id2label == NER_TAGS and config.label2id["I-LC"] == 4
    config.num_labels = 3
    assert config.ner_id2label == config.id2label == {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    with pytest.raises(ValueError, match="expected distinct tag names"):
        config.ner_id2label = {0: "O", 1: "O"}


# ---------------------------------------------------------------- 5. compile and export


def test_traceable_lstm_path_equals_the_packed_path_in_both_directions():
    model = tiny_model(seed=2, shared_num_layers=2)
    encoder = model.shared_encoder
    batch = make_batch(with_labels=False)
    mask = batch["attention_mask"].bool()
    inputs = model.embeddings(batch["input_ids"], batch["char_ids"])
    packed, packed_layers = encoder(inputs, mask, output_layers=True, traceable=False)
    padded, padded_layers = encoder(inputs, mask, output_layers=True, traceable=True)
    hidden = encoder.lstm.hidden_size
    for packed_layer, padded_layer in zip(packed_layers, padded_layers):
        torch.testing.assert_close(padded_layer[..., :hidden], packed_layer[..., :hidden])  # forward direction
        torch.testing.assert_close(padded_layer[..., hidden:], packed_layer[..., hidden:])  # backward direction
    torch.testing.assert_close(padded, packed)
    torch.testing.assert_close(padded, packed_layers[-1])
    # The packed path itself: nn.LSTM over the packed batch, which plain padding cannot reproduce backwards.
    lengths = mask.sum(1)
    reference, _ = encoder.lstm(pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False))
    reference, _ = pad_packed_sequence(reference, batch_first=True, total_length=inputs.size(1))
    torch.testing.assert_close(packed, reference)
    naive, _ = encoder.lstm(inputs)
    assert not torch.allclose(naive[1, :2, hidden:], reference[1, :2, hidden:], atol=1e-4)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_cpu_inference_runs_the_lstm_unpacked_with_the_packed_outputs(monkeypatch, num_layers):
    model = tiny_model(seed=5, shared_num_layers=num_layers)
    encoder = model.shared_encoder
    batch = make_batch(with_labels=False)  # real positions fill 14 of 21
    mask = batch["attention_mask"].bool()
    inputs = model.embeddings(batch["input_ids"], batch["char_ids"])
    unpacked_runs = []
    run_unpacked = encoder._unpacked_layers
    monkeypatch.setattr(encoder, "_unpacked_layers", lambda *args: unpacked_runs.append(1) or run_unpacked(*args))
    with torch.inference_mode():
        unpacked, unpacked_layers = encoder(inputs, mask, output_layers=True)
        assert len(unpacked_runs) == 1
        monkeypatch.setattr(modeling, "UNPACKED_MIN_FILL", 1.01)  # never unpacked: the packed path
        packed, packed_layers = encoder(inputs, mask, output_layers=True)
    assert len(unpacked_runs) == 1
    for unpacked_layer, packed_layer in zip(unpacked_layers, packed_layers, strict=True):
        torch.testing.assert_close(unpacked_layer, packed_layer)
    torch.testing.assert_close(unpacked, packed)
    assert unpacked[~mask].abs().max() == 0


def test_unpacked_training_gives_the_packed_gradients(monkeypatch):
    model = tiny_model(seed=7, shared_num_layers=2, task_num_layers=2).train()
    batch = make_batch()

    def loss_and_gradients():
        model.zero_grad()
        loss = model(**batch).loss
        loss.backward()
        return loss.detach(), {name: parameter.grad.clone() for name, parameter in model.named_parameters()}

    unpacked_loss, unpacked = loss_and_gradients()
    monkeypatch.setattr(modeling, "UNPACKED_MIN_FILL_TRAINING", 1.01)  # never unpacked: the packed path
    packed_loss, packed = loss_and_gradients()
    torch.testing.assert_close(unpacked_loss, packed_loss)
    for name, gradient in packed.items():
        assert gradient.abs().sum() > 0 or "eojeol" in name or "gazetteer" in name, name
        torch.testing.assert_close(unpacked[name], gradient, msg=name)


def test_the_lstm_runs_unpacked_unless_padding_fills_most_of_the_batch_or_none_of_it(monkeypatch):
    model = tiny_model(seed=6)
    encoder = model.shared_encoder
    unpacked_runs = []
    run_unpacked = encoder._unpacked_layers
    monkeypatch.setattr(encoder, "_unpacked_layers", lambda *args: unpacked_runs.append(1) or run_unpacked(*args))
    cases = [
        ([7, 2, 5], False, True),
        ([8, 1, 1], False, False),  # real positions fill 10 of 24
        ([8, 1, 1], True, True),  # ... enough in training
        ([8, 1, 1, 1, 1, 1, 1, 1], True, False),  # 15 of 64: too few even there
        ([4, 4, 4], False, False),  # no padding: torch's packed call runs the fused kernel, both directions at once
        ([4, 4, 4], True, False),
    ]
    for lengths, training, unpacked in cases:
        batch = make_batch(lengths=lengths, with_labels=False)
        model.train(training)
        runs = len(unpacked_runs)
        encoder(model.embeddings(batch["input_ids"], batch["char_ids"]), batch["attention_mask"].bool())
        assert (len(unpacked_runs) > runs) == unpacked, (lengths, training)


def test_model_outputs_on_the_traceable_path_equal_eager(traceable_path):
    model = tiny_model(seed=3, shared_num_layers=2, task_num_layers=2)
    batch = make_batch()
    traced_like = model(**batch, output_hidden_states=True)
    decoded = model.decode(**{k: batch[k] for k in ("input_ids", "attention_mask", "char_ids")})
    traceable_path.undo()
    eager = model(**batch, output_hidden_states=True)
    for name in ("loss", "ner_logits", "pos_logits", "hidden_states"):
        torch.testing.assert_close(traced_like[name], eager[name])
    for task, tags in model.decode(**{k: batch[k] for k in ("input_ids", "attention_mask", "char_ids")}).items():
        assert torch.equal(decoded[task], tags)


def test_torch_compile_fullgraph_equals_eager():
    # Inductor compiles each unrolled LSTM step on CPU: a small model (no task Bi-LSTMs) keeps this test short.
    model = tiny_model(seed=4, task_num_layers=0)
    batch = make_batch(lengths=[5, 2, 4])
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True)
    with torch.no_grad():
        expected, got = model(**batch, output_hidden_states=True), compiled(**batch, output_hidden_states=True)
    for name in ("loss", "ner_loss", "pos_loss", "ner_logits", "pos_logits", "hidden_states"):
        torch.testing.assert_close(got[name], expected[name])


def compare_training_step(backend):
    """Compiled and eager forward and backward of a model with every optional part, in training mode."""
    model = tiny_model(seed=8, shared_num_layers=2, task_num_layers=2, pos_features_for_ner=True).train()
    batch = make_batch()
    expected = model(**batch, output_hidden_states=True)
    expected.loss.backward()
    expected_gradients = {name: parameter.grad.clone() for name, parameter in model.named_parameters()}
    model.zero_grad()
    torch._dynamo.reset()
    got = torch.compile(model, fullgraph=True, backend=backend)(**batch, output_hidden_states=True)
    got.loss.backward()
    for name in ("loss", "ner_loss", "pos_loss", "ner_logits", "pos_logits", "hidden_states"):
        torch.testing.assert_close(got[name], expected[name])
    for name, parameter in model.named_parameters():
        torch.testing.assert_close(parameter.grad, expected_gradients[name], msg=name)


def test_torch_compile_fullgraph_traces_training_with_every_option():
    compare_training_step(backend="aot_eager")  # graph capture and autograd, without the slow CPU code generation


@pytest.mark.slow
def test_torch_compile_inductor_training_step_equals_eager():
    compare_training_step(backend="inductor")


class NERTagger(torch.nn.Module):
    """The NER path as one module: tag scores and (constrained Viterbi) tag ids."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, char_ids):
        logits = self.model(input_ids, attention_mask=attention_mask, char_ids=char_ids).ner_logits
        return logits, self.model.decode_logits("ner", logits, attention_mask)


def test_torch_export_of_the_ner_path_equals_eager():
    tagger = NERTagger(tiny_model(seed=5)).eval()
    batch = make_batch(with_labels=False)
    args = (batch["input_ids"], batch["attention_mask"], batch["char_ids"])
    exported = torch.export.export(tagger, args)
    for got, expected in zip(exported.module()(*args), tagger(*args)):
        torch.testing.assert_close(got, expected)
    # Compiled decoding (CRF Viterbi with IOB2 constraints) traces into one graph as well.
    torch._dynamo.reset()
    compiled = torch.compile(tagger, fullgraph=True, backend="aot_eager")
    for got, expected in zip(compiled(*args), tagger(*args)):
        torch.testing.assert_close(got, expected)


def test_gradient_checkpointing_recomputes_the_bilstms_and_gives_the_same_gradients(monkeypatch):
    from modeling_mtl_bilstm import modeling_mtl_bilstm as modeling

    runs = []  # one entry per encoder run, packed or unpacked
    packed, unpacked = modeling.pack_padded_sequence, modeling.MTLBiLSTMEncoder._unpacked_layers
    monkeypatch.setattr(modeling, "pack_padded_sequence", lambda *a, **k: runs.append(1) or packed(*a, **k))
    monkeypatch.setattr(modeling.MTLBiLSTMEncoder, "_unpacked_layers", lambda *a: runs.append(1) or unpacked(*a))
    batch = make_batch()
    gradients, counts = {}, {}
    for checkpointing in (False, True):
        model = tiny_model(seed=6, dropout=0.3, shared_num_layers=2).train()
        if checkpointing:
            model.activation_checkpointing_enable()
            assert model.is_activation_checkpointing
        runs.clear()
        torch.manual_seed(0)  # the recomputation replays the same dropout masks
        model(**batch).loss.backward()
        gradients[checkpointing] = {name: p.grad for name, p in model.named_parameters()}
        counts[checkpointing] = len(runs)
    assert counts == {False: 3, True: 6}  # shared, POS and NER Bi-LSTMs, each run again in the backward pass
    for name, gradient in gradients[False].items():
        torch.testing.assert_close(gradients[True][name], gradient, msg=name)


# ---------------------------------------------------------------- constrained NER decoding


def is_valid_iob2(tags: list[str]) -> bool:
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            return False
        previous = tag
    return True


@pytest.mark.parametrize("use_crf", [True, False])
def test_ner_decoding_is_valid_iob2_unless_disabled(use_crf):
    model = tiny_model(seed=7, use_crf=use_crf)
    assert model.config.constrain_ner_decoding is True
    head = model.heads["ner"]
    with torch.no_grad():  # push the head towards I- tags, which unconstrained decoding then emits invalidly
        head.classifier.bias[[2, 4]] += 3.0
    batch = make_batch(lengths=[7, 7, 6, 5, 4, 3, 2, 1], seed=1, with_labels=False)
    decoded = model.decode(**batch)["ner"]
    model.config.constrain_ner_decoding = False
    unconstrained = model.decode(**batch)["ner"]
    mask = batch["attention_mask"].bool()
    as_tags = [[NER_TAGS[i] for i in row[keep].tolist()] for row, keep in zip(decoded, mask)]
    assert all(is_valid_iob2(tags) for tags in as_tags)
    assert not all(is_valid_iob2([NER_TAGS[i] for i in row[keep].tolist()]) for row, keep in zip(unconstrained, mask))
    if not use_crf:  # unconstrained softmax decoding is the argmax
        logits = model(**batch).ner_logits
        assert torch.equal(unconstrained, logits.argmax(-1).masked_fill(~mask, -100))


def test_saved_configs_without_the_decoding_option_load_with_the_default(tmp_path):
    tiny_config(constrain_ner_decoding=False).save_pretrained(tmp_path)
    assert AutoConfig.from_pretrained(tmp_path).constrain_ner_decoding is False
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["constrain_ner_decoding"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert AutoConfig.from_pretrained(tmp_path).constrain_ner_decoding is True
