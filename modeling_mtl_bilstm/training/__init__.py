"""Training: the comparison engine, Trainer glue, weight averaging, embedding initialisers and the results report.

Names are imported on first use (PEP 562), so that reading a run's output folder (`run_info`, which the publishing
code and the benchmarks use) does not import the training engine, nor the engine the publishing code back.
"""

import importlib


# Each public name and the submodule that defines it.
_EXPORTS = {
    "ARGUMENT_CLASSES": "arguments",
    "DataArguments": "arguments",
    "ExperimentArguments": "arguments",
    "ModelArguments": "arguments",
    "MTLTrainingArguments": "arguments",
    "ArgumentError": "checks",
    "run_experiment": "experiment",
    "initialize_morpheme_embeddings": "pretrained_embeddings",
    "RunInfo": "run_info",
    "MTLBiLSTMTrainer": "trainer",
    "load_metric": "trainer",
    "WeightAveragingCallback": "weight_averaging",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = sorted(_EXPORTS)
