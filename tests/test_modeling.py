"""Tests of the configuration and the model, on tiny configs."""

import json
import re

import pytest
import torch
from huggingface_hub.errors import StrictDataclassFieldValidationError
from remote_code import run_without_package
from tiny_models import NER_TAGS, POS_TAGS, RANDOM_MODEL_SIZES
from transformers import AutoConfig, AutoModelForTokenClassification

from modeling_mtl_bilstm import (
    MTLBiLSTMConfig,
    MTLBiLSTMForTokenClassification,
    MTLBiLSTMTokenClassifierOutput,
    MTLBiLSTMTokenizer,
)


# fp32 results may differ in the last bits across save/load, processes and CPUs (AVX2 vs AVX-512).
FP32_TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


class MTLBiLSTMModelTester:
    """Builds tiny configs and random batches (the transformers `ModelTester` pattern)."""

    def __init__(self, batch_size=3, seq_len=7, max_chars=4, vocab_size=50, char_vocab_size=30):
        self.batch_size, self.seq_len, self.max_chars = batch_size, seq_len, max_chars
        self.vocab_size, self.char_vocab_size = vocab_size, char_vocab_size
        self.lengths = [seq_len, 2, seq_len - 2][:batch_size]

    def config(self, **overrides) -> MTLBiLSTMConfig:
        kwargs = dict(
            vocab_size=self.vocab_size,
            char_vocab_size=self.char_vocab_size,
            **RANDOM_MODEL_SIZES,
            pos_id2label=POS_TAGS,
            ner_id2label=NER_TAGS,
        )
        kwargs.update(overrides)
        return MTLBiLSTMConfig(**kwargs)

    def batch(self, with_labels=True, seed=0) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(seed)
        shape = (self.batch_size, self.seq_len)
        mask = torch.zeros(shape, dtype=torch.long)
        for row, length in enumerate(self.lengths):
            mask[row, :length] = 1
        input_ids = torch.randint(2, self.vocab_size, shape, generator=generator) * mask
        char_ids = torch.randint(2, self.char_vocab_size, (*shape, self.max_chars), generator=generator)
        char_ids[..., -1] = 0  # some morphemes are shorter than the longest
        char_ids = char_ids * mask.unsqueeze(-1)
        batch = {"input_ids": input_ids, "attention_mask": mask, "char_ids": char_ids}
        if with_labels:
            batch["pos_labels"] = torch.randint(0, len(POS_TAGS), shape, generator=generator).masked_fill(
                mask == 0, -100
            )
            batch["ner_labels"] = torch.randint(0, len(NER_TAGS), shape, generator=generator).masked_fill(
                mask == 0, -100
            )
        return batch


@pytest.fixture
def tester():
    return MTLBiLSTMModelTester()


def tiny_model(tester, seed=0, **overrides):
    torch.manual_seed(seed)
    return MTLBiLSTMForTokenClassification(tester.config(**overrides)).eval()


# ---------------------------------------------------------------- configuration


def test_config_from_label_maps_only_gives_a_working_model():
    config = MTLBiLSTMConfig(pos_id2label=POS_TAGS, ner_id2label=NER_TAGS)
    model = MTLBiLSTMForTokenClassification(config).eval()
    output = model(input_ids=torch.tensor([[5, 6, 7]]))
    assert output.ner_logits.shape == (1, 3, len(NER_TAGS))
    assert output.pos_logits.shape == (1, 3, len(POS_TAGS))
    assert config.tasks == ("pos", "ner")
    assert config.use_crf == {"pos": False, "ner": True}
    assert config.loss_weights == {"pos": 1.0, "ner": 1.0}


