"""Checks of a run's arguments against each other, before anything is loaded or trained."""

import importlib.util
from pathlib import Path

import torch
from transformers import TrainingArguments
from transformers.trainer_utils import IntervalStrategy

from .arguments import MODEL_TASKS, DataArguments, ExperimentArguments, ModelArguments
from .vectors import VECTOR_PACKAGES, vectors_wanted


class ArgumentError(ValueError):
    """The arguments contradict each other or miss something the run needs; the message says what."""


def check_arguments(experiment: ExperimentArguments, data_args: DataArguments, training_args: TrainingArguments):
    if (training_args.fp16 or training_args.bf16) and not torch.cuda.is_available():
        raise ArgumentError(
            "--fp16/--bf16 need a CUDA GPU: none is available here. Drop the flag to train in fp32 on CPU."
        )
    if experiment.seeds is not None and not experiment.seeds:
        raise ArgumentError("--seeds: expected at least one seed.")
    if data_args.dataset == "klp2016" and data_args.data_dir is None:
        raise ArgumentError("--dataset klp2016 needs --data_dir, a folder with train.txt, dev.txt and test.txt.")
    if data_args.dataset == "klue" and data_args.data_dir is None:
        raise ArgumentError(
            "--dataset klue needs --data_dir, a folder with klue-ner-v1.1_dev.tsv (or a part of it, "
            "klue-ner-v1.1_dev.part.tsv) and, where you have it, klue-ner-v1.1_train.tsv."
        )
    if data_args.dataset == "conll" and not data_args.train_file:
        raise ArgumentError(
            "--dataset conll needs --train_file (and --validation_file, --test_file where you have them)."
        )
    resume = training_args.resume_from_checkpoint
    if resume and resume != "last":
        if not Path(resume).is_dir():
            raise ArgumentError(
                f"--resume_from_checkpoint: expected 'last' or a checkpoint folder, received {resume!r}."
            )
        if experiment.compare or (experiment.seeds and len(experiment.seeds) > 1):
            raise ArgumentError(
                "--resume_from_checkpoint PATH resumes one run: use 'last' with --compare or several seeds."
            )
    if not 0.0 <= experiment.ema_decay < 1.0:
        raise ArgumentError(f"--ema_decay: expected a value in [0, 1) (0: off), received {experiment.ema_decay}.")
    if experiment.ema_decay and training_args.eval_strategy != IntervalStrategy.EPOCH:
        raise ArgumentError(
            "--ema_decay puts the average in place at epoch ends, where it is evaluated: expected --eval_strategy "
            f"epoch, received {training_args.eval_strategy.value}."
        )
    if experiment.compare and experiment.task != "mtl":
        raise ArgumentError("--compare trains mtl, ner and pos itself (--compare_models): drop --task.")
    unknown = sorted(set(experiment.compare_models) - set(MODEL_TASKS))
    if unknown or not experiment.compare_models:
        raise ArgumentError(
            f"--compare_models: expected some of {', '.join(MODEL_TASKS)}, received {experiment.compare_models}."
        )


def check_feature_arguments(data_args: DataArguments, model_args: ModelArguments):
    if model_args.init_from and data_args.gazetteer:
        raise ArgumentError(
            "--init_from keeps the saved model's input features (its eojeol features and gazetteer): drop --gazetteer."
        )
    if model_args.init_from and model_args.morpheme_vectors_file:
        raise ArgumentError(
            "--init_from keeps the saved model's trained morpheme embeddings: drop --morpheme_vectors_file."
        )
    if model_args.init_from and model_args.frozen_embedding:
        raise ArgumentError("--init_from keeps the saved model's embeddings and sizes: drop --frozen_embedding.")
    if model_args.frozen_embedding and not vectors_wanted(model_args):
        raise ArgumentError(
            "--frozen_embedding: expected vectors to freeze (--morpheme_vectors or --morpheme_vectors_file), "
            "received --morpheme_vectors none."
        )
    if not model_args.pos_loss_weight_final >= 0:
        raise ArgumentError(
            f"--pos_loss_weight_final: expected a weight >= 0, received {model_args.pos_loss_weight_final}."
        )
    if data_args.gazetteer_from_training and data_args.gazetteer_folds < 2:
        raise ArgumentError(
            f"--gazetteer_folds: expected at least 2 folds (a sentence's gazetteer comes from the other folds), "
            f"received {data_args.gazetteer_folds}."
        )
    needs = VECTOR_PACKAGES.get(model_args.morpheme_vectors)
    if needs and vectors_wanted(model_args) and not model_args.morpheme_vectors_file:
        package, install = needs
        if importlib.util.find_spec(package) is None:
            raise ArgumentError(
                f"--morpheme_vectors {model_args.morpheme_vectors} needs {package}, which is not installed: "
                f"{install}, or pass --morpheme_vectors none."
            )
    if not 0.0 <= model_args.word_dropout <= 1.0:
        raise ArgumentError(f"--word_dropout: expected a probability in [0, 1], received {model_args.word_dropout}.")
