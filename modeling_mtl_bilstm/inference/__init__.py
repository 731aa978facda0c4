"""Raw text in, entities out: Kiwi morphology, the predictor, and the `korean-ner` pipeline.

Names are imported on first use (PEP 562), so that the predictor's ONNX Runtime path runs without torch or
transformers; `KoreanNERPipeline` and `quantize_dynamic_int8` need both.
"""

import importlib


# Each public name and the submodule that defines it.
_EXPORTS = {
    "KiwiMorphemeAnalyzer": "morphology",
    "Morpheme": "morphology",
    "load_kiwi": "morphology",
    "KOREAN_NER_TASK": "pipeline",
    "KoreanNERPipeline": "pipeline",
    "KoreanNERPredictor": "predictor",
    "quantize_dynamic_int8": "torch_backend",
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
