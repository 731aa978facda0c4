"""Trainer glue for the multi-task model: per-task loss logging, logits -> tag ids, and metrics."""

import contextlib
import importlib.util
from collections.abc import Callable

import evaluate
import numpy as np
import torch
from transformers import EvalPrediction, Trainer

from ..modeling_mtl_bilstm import IGNORE_INDEX, OUTSIDE_TAG, MTLBiLSTMForTokenClassification
from ..tokenization_mtl_bilstm import NER_UNANNOTATED_TAGS


# The evaluate module metrics/korean_ner_pos, installed as modeling_mtl_bilstm.metrics (evaluate loads it by path:
# loading seqeval by name would need the Hub).
METRIC_MODULE = "modeling_mtl_bilstm.metrics.korean_ner_pos"
# Order of the label tensors Trainer hands back (TrainingArguments.label_names).
LABEL_NAMES = ["pos_labels", "ner_labels"]
# ... of data that mixes corpora with different entity types: scores leave out what a sentence's corpus does not annotate.
MIXED_CORPUS_LABEL_NAMES = [*LABEL_NAMES, NER_UNANNOTATED_TAGS]
# Order of the task logits in the model output (fields of MTLBiLSTMTokenClassifierOutput).
OUTPUT_TASK_ORDER = ("ner", "pos")


