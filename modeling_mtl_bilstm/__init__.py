"""Korean named-entity recognition with a multi-task (POS + NER) Bi-LSTM, as a transformers model."""

from transformers import AutoConfig, AutoModelForTokenClassification
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_mtl_bilstm import MTLBiLSTMConfig
from .crf import ConditionalRandomField
from .data import export_to_parquet, load_korean_ner
from .inference import KOREAN_NER_TASK, KiwiMorphemeAnalyzer, KoreanNERPipeline, KoreanNERPredictor, Morpheme
from .modeling_mtl_bilstm import (
    MTLBiLSTMForTokenClassification,
    MTLBiLSTMPreTrainedModel,
    MTLBiLSTMTokenClassifierOutput,
)
from .tokenization_mtl_bilstm import DataCollatorForMTLBiLSTM, MTLBiLSTMTokenizer


# Local use: the Auto classes resolve "mtl_bilstm" without trust_remote_code.
AutoConfig.register(MTLBiLSTMConfig.model_type, MTLBiLSTMConfig, exist_ok=True)
AutoModelForTokenClassification.register(MTLBiLSTMConfig, MTLBiLSTMForTokenClassification, exist_ok=True)
# Hub use: save_pretrained writes `auto_map` and copies the modeling files, so the saved folder loads
# with trust_remote_code=True where this package is not installed.
MTLBiLSTMConfig.register_for_auto_class()
MTLBiLSTMForTokenClassification.register_for_auto_class("AutoModelForTokenClassification")
MTLBiLSTMTokenizer.register_for_auto_class()
# pipeline("korean-ner", model=...): entities of raw text, shaped like token-classification's.
PIPELINE_REGISTRY.register_pipeline(
    KOREAN_NER_TASK, pipeline_class=KoreanNERPipeline, pt_model=AutoModelForTokenClassification, type="text"
)

__version__ = "0.1.0"

__all__ = [
    "ConditionalRandomField",
    "export_to_parquet",
    "load_korean_ner",
    "DataCollatorForMTLBiLSTM",
    "KiwiMorphemeAnalyzer",
    "KOREAN_NER_TASK",
    "KoreanNERPipeline",
    "KoreanNERPredictor",
    "Morpheme",
    "MTLBiLSTMConfig",
    "MTLBiLSTMForTokenClassification",
    "MTLBiLSTMPreTrainedModel",
    "MTLBiLSTMTokenClassifierOutput",
    "MTLBiLSTMTokenizer",
]
