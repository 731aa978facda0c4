"""Korean named-entity recognition with a multi-task (POS + NER) Bi-LSTM, as a transformers model.

Names are imported on first use (PEP 562), so that `from modeling_mtl_bilstm import KoreanNERPredictor` works in an
install without torch or transformers (the `serve` extra, for `KoreanNERPredictor.from_pretrained(folder,
backend="onnx")`). Where both are installed, importing the package registers the model with transformers' Auto
classes and the `korean-ner` pipeline, as before.
"""

from .lazy_exports import lazy_exports


__version__ = "0.1.0"

# Each public name and the submodule that defines it.
_EXPORTS = {
    "ConditionalRandomField": ".crf",
    "export_to_parquet": ".data",
    "load_korean_ner": ".data",
    "DataCollatorForMTLBiLSTM": ".tokenization_mtl_bilstm",
    "MTLBiLSTMTokenizer": ".tokenization_mtl_bilstm",
    "KiwiMorphemeAnalyzer": ".inference.morphology",
    "Morpheme": ".inference.morphology",
    "KOREAN_NER_TASK": ".inference.pipeline",
    "KoreanNERPipeline": ".inference.pipeline",
    "KoreanNERPredictor": ".inference.predictor",
    "KoreanNERPredictorPool": ".streaming",
    "MTLBiLSTMConfig": ".configuration_mtl_bilstm",
    "MTLBiLSTMForTokenClassification": ".modeling_mtl_bilstm",
    "MTLBiLSTMPreTrainedModel": ".modeling_mtl_bilstm",
    "MTLBiLSTMTokenClassifierOutput": ".modeling_mtl_bilstm",
}


__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)


def _register_with_transformers():
    """Local use: the Auto classes resolve "mtl_bilstm" without trust_remote_code. Hub use: save_pretrained writes
    `auto_map` and copies the modeling files, so the saved folder loads with trust_remote_code=True where this
    package is not installed. And pipeline("korean-ner", model=...): entities of raw text, shaped like
    token-classification's."""
    from transformers import AutoConfig, AutoModelForTokenClassification
    from transformers.pipelines import PIPELINE_REGISTRY

    from .configuration_mtl_bilstm import MTLBiLSTMConfig
    from .inference.pipeline import KOREAN_NER_TASK, KoreanNERPipeline
    from .modeling_mtl_bilstm import MTLBiLSTMForTokenClassification
    from .tokenization_mtl_bilstm import MTLBiLSTMTokenizer

    AutoConfig.register(MTLBiLSTMConfig.model_type, MTLBiLSTMConfig, exist_ok=True)
    AutoModelForTokenClassification.register(MTLBiLSTMConfig, MTLBiLSTMForTokenClassification, exist_ok=True)
    MTLBiLSTMConfig.register_for_auto_class()
    MTLBiLSTMForTokenClassification.register_for_auto_class("AutoModelForTokenClassification")
    MTLBiLSTMTokenizer.register_for_auto_class()
    PIPELINE_REGISTRY.register_pipeline(
        KOREAN_NER_TASK, pipeline_class=KoreanNERPipeline, pt_model=AutoModelForTokenClassification, type="text"
    )


try:
    import torch  # noqa: F401
    import transformers  # noqa: F401
except ImportError:  # the `serve` install: the ONNX Runtime predictor only
    pass
else:
    _register_with_transformers()
