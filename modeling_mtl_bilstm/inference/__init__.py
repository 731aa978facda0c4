"""Raw text in, entities out: Kiwi morphology, the predictor, and the `korean-ner` pipeline."""

from .morphology import KiwiMorphemeAnalyzer, Morpheme, load_kiwi
from .pipeline import KOREAN_NER_TASK, KoreanNERPipeline
from .predictor import KoreanNERPredictor, quantize_dynamic_int8


__all__ = [
    "KOREAN_NER_TASK",
    "KiwiMorphemeAnalyzer",
    "KoreanNERPipeline",
    "KoreanNERPredictor",
    "Morpheme",
    "load_kiwi",
    "quantize_dynamic_int8",
]
