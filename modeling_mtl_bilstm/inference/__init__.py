"""Raw text in, entities out: Kiwi morphology, the predictor, and the `korean-ner` pipeline.

Names are imported on first use (PEP 562), so that the predictor's ONNX Runtime path runs without torch or
transformers; `KoreanNERPipeline` and `quantize_dynamic_int8` need both.
"""

from ..lazy_exports import lazy_exports


# Each public name and the submodule that defines it.
_EXPORTS = {
    "KiwiMorphemeAnalyzer": ".morphology",
    "Morpheme": ".morphology",
    "load_kiwi": ".morphology",
    "KOREAN_NER_TASK": ".pipeline",
    "KoreanNERPipeline": ".pipeline",
    "KoreanNERPredictor": ".predictor",
    "quantize_dynamic_int8": ".torch_backend",
}


__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
