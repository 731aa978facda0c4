"""Training: the comparison engine, Trainer glue, weight averaging, embedding initialisers and the results report."""

from .arguments import ARGUMENT_CLASSES, DataArguments, ExperimentArguments, ModelArguments, MTLTrainingArguments
from .checks import ArgumentError
from .experiment import run_experiment
from .pretrained_embeddings import initialize_morpheme_embeddings
from .trainer import MTLBiLSTMTrainer, load_metric
from .weight_averaging import WeightAveragingCallback


__all__ = [
    "ARGUMENT_CLASSES",
    "ArgumentError",
    "DataArguments",
    "ExperimentArguments",
    "MTLBiLSTMTrainer",
    "MTLTrainingArguments",
    "ModelArguments",
    "WeightAveragingCallback",
    "initialize_morpheme_embeddings",
    "load_metric",
    "run_experiment",
]
