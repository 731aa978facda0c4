"""The POS loss weight schedule (`--pos_loss_weight` to `--pos_loss_weight_final`, from 1 to 0 by default): the loss
each training step optimises, recomputed from its task losses, against the linear schedule; single-task runs keep
their own loss; saved configs keep the starting weight; clear argument errors."""

import json

import pytest

from modeling_mtl_bilstm import MTLBiLSTMForTokenClassification
from modeling_mtl_bilstm.training import ArgumentError
from modeling_mtl_bilstm.training.trainer import MTLBiLSTMTrainer


@pytest.fixture
def training_losses(monkeypatch):
    """Each training step's (model tasks, step, max steps, loss, POS loss, NER loss), as the trainer computed them."""
    steps = []
    original = MTLBiLSTMTrainer.compute_loss

    def spy(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, outputs = original(self, model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        if model.training:
            task_losses = [outputs.get(f"{task}_loss") for task in ("pos", "ner")]
            steps.append(
                (
                    tuple(self.model.config.tasks),
                    self.state.global_step,
                    self.state.max_steps,
                    loss.item(),
                    *(None if value is None else value.item() for value in task_losses),
                )
            )
        return (loss, outputs) if return_outputs else loss

    monkeypatch.setattr(MTLBiLSTMTrainer, "compute_loss", spy)
    return steps


def test_default_moves_the_pos_weight_from_the_start_to_zero(train, tiny_training_flags, tmp_path, training_losses):
    train(
        ["--task", "mtl", "--seeds", "1", "--num_train_epochs", "1", "--output_dir", str(tmp_path)]
        + tiny_training_flags
    )
    assert len(training_losses) > 2
    for _, step, max_steps, loss, pos_loss, ner_loss in training_losses:
        assert loss == pytest.approx(ner_loss + (1.0 - step / max_steps) * pos_loss, rel=1e-5)


def test_pos_weight_moves_linearly_in_the_multi_task_model_only(train, tiny_training_flags, tmp_path, training_losses):
    train(
        ["--compare", "--seeds", "1", "--num_train_epochs", "2", "--pos_loss_weight", "2.0"]
        + ["--pos_loss_weight_final", "0.5", "--ner_loss_weight", "0.7", "--output_dir", str(tmp_path)]
        + tiny_training_flags
    )
    multi_task = [step for step in training_losses if set(step[0]) == {"pos", "ner"}]
    single_task = [step for step in training_losses if set(step[0]) != {"pos", "ner"}]
    assert len(multi_task) > 2 and single_task
    assert [step[1] for step in multi_task] == list(range(len(multi_task)))
    for _, step, max_steps, loss, pos_loss, ner_loss in multi_task:
        assert max_steps == len(multi_task)
        weight = 2.0 + (0.5 - 2.0) * step / max_steps
        assert loss == pytest.approx(0.7 * ner_loss + weight * pos_loss, rel=1e-5)
    # The first step has the start weight.
    assert multi_task[0][3] == pytest.approx(0.7 * multi_task[0][5] + 2.0 * multi_task[0][4], rel=1e-5)
    # Single-task models have one loss, which keeps its config weight throughout.
    for tasks, _, _, loss, pos_loss, ner_loss in single_task:
        assert loss == pytest.approx(2.0 * pos_loss if tasks == ("pos",) else 0.7 * ner_loss, rel=1e-6)
    # The schedule moves the model's own weight during training; what is saved holds the run's --pos_loss_weight.
    [checkpoint] = (tmp_path / "runs" / "mtl" / "seed1").glob("checkpoint-*")
    assert json.loads((checkpoint / "config.json").read_text())["loss_weights"] == {"pos": 2.0, "ner": 0.7}


def test_trainer_refuses_a_schedule_for_a_single_task_model(tiny_config):
    model = MTLBiLSTMForTokenClassification(
        tiny_config(tasks=["ner"], vocab_size=10, char_vocab_size=10, ner_id2label={0: "O", 1: "B-PS", 2: "I-PS"})
    )
    with pytest.raises(ValueError, match=r"expected a model with both tasks \(pos, ner\), received tasks \('ner',\)"):
        MTLBiLSTMTrainer(model=model, pos_loss_weight_final=0.0)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--pos_loss_weight_final", "-1"], r"--pos_loss_weight_final: expected a weight >= 0, received -1.0"),
    ],
)
def test_schedule_arguments_fail_clearly(train, tmp_path, argv, message):
    with pytest.raises(ArgumentError, match=message):
        train([*argv, "--output_dir", str(tmp_path)])