def test_config_json_round_trip_restores_int_keys_and_inverse_maps(tmp_path):
    config = MTLBiLSTMConfig(pos_id2label=POS_TAGS, ner_id2label=NER_TAGS, tasks=["ner", "pos"], use_crf=True)
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "mtl_bilstm"
    assert set(saved["ner_id2label"]) == {"0", "1", "2", "3", "4"}  # JSON keys are strings
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, MTLBiLSTMConfig)
    assert loaded.ner_id2label == NER_TAGS and loaded.pos_id2label == POS_TAGS
    assert loaded.ner_label2id == {"O": 0, "B-PS": 1, "I-PS": 2, "B-LC": 3, "I-LC": 4}
    assert loaded.pos_label2id["JKS"] == 2
    assert loaded.tasks == ("pos", "ner")
    assert loaded.use_crf == {"pos": True, "ner": True}
    # The standard fields describe the NER head, for pipelines.
    assert loaded.id2label == NER_TAGS and loaded.num_labels == len(NER_TAGS)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tasks": ("ner", "chunk")}, "MTLBiLSTMConfig.tasks: expected a non-empty subset"),
        ({"tasks": ()}, "MTLBiLSTMConfig.tasks"),
        ({"tasks": ("ner", "ner")}, "without repeats"),
        ({"use_crf": {"chunk": True}}, "MTLBiLSTMConfig.use_crf: expected"),
        ({"loss_weights": {"ner": -1.0}}, "MTLBiLSTMConfig.loss_weights: expected finite non-negative"),
        ({"loss_weights": {"ner": 0.0, "pos": 0.0}}, "at least one positive"),
        ({"loss_weights": {"chunk": 1.0}}, "MTLBiLSTMConfig.loss_weights: expected a dict"),
        ({"vocab_size": 0}, "MTLBiLSTMConfig.vocab_size: expected a positive int, received 0"),
        ({"char_vocab_size": -1}, "MTLBiLSTMConfig.char_vocab_size: expected an int >= 0, received -1"),
        ({"dropout": 1.0}, "MTLBiLSTMConfig.dropout: expected a float in [0, 1), received 1.0"),
        ({"ner_id2label": {0: "O", 2: "B-PS"}}, "MTLBiLSTMConfig.ner_id2label: expected ids 0..1, received [0, 2]"),
        ({"ner_id2label": {0: "O", 1: "O"}}, "expected distinct tag names"),
        ({"pos_id2label": {"a": "NNG"}}, "expected integer ids as keys"),
        ({"pad_token_id": 20000}, "MTLBiLSTMConfig.pad_token_id: expected an id below vocab_size=20000"),
    ],
)
def test_config_errors_say_expected_and_received(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        MTLBiLSTMConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocab_size": "big"}, "Field 'vocab_size' expected int, got str (value: 'big')"),
        ({"shared_num_layers": True}, "Field 'shared_num_layers' expected int, got bool (value: True)"),
        ({"tasks": "ner"}, "Field 'tasks' with value 'ner' doesn't match any type"),
        ({"use_crf": {"ner": 1}}, "Field 'use_crf' with value {'ner': 1} doesn't match any type"),
    ],
)
def test_config_field_types_are_checked_by_strict_as_in_transformers_configs(kwargs, message):
    with pytest.raises(StrictDataclassFieldValidationError, match=re.escape(message)):
        MTLBiLSTMConfig(**kwargs)
    config = MTLBiLSTMConfig()
    with pytest.raises(StrictDataclassFieldValidationError, match=re.escape(message.split(" with value")[0])):
        setattr(config, *next(iter(kwargs.items())))


def test_model_without_labels_for_a_trained_task_fails_clearly():
    with pytest.raises(ValueError, match="task 'ner' is trained but `ner_id2label` is not set"):
        MTLBiLSTMForTokenClassification(MTLBiLSTMConfig(pos_id2label=POS_TAGS))


# ---------------------------------------------------------------- forward


def test_output_shapes_and_fields(tester):
    model = tiny_model(tester)
    output = model(**tester.batch(), output_hidden_states=True)
    assert isinstance(output, MTLBiLSTMTokenClassifierOutput)
    assert output.ner_logits.shape == (tester.batch_size, tester.seq_len, len(NER_TAGS))
    assert output.pos_logits.shape == (tester.batch_size, tester.seq_len, len(POS_TAGS))
    # Embeddings, then the shared Bi-LSTM (one layer); the last is what the heads read.
    assert len(output.hidden_states) == 2
    assert output.hidden_states[-1].shape == (tester.batch_size, tester.seq_len, 2 * 10)
    for name in ("loss", "ner_loss", "pos_loss"):
        assert output[name].shape == () and torch.isfinite(output[name])
    # Trainer reads the loss first in the tuple form.
    assert list(output.keys())[:3] == ["loss", "ner_loss", "pos_loss"]
    as_tuple = model(**tester.batch(), return_dict=False)
    assert torch.equal(as_tuple[0], output.loss)


def test_joint_loss_is_weighted_sum_of_task_losses(tester):
    batch = tester.batch()
    equal = tiny_model(tester, seed=1)(**batch)
    torch.testing.assert_close(equal.loss, equal.ner_loss + equal.pos_loss)
    weighted = tiny_model(tester, seed=1, loss_weights={"ner": 1.0, "pos": 0.25})(**batch)
    torch.testing.assert_close(weighted.ner_loss, equal.ner_loss)
    torch.testing.assert_close(weighted.loss, weighted.ner_loss + 0.25 * weighted.pos_loss)


