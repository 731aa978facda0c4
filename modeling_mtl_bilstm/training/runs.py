"""One (model, seed) of a plan: its config, its training with `MTLBiLSTMTrainer`, its test and dev scores, and the
saved best model."""

import logging
import math
import shutil
from dataclasses import dataclass, fields
from pathlib import Path

import datasets
from transformers import EarlyStoppingCallback, TrainingArguments, set_seed
from transformers.trainer_utils import get_last_checkpoint

from ..configuration_mtl_bilstm import MTLBiLSTMConfig
from ..modeling_mtl_bilstm import OUTSIDE_TAG, MTLBiLSTMForTokenClassification
from ..tokenization_mtl_bilstm import NER_UNANNOTATED_TAGS, DataCollatorForMTLBiLSTM, MTLBiLSTMTokenizer
from .arguments import COMPARISON_SEEDS, MODEL_TASKS, ExperimentArguments, ModelArguments
from .pretrained_embeddings import initialize_morpheme_embeddings
from .raw_text import RAW_TEXT, RawTextEvaluator
from .reporting import TEST_RAW_SENTENCE_COUNTS, TEST_SENTENCE_COUNTS
from .significance import sentence_entity_counts
from .trainer import (
    LABEL_NAMES,
    MIXED_CORPUS_LABEL_NAMES,
    MTLBiLSTMTrainer,
    make_compute_metrics,
    make_preprocess_logits_for_metrics,
    tag_sequences,
)
from .weight_averaging import WeightAveragingCallback


logger = logging.getLogger(__name__)


# Dev metric each task is selected on; a plan with an NER model selects on NER.
SELECTION_METRICS = {"ner": "ner_f1", "pos": "pos_accuracy"}


@dataclass(frozen=True)
class PlannedRun:
    key: str  # results key: mtl, ner, pos, or with _crf / _no_crf for the other CRF setting
    tasks: tuple[str, ...]
    ner_crf: bool
    seed: int


def run_plan(experiment: ExperimentArguments, model_args: ModelArguments, default_seed: int) -> list[PlannedRun]:
    """Every (model, seed) to train, in order: one model with one seed (--seed) unless --compare or --seeds."""
    seeds = experiment.seeds or (COMPARISON_SEEDS if experiment.compare else [default_seed])
    keys = list(dict.fromkeys(experiment.compare_models)) if experiment.compare else [experiment.task]
    models = [(key, MODEL_TASKS[key], model_args.ner_crf) for key in keys]
    if experiment.compare and experiment.compare_crf:
        other = "no_crf" if model_args.ner_crf else "crf"
        models += [(f"{key}_{other}", MODEL_TASKS[key], not model_args.ner_crf) for key in keys if key != "pos"]
    return [PlannedRun(key, tasks, ner_crf, seed) for key, tasks, ner_crf in models for seed in seeds]


def selection_metric(tasks, raw_text: bool) -> str:
    """The dev metric that picks a model's best epoch: NER F1 (from raw text where `raw_text`) for a model with NER,
    POS accuracy otherwise."""
    if "ner" not in tasks:
        return SELECTION_METRICS["pos"]
    return f"{RAW_TEXT}{SELECTION_METRICS['ner']}" if raw_text else SELECTION_METRICS["ner"]


def plan_selection_metric(plan: list[PlannedRun], raw_text: bool = False) -> str:
    """The dev metric that picks the best model of a plan: that of its NER models where it trains NER."""
    return selection_metric(("ner",) if any("ner" in run.tasks for run in plan) else ("pos",), raw_text)


