"""Training: the comparison engine, Trainer glue, weight averaging, embedding initialisers and the results report.

Names are imported on first use (PEP 562), so that reading a run's output folder (`run_info`, which the publishing
code and the benchmarks use) does not import the training engine, nor the engine the publishing code back.
"""

from ..lazy_exports import lazy_exports


# Each public name and the submodule that defines it.
_EXPORTS = {
    "ARGUMENT_CLASSES": ".arguments",
    "DataArguments": ".arguments",
    "ExperimentArguments": ".arguments",
    "ModelArguments": ".arguments",
    "MTLTrainingArguments": ".arguments",
    "ArgumentError": ".checks",
    "run_experiment": ".experiment",
    "initialize_morpheme_embeddings": ".pretrained_embeddings",
    "RunInfo": ".run_info",
    "MTLBiLSTMTrainer": ".trainer",
    "load_metric": ".trainer",
    "WeightAveragingCallback": ".weight_averaging",
}


__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