def test_loss_weights_act_on_gradients(tester):
    batch = tester.batch()
    grads = {}
    for pos_weight in (1.0, 0.0):
        model = tiny_model(tester, seed=2, loss_weights={"ner": 1.0, "pos": pos_weight}).train()
        model(**batch).loss.backward()
        grads[pos_weight] = model.heads["pos"].classifier.weight.grad
    assert grads[1.0].abs().sum() > 0
    assert torch.count_nonzero(grads[0.0]) == 0


def test_gradients_of_each_head_reach_the_shared_bilstm(tester):
    batch = tester.batch()
    for task in ("pos", "ner"):
        model = tiny_model(tester, seed=3).train()
        model(**batch)[f"{task}_loss"].backward()
        shared_grad = model.shared_encoder.lstm.weight_ih_l0.grad
        assert shared_grad is not None and shared_grad.abs().sum() > 0, task
        other = "ner" if task == "pos" else "pos"
        assert model.heads[other].classifier.weight.grad is None


@pytest.mark.parametrize("use_crf", [False, True])
def test_padding_invariance_batched_equals_alone(tester, use_crf):
    model = tiny_model(tester, use_crf=use_crf)
    batch = tester.batch(with_labels=False)
    batched = model(**batch)
    decoded = model.decode(**batch)
    for row, length in enumerate(tester.lengths):
        alone = {k: v[row : row + 1, :length] for k, v in batch.items()}
        alone["char_ids"] = alone["char_ids"][..., : int((alone["char_ids"] > 0).sum(-1).max())]
        single = model(**alone)
        for task in ("ner", "pos"):
            torch.testing.assert_close(single[f"{task}_logits"][0], batched[f"{task}_logits"][row, :length])
            assert torch.equal(model.decode(**alone)[task][0], decoded[task][row, :length])
            assert (decoded[task][row, length:] == -100).all()


def test_ignored_positions_do_not_change_the_softmax_loss(tester):
    model = tiny_model(tester, use_crf=False)
    batch = tester.batch()
    reference = model(**batch)
    changed = dict(batch)
    changed["ner_labels"] = batch["ner_labels"].clone()
    changed["ner_labels"][0, 3] = -100
    partial = model(**changed)
    assert not torch.allclose(partial.ner_loss, reference.ner_loss)
    # The loss is the mean over labelled positions only: recompute it by hand.
    logits = partial.ner_logits.reshape(-1, len(NER_TAGS))
    labels = changed["ner_labels"].reshape(-1)
    keep = labels != -100
    expected = torch.nn.functional.cross_entropy(logits[keep], labels[keep])
    torch.testing.assert_close(partial.ner_loss, expected)


def test_crf_head_rejects_unlabelled_real_positions(tester):
    model = tiny_model(tester, use_crf={"ner": True})
    batch = tester.batch()
    batch["ner_labels"][0, 1] = -100
    with pytest.raises(ValueError, match="CRF head needs a label at every non-padding position"):
        model(**batch)


def test_decode_uses_viterbi_with_crf_and_argmax_without(tester):
    batch = tester.batch(with_labels=False)
    model = tiny_model(tester, use_crf={"ner": True, "pos": False})
    with torch.no_grad():
        model.heads["ner"].crf.transitions.fill_(-1e4)  # only "stay on a tag" transitions...
        model.heads["ner"].crf.transitions.diagonal().fill_(0.0)  # ...are allowed
    decoded = model.decode(**batch)
    logits = model(**batch)
    mask = batch["attention_mask"].bool()
    for row, length in enumerate(tester.lengths):
        assert len(set(decoded["ner"][row, :length].tolist())) == 1
    expected_pos = logits.pos_logits.argmax(-1).masked_fill(~mask, -100)
    assert torch.equal(decoded["pos"], expected_pos)


@pytest.mark.parametrize("tasks", [("ner",), ("pos",)])
def test_single_task_model_has_no_parameters_for_the_absent_task(tester, tasks):
    model = tiny_model(tester, tasks=tasks).train()
    absent = "pos" if tasks == ("ner",) else "ner"
    assert list(model.heads) == list(tasks)
    output = model(**tester.batch())
    assert getattr(output, f"{absent}_logits") is None and getattr(output, f"{absent}_loss") is None
    output.loss.backward()
    # Every parameter receives a gradient: DDP with find_unused_parameters=False can train it.
    assert all(p.grad is not None for p in model.parameters())
    full = tiny_model(tester)
    assert sum(p.numel() for p in model.parameters()) < sum(p.numel() for p in full.parameters())