def build_config(model_args: ModelArguments, tokenizer, label_names, tasks, ner_crf: bool) -> MTLBiLSTMConfig:
    """The config of a new model of `tasks`; `ner_crf` (`PlannedRun.ner_crf`) may differ from --ner_crf in a
    comparison with --compare_crf."""
    return MTLBiLSTMConfig(
        vocab_size=tokenizer.vocab_size,
        embedding_dim=model_args.embedding_dim,
        frozen_embedding_dim=model_args.embedding_dim if model_args.frozen_embedding else 0,
        char_vocab_size=tokenizer.char_vocab_size if model_args.char_cnn_filters else 0,
        char_embedding_dim=model_args.char_embedding_dim,
        char_cnn_filters=model_args.char_cnn_filters or 1,
        shared_hidden_size=model_args.shared_hidden_size,
        shared_num_layers=model_args.shared_num_layers,
        pos_hidden_size=model_args.pos_hidden_size,
        ner_hidden_size=model_args.ner_hidden_size,
        task_num_layers=model_args.task_num_layers,
        dropout=model_args.dropout,
        tasks=tasks,
        pos_features_for_ner=model_args.pos_features_for_ner and tasks == MODEL_TASKS["mtl"],
        # The input features are the tokenizer's: the model takes what it produces.
        use_eojeol_features=tokenizer.eojeol_features,
        eojeol_embedding_dim=model_args.eojeol_embedding_dim,
        gazetteer_types=tokenizer.gazetteer.types if tokenizer.gazetteer is not None else None,
        use_crf={"ner": ner_crf, "pos": model_args.pos_crf},
        loss_weights={"pos": model_args.pos_loss_weight, "ner": model_args.ner_loss_weight},
        pos_id2label=dict(enumerate(label_names["pos"])),
        ner_id2label=dict(enumerate(label_names["ner"])),
    )


def resume_checkpoint(resume_from_checkpoint: str | None, run_dir: Path) -> str | None:
    """`--resume_from_checkpoint PATH` resumes from PATH; `--resume_from_checkpoint last` from each run's latest
    checkpoint under the output folder (what an interrupted comparison needs)."""
    if not resume_from_checkpoint:
        return None
    if resume_from_checkpoint != "last":
        return resume_from_checkpoint
    return get_last_checkpoint(str(run_dir)) if run_dir.exists() else None


