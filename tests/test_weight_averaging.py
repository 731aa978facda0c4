"""The moving average of the weights (`--ema_decay`): the average against a brute-force recurrence, the swap at
epoch ends, and a training run whose saved model is the average of its best epoch."""

import json

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from modeling_mtl_bilstm.training import ArgumentError
from modeling_mtl_bilstm.training.weight_averaging import WeightAveragingCallback


def _train_steps(model: nn.Module, callback: WeightAveragingCallback, steps: int, generator: torch.Generator):
    """Random parameter moves, each bracketed by the hooks Trainer calls around an optimizer step; returns the
    parameters after each step."""
    seen = []
    for _ in range(steps):
        callback.on_step_begin(None, None, None, model=model)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn(parameter.shape, generator=generator))
        callback.on_step_end(None, None, None, model=model)
        seen.append([parameter.detach().clone().double() for parameter in model.parameters()])
    return seen


def test_average_follows_the_recurrence_and_stands_in_at_epoch_ends_only():
    generator = torch.Generator().manual_seed(0)
    model = nn.Linear(3, 2)
    decay = 0.5
    callback = WeightAveragingCallback(decay)
    callback.on_train_begin(None, None, None, model=model)
    expected = [parameter.detach().clone().double() for parameter in model.parameters()]
    seen = _train_steps(model, callback, 12, generator)
    for step, parameters in enumerate(seen):
        step_decay = min(decay, (1 + step) / (10 + step))
        expected = [step_decay * average + (1 - step_decay) * value for average, value in zip(expected, parameters)]
    assert (1 + 11) / (10 + 11) > decay  # the last steps ran at the full decay, the first below it

    trained = [parameter.detach().clone() for parameter in model.parameters()]
    callback.on_epoch_end(None, None, None, model=model)
    for parameter, average in zip(model.parameters(), expected):
        torch.testing.assert_close(parameter.detach().double(), average)
    callback.on_epoch_end(None, None, None, model=model)  # a second call keeps the trained weights it holds
    callback.on_step_begin(None, None, None, model=model)
    for parameter, value in zip(model.parameters(), trained):
        assert torch.equal(parameter, value)


def test_frozen_parameters_are_left_alone():
    model = nn.Linear(3, 2)
    model.bias.requires_grad_(False)
    callback = WeightAveragingCallback(0.5)
    callback.on_train_begin(None, None, None, model=model)
    initial_weight = model.weight.detach().clone()
    _train_steps(model, callback, 3, torch.Generator().manual_seed(1))
    bias, weight = model.bias.detach().clone(), model.weight.detach().clone()
    callback.on_epoch_end(None, None, None, model=model)
    assert torch.equal(model.bias, bias)  # as trained, not replaced by an average
    assert not torch.equal(model.weight, weight) and not torch.equal(model.weight, initial_weight)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5])
def test_decay_outside_the_open_interval_is_refused(decay):
    with pytest.raises(ValueError, match=r"decay: expected a float in \(0, 1\)"):
        WeightAveragingCallback(decay)


def test_training_run_saves_the_average_of_its_best_epoch(train, tiny_training_flags, tmp_path, monkeypatch):
    averages = []  # the average at each epoch end, as put in place for evaluation
    trained = []  # the trained weights it stands in for
    original = WeightAveragingCallback.on_epoch_end

    def spy(self, args, state, control, model=None, **kwargs):
        original(self, args, state, control, model=model, **kwargs)
        averages.append({name: value.detach().clone() for name, value in model.state_dict().items()})
        names = [name for name, parameter in model.named_parameters() if parameter.requires_grad]
        trained.append({name: value.clone() for name, value in zip(names, self._trained)})

    monkeypatch.setattr(WeightAveragingCallback, "on_epoch_end", spy)
    output_dir = tmp_path / "run"
    train(
        ["--task", "ner", "--seeds", "1", "--num_train_epochs", "3", "--ema_decay", "0.9"]
        + ["--output_dir", str(output_dir), *tiny_training_flags]
    )
    result = json.loads((output_dir / "results.json").read_text())["ner"]["seeds"]["1"]
    selection = json.loads((output_dir / "run_info.json").read_text())["best_model"]["metric"].removeprefix("dev_")
    curve = [entry[selection] for entry in result["dev_curve"]]
    assert len(averages) == len(curve) == 3
    best_epoch = curve.index(max(curve))
    saved = load_file(output_dir / "best_model" / "model.safetensors")
    for name, value in saved.items():
        torch.testing.assert_close(value, averages[best_epoch][name], rtol=0, atol=0)
    # ... which is not what the optimizer had reached there.
    assert any(not torch.equal(saved[name], value) for name, value in trained[best_epoch].items())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--ema_decay", "1.0"], r"--ema_decay: expected a value in \[0, 1\)"),
        (
            ["--ema_decay", "0.9", "--eval_strategy", "steps", "--save_strategy", "steps"],
            "expected --eval_strategy epoch, received steps",
        ),
    ],
)
def test_ema_arguments_fail_clearly(train, tmp_path, argv, message):
    with pytest.raises(ArgumentError, match=message):
        train([*argv, "--output_dir", str(tmp_path)])