def test_single_task_model_trains_under_ddp_without_unused_parameters(tester, tmp_path):
    torch.distributed.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        model = torch.nn.parallel.DistributedDataParallel(tiny_model(tester, tasks=("ner",)).train())
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in range(3):  # an unused parameter would fail at the second step
            optimizer.zero_grad()
            model(**tester.batch(seed=step)).loss.backward()
            optimizer.step()
        # DDP's reducer holds the process group: free it first, or its destructor may wait on gloo's threads
        # after the group is destroyed.
        del model, optimizer
    finally:
        torch.distributed.destroy_process_group()


def test_input_errors_are_clear(tester):
    model = tiny_model(tester)
    batch = tester.batch(with_labels=False)
    with pytest.raises(ValueError, match=r"char_ids: expected a tensor of shape \(3, 7\) \+ \(max_syllables,\)"):
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    with pytest.raises(ValueError, match="attention_mask: expected shape"):
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"][:, :3], char_ids=batch["char_ids"])
    with pytest.raises(ValueError, match="left-aligned"):
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"].flip(1), char_ids=batch["char_ids"])
    no_chars = tiny_model(tester, char_vocab_size=0)
    with pytest.raises(ValueError, match="char_ids: expected None since config.char_vocab_size=0"):
        no_chars(**batch)


@pytest.mark.parametrize("syllables", [False, True])
def test_model_inputs_keep_what_forward_takes(tester, syllables):
    model = tiny_model(tester, **({} if syllables else {"char_vocab_size": 0}))
    batch = tester.batch(with_labels=False)
    inputs = model.model_inputs(batch)
    assert set(inputs) == set(batch) - ({"char_ids"} if not syllables else set())
    assert all(inputs[name] is batch[name] for name in inputs)  # already on the model's device: not copied
    model(**inputs)


# ---------------------------------------------------------------- save / load


def test_save_and_load_round_trip_gives_same_logits_and_labels(tester, tmp_path):
    model = tiny_model(tester, seed=4)
    batch = tester.batch(with_labels=False)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert not list(tmp_path.glob("*.bin"))
    loaded = AutoModelForTokenClassification.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, MTLBiLSTMForTokenClassification)
    for task in ("ner", "pos"):
        # The weights round-trip exactly, but fp32 kernels may differ in the last bits with memory alignment
        # (seen on AVX-512 CPUs): logits to fp32 tolerance, tags exactly.
        torch.testing.assert_close(
            loaded(**batch)[f"{task}_logits"], model(**batch)[f"{task}_logits"], **FP32_TOLERANCE
        )
        assert torch.equal(loaded.decode(**batch)[task], model.decode(**batch)[task])
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_remote_code_load_in_fresh_process_without_the_package(tester, tmp_path):
    model = tiny_model(tester, seed=5)
    tokenizer = MTLBiLSTMTokenizer.build([["세종", "이", "한글", "을", "만들", "었", "다"]])
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    sentences = [["세종", "이", "훈민정음", "을"], ["한글"]]
    encoded = tokenizer(sentences, return_tensors="pt")
    with torch.no_grad():
        expected = model(**encoded).ner_logits
    torch.save({"logits": expected, "tags": model.decode(**encoded)["ner"]}, tmp_path / "expected.pt")
    result = run_without_package(
        f"""
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer
        folder = {str(tmp_path / "model")!r}
        model = AutoModelForTokenClassification.from_pretrained(folder, trust_remote_code=True).eval()
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        assert "modeling_mtl_bilstm" not in sys.modules
        encoded = tokenizer({sentences!r}, return_tensors="pt")
        with torch.no_grad():
            logits = model(**encoded).ner_logits
        expected = torch.load({str(tmp_path / "expected.pt")!r}, weights_only=True)
        # Another process may take other fp32 code paths: logits to tolerance, decoded tags exactly.
        torch.testing.assert_close(logits, expected["logits"], **{FP32_TOLERANCE!r})
        assert torch.equal(model.decode(**encoded)["ner"], expected["tags"])
        print("REMOTE_OK")
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "REMOTE_OK" in result.stdout


def test_pos_features_for_ner_feed_the_pos_distribution_to_the_ner_head(tester):
    model = tiny_model(tester, pos_features_for_ner=True).train()
    assert model.heads["ner"].encoder.lstm.input_size == 2 * 10 + len(POS_TAGS)
    batch = tester.batch()
    model(**batch).ner_loss.backward()
    # The NER loss now reaches the POS head through its tag distribution.
    assert model.heads["pos"].classifier.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="pos_features_for_ner: expected tasks"):
        tester.config(pos_features_for_ner=True, tasks=("ner",))