def train_one(
    run: PlannedRun,
    config: MTLBiLSTMConfig,
    run_dir: Path,
    experiment: ExperimentArguments,
    model_args: ModelArguments,
    training_args: TrainingArguments,
    tokenizer: MTLBiLSTMTokenizer,
    encoded,
    metric,
    vectors_path: Path | None,
    raw_text: dict[str, RawTextEvaluator] | None = None,
) -> tuple[dict, MTLBiLSTMTrainer]:
    """Trains one model with one seed; returns its test and dev metrics (with `raw_text`, `{"validation": ...,
    "test": ...}`, also from raw text), dev curve and timing, and the trainer (holding the best epoch's weights)."""
    raw_text = raw_text if raw_text and "ner" in run.tasks else {}
    set_seed(run.seed)
    if model_args.init_from:
        # Heads whose tags differ from the training data's are rebuilt (new tags, new sizes); the rest is loaded.
        model = MTLBiLSTMForTokenClassification.from_pretrained(
            model_args.init_from,
            tasks=run.tasks,
            pos_id2label=config.pos_id2label,
            ner_id2label=config.ner_id2label,
            ignore_mismatched_sizes=True,
        )
    else:
        model = MTLBiLSTMForTokenClassification(config)
    if vectors_path:
        initialize_morpheme_embeddings(model, tokenizer, vectors_path)
    best_metric = selection_metric(run.tasks, experiment.select_on == "raw" and "validation" in raw_text)
    # A plain TrainingArguments: Trainer pickles it into checkpoints, and a subclass may not be importable where
    # the checkpoint is read.
    args = {f.name: getattr(training_args, f.name) for f in fields(TrainingArguments) if f.init}
    args.update(
        output_dir=str(run_dir),
        seed=run.seed,
        data_seed=run.seed,
        label_names=MIXED_CORPUS_LABEL_NAMES
        if NER_UNANNOTATED_TAGS in encoded["validation"].column_names
        else LABEL_NAMES,
        metric_for_best_model=best_metric,
        greater_is_better=True,
        resume_from_checkpoint=None,
    )
    if model_args.word_dropout:
        # The collator reads the training split's singleton_mask, a column the model does not take.
        args["remove_unused_columns"] = False
    args = TrainingArguments(**args)
    patience = experiment.early_stopping_patience
    trainer = MTLBiLSTMTrainer(
        model=model,
        args=args,
        train_dataset=encoded["train"] if "pos" in run.tasks else with_entity_labels(encoded["train"], config),
        eval_dataset=encoded["validation"],
        data_collator=DataCollatorForMTLBiLSTM(tokenizer, word_dropout=model_args.word_dropout),
        processing_class=tokenizer,
        compute_metrics=make_compute_metrics(model, metric),
        preprocess_logits_for_metrics=make_preprocess_logits_for_metrics(model),
        callbacks=[EarlyStoppingCallback(patience)] if patience else [],
        # The single-task models of a comparison have one loss: nothing to move between tasks.
        pos_loss_weight_final=model_args.pos_loss_weight_final if set(run.tasks) == {"pos", "ner"} else None,
        raw_text_evaluators={
            prefix: raw_text[split]
            for prefix, split in (("eval", "validation"), ("dev", "validation"), ("test", "test"))
            if split in raw_text
        },
    )
    if experiment.ema_decay:
        trainer.add_callback(WeightAveragingCallback(experiment.ema_decay))
    checkpoint = resume_checkpoint(training_args.resume_from_checkpoint, run_dir)
    if checkpoint:
        logger.info("%s seed %d: resuming from %s", run.key, run.seed, checkpoint)
    train_output = trainer.train(resume_from_checkpoint=checkpoint)
    # Early stopping reads eval_* metrics; without this, the dev_* evaluation below logs that it is disabled.
    trainer.remove_callback(EarlyStoppingCallback)

    result = {}
    if "test" in encoded:
        test = trainer.predict(encoded["test"], metric_key_prefix="test")
        result.update(
            {k.removeprefix("test_"): v for k, v in test.metrics.items() if not k.startswith("test_runtime")}
        )
        for name in ("loss", "samples_per_second", "steps_per_second"):
            result.pop(name, None)
        if "ner" in run.tasks:
            # Per-sentence entity counts: what the paired significance test of two models resamples.
            predicted, gold = tag_sequences(trainer.model, test)["ner"]
            result[TEST_SENTENCE_COUNTS] = sentence_entity_counts(predicted, gold)
            if "test" in raw_text:
                result[TEST_RAW_SENTENCE_COUNTS] = raw_text["test"].counts
    dev_metrics = trainer.evaluate(encoded["validation"], metric_key_prefix="dev")
    dev_names = [f"{RAW_TEXT}ner_f1", "ner_f1"] if "ner" in run.tasks else []
    for name in dict.fromkeys([best_metric, *dev_names]):
        if f"dev_{name}" in dev_metrics:
            result[f"dev_{name}"] = dev_metrics[f"dev_{name}"]
    epochs_run = trainer.state.epoch or args.num_train_epochs
    train_tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    result["train_seconds"] = train_output.metrics["train_runtime"]
    result["train_tokens_per_second"] = train_tokens * epochs_run / train_output.metrics["train_runtime"]
    result["epochs"] = epochs_run
    result["dev_curve"] = [
        {"epoch": entry["epoch"], best_metric: entry[f"eval_{best_metric}"]}
        for entry in trainer.state.log_history
        if f"eval_{best_metric}" in entry
    ]
    if not all(math.isfinite(v) for v in result.values() if isinstance(v, float)):
        raise FloatingPointError(f"{run.key} seed {run.seed}: non-finite metrics {result}")
    return result, trainer


def with_entity_labels(train: datasets.Dataset, config: MTLBiLSTMConfig) -> datasets.Dataset:
    """The training sentences that carry entity labels: a model without POS learns nothing from the others (their
    every NER tag is allowed, `--pos_only_corpora`)."""
    if NER_UNANNOTATED_TAGS not in train.column_names:
        return train
    outside = config.ner_label2id[OUTSIDE_TAG]
    return train.filter(
        lambda row: not all(hidden for tag, hidden in enumerate(row[NER_UNANNOTATED_TAGS]) if tag != outside),
        desc="Leaving out sentences without entity labels",
    )


def save_best_model(trainer: MTLBiLSTMTrainer, tokenizer: MTLBiLSTMTokenizer, directory: Path) -> None:
    """Model (safetensors + code) and tokenizer only: no pickled training_args.bin beside them."""
    shutil.rmtree(directory, ignore_errors=True)
    trainer.accelerator.unwrap_model(trainer.model).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