class MTLBiLSTMTrainer(Trainer):
    """A `Trainer` that also logs the mean NER and POS losses of the training steps since the last log.

    Args:
        pos_loss_weight_final (`float`, *optional*):
            For a model with both tasks: the POS loss weight moves linearly from the config's
            (`config.loss_weights["pos"]`, at the first step) to this value (at the last step). Before each training
            step the trainer sets the model's own weight (`config.loss_weights["pos"]`) to the step's, so the model
            computes the scheduled loss; the config holds its starting weight again whenever it is saved and after
            training. `None`: the config's weight throughout.
        raw_text_evaluators (`dict`, *optional*):
            Metric key prefix (`"eval"` for the evaluations during training, `"dev"`, `"test"`) -> a callable that
            scores the model from the raw text of that split (`raw_text.RawTextEvaluator`): its metrics join the
            split's, before they are logged and before the best checkpoint is chosen, so that `metric_for_best_model`
            may be `raw_ner_f1`.
    """

    def __init__(
        self,
        *args,
        pos_loss_weight_final: float | None = None,
        raw_text_evaluators: dict[str, Callable[[torch.nn.Module], dict[str, float]]] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.raw_text_evaluators = raw_text_evaluators or {}
        if pos_loss_weight_final is not None:
            tasks = tuple(self.model.config.tasks)
            if set(tasks) != {"pos", "ner"}:
                raise ValueError(
                    f"pos_loss_weight_final: expected a model with both tasks (pos, ner), received tasks {tasks}."
                )
        self.pos_loss_weight_final = pos_loss_weight_final
        self.pos_loss_weight_start = self.model.config.loss_weights.get("pos")
        self._task_loss_sums: dict[str, torch.Tensor] = {}
        self._task_loss_steps = 0

    def scheduled_pos_loss_weight(self) -> float:
        """The POS loss weight of the coming training step."""
        start = self.pos_loss_weight_start
        if self.pos_loss_weight_final is None or not self.state.max_steps:
            return start
        progress = min(self.state.global_step / self.state.max_steps, 1.0)
        return start + (self.pos_loss_weight_final - start) * progress

    @contextlib.contextmanager
    def _starting_pos_loss_weight(self):
        """The config's starting POS loss weight in place while the block runs (a saved config records the run's
        --pos_loss_weight, not the weight of the step it was saved at)."""
        if self.pos_loss_weight_final is None:
            yield
            return
        scheduled = self.model.config.loss_weights["pos"]
        self.model.config.loss_weights["pos"] = self.pos_loss_weight_start
        try:
            yield
        finally:
            self.model.config.loss_weights["pos"] = scheduled

    def train(self, *args, **kwargs):
        try:
            return super().train(*args, **kwargs)
        finally:
            if self.pos_loss_weight_final is not None:
                self.model.config.loss_weights["pos"] = self.pos_loss_weight_start

    def training_step(self, model, inputs, num_items_in_batch=None):
        if self.pos_loss_weight_final is not None:
            # The model weights its POS loss by its config's weight: the step's weight goes there.
            self.model.config.loss_weights["pos"] = self.scheduled_pos_loss_weight()
        return super().training_step(model, inputs, num_items_in_batch)

    def _save(self, output_dir: str | None = None, state_dict=None):
        with self._starting_pos_loss_weight():
            super()._save(output_dir, state_dict)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        if model.training:
            for task in OUTPUT_TASK_ORDER:
                task_loss = outputs.get(f"{task}_loss")
                if task_loss is not None:
                    total = self._task_loss_sums.get(task, 0.0)
                    self._task_loss_sums[task] = total + task_loss.detach()
            self._task_loss_steps += 1
        return (loss, outputs) if return_outputs else loss

    def evaluation_loop(
        self, dataloader, description, prediction_loss_only=None, ignore_keys=None, metric_key_prefix="eval"
    ):
        output = super().evaluation_loop(dataloader, description, prediction_loss_only, ignore_keys, metric_key_prefix)
        evaluate_raw_text = self.raw_text_evaluators.get(metric_key_prefix)
        if evaluate_raw_text is not None:
            model = self.accelerator.unwrap_model(self.model)
            scores = evaluate_raw_text(model)
            output.metrics.update({f"{metric_key_prefix}_{name}": value for name, value in scores.items()})
        return output

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._task_loss_steps:
            for task, total in self._task_loss_sums.items():
                # Mean over ranks as well as steps, like the logged joint loss.
                mean = self.accelerator.reduce(total / self._task_loss_steps, reduction="mean")
                logs[f"{task}_loss"] = round(mean.item(), 4)
            self._task_loss_sums, self._task_loss_steps = {}, 0
        super().log(logs, start_time)


def load_metric() -> evaluate.EvaluationModule:
    """The `korean_ner_pos` metric (strict IOB2 entity F1 and POS accuracy), loaded offline from the package."""
    return evaluate.load(importlib.util.find_spec(METRIC_MODULE).origin)


def output_tasks(model: MTLBiLSTMForTokenClassification) -> list[str]:
    """The tasks whose logits appear, in order, in the model's output tuple."""
    return [task for task in OUTPUT_TASK_ORDER if task in model.config.tasks]


def make_preprocess_logits_for_metrics(model: MTLBiLSTMForTokenClassification) -> Callable:
    """Reduces each batch's logits to tag ids before Trainer accumulates them (Viterbi for CRF heads,
    argmax otherwise), so evaluation keeps (batch, seq) ints instead of (batch, seq, tags) floats."""
    tasks = output_tasks(model)

    def preprocess_logits_for_metrics(logits, labels):
        logits = logits if isinstance(logits, tuple) else (logits,)
        labels = labels if isinstance(labels, tuple) else (labels,)
        # Every sentence has a label at each real position, so the labelled positions are the mask.
        mask = next(lab for lab in labels if lab is not None) != IGNORE_INDEX
        return tuple(model.decode_logits(task, task_logits, mask) for task, task_logits in zip(tasks, logits))

    return preprocess_logits_for_metrics


def make_compute_metrics(model: MTLBiLSTMForTokenClassification, metric) -> Callable[[EvalPrediction], dict]:
    """`compute_metrics` for Trainer: turns tag ids into tag names, drops -100 positions and scores them
    with `metric` (the repository's `korean_ner_pos` evaluate module, or anything with its interface)."""

    def compute_metrics(prediction: EvalPrediction) -> dict[str, float]:
        inputs = {}
        for task, (predicted, gold) in tag_sequences(model, prediction).items():
            inputs[f"{task}_predictions"], inputs[f"{task}_references"] = predicted, gold
        return metric.compute(**inputs)

    return compute_metrics


def tag_sequences(
    model: MTLBiLSTMForTokenClassification, prediction: EvalPrediction
) -> dict[str, tuple[list[list[str]], list[list[str]]]]:
    """`{task: (predicted tags, gold tags)}` per sentence, as tag names, without the -100 positions, from the
    tag ids that `make_preprocess_logits_for_metrics` leaves in an `EvalPrediction` (or a `PredictionOutput`).
    With `MIXED_CORPUS_LABEL_NAMES`, predicted NER tags of entity types that a sentence's corpus does not annotate
    count as `O`: its gold cannot tell whether they are right."""
    predictions = prediction.predictions
    predictions = predictions if isinstance(predictions, tuple) else (predictions,)
    label_ids = prediction.label_ids if isinstance(prediction.label_ids, tuple) else (prediction.label_ids,)
    labels_by_task = dict(zip(LABEL_NAMES, label_ids))
    unannotated = label_ids[len(LABEL_NAMES)] if len(label_ids) > len(LABEL_NAMES) else None
    sequences = {}
    for task, predicted in zip(output_tasks(model), predictions):
        id2label = model.config.task_id2label(task)
        predicted = np.asarray(predicted)
        if task == "ner" and unannotated is not None:
            predicted = _unannotated_as_outside(predicted, np.asarray(unannotated), model.config.ner_label2id)
        sequences[task] = _tag_sequences(predicted, np.asarray(labels_by_task[f"{task}_labels"]), id2label)
    return sequences


def _unannotated_as_outside(predicted: np.ndarray, unannotated: np.ndarray, label2id: dict[str, int]) -> np.ndarray:
    """(batch, seq) tag ids with those that a sentence's row of `unannotated` (batch, tags) marks replaced by O."""
    rows = np.arange(predicted.shape[0])[:, None]
    hidden = (unannotated[rows, predicted.clip(min=0)] != 0) & (predicted != IGNORE_INDEX)
    return np.where(hidden, label2id[OUTSIDE_TAG], predicted)


def _tag_sequences(predicted: np.ndarray, gold: np.ndarray, id2label: dict[int, str]):
    predictions, references = [], []
    for pred_row, gold_row in zip(predicted, gold):
        keep = gold_row != IGNORE_INDEX
        predictions.append([id2label[int(i)] for i in pred_row[keep]])
        references.append([id2label[int(i)] for i in gold_row[keep]])
    return predictions, references
