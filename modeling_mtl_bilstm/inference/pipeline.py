"""The `korean-ner` transformers pipeline: [`KoreanNERPredictor`] behind the Pipeline API, answering like
`pipeline("token-classification", aggregation_strategy="simple")`."""

import os

from transformers import Pipeline, PreTrainedModel

from ..tokenization_mtl_bilstm import MTLBiLSTMTokenizer
from .morphology import KiwiMorphemeAnalyzer
from .predictor import DEFAULT_BATCH_SIZE, DEFAULT_MAX_LENGTH, KoreanNERPredictor, token_classification_entities


KOREAN_NER_TASK = "korean-ner"


class KoreanNERPipeline(Pipeline):
    """
    Named entities in raw Korean text, one list of `{"entity_group", "score", "word", "start", "end"}` per
    text, as `token-classification` with `aggregation_strategy="simple"` gives them (`word` is the text
    span, `start`/`end` character offsets into the input). See [`KoreanNERPredictor`] for the analysis and
    the scores; use the predictor itself for the morphemes and for batching across many texts.

    Args:
        model ([`MTLBiLSTMForTokenClassification`]): the model.
        tokenizer ([`MTLBiLSTMTokenizer`], `str`, *optional*): the tokenizer or its folder; by default loaded
            from the model's folder or Hub repository.
        analyzer ([`KiwiMorphemeAnalyzer`], *optional*): as in the predictor.
        batch_size (`int`, defaults to 64): sentences of a text per forward pass. Texts go through the
            pipeline one at a time.
        max_length (`int`, defaults to 256): morphemes per forward pass; longer sentences are chunked.

    Example:

    ```python
    >>> from transformers import pipeline
    >>> import modeling_mtl_bilstm  # registers the task
    >>> ner = pipeline("korean-ner", model="path/to/model")
    >>> ner("세종대왕은 1443년에 훈민정음을 창제했다.")
    [{'entity_group': 'PS', 'score': 0.97, 'word': '세종대왕', 'start': 0, 'end': 4}, ...]
    ```
    """

    # The morpheme tokenizer is no AutoTokenizer: __init__ loads it. Nothing else is used.
    _load_tokenizer = False
    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: MTLBiLSTMTokenizer | str | os.PathLike | None = None,
        analyzer: KiwiMorphemeAnalyzer | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
        **kwargs,
    ):
        sentences_per_batch = kwargs.pop("batch_size", DEFAULT_BATCH_SIZE)
        if tokenizer is None or isinstance(tokenizer, (str, os.PathLike)):
            # The model's own revision (the commit it came from, for a Hub repository) keeps the pair matched.
            tokenizer = MTLBiLSTMTokenizer.from_pretrained(
                tokenizer or model.name_or_path, revision=getattr(model.config, "_commit_hash", None)
            )
        super().__init__(model, tokenizer=tokenizer, **kwargs)
        self.predictor = KoreanNERPredictor(
            self.model,
            tokenizer,
            analyzer=analyzer,
            batch_size=sentences_per_batch,
            max_length=max_length,
            device=self.device,
        )

    def __call__(self, inputs: str | list[str], **kwargs):
        """Entities of a text (a list of dicts), or of each text of a list (a list of lists)."""
        if "batch_size" in kwargs:
            raise ValueError(
                "batch_size: expected it when the pipeline is built (sentences per forward pass), "
                "received it at call time."
            )
        # One text per DataLoader item: its collator pads sub-word tokenizer outputs, while the predictor
        # batches the sentences of each text itself.
        return super().__call__(inputs, batch_size=1, **kwargs)

    def _sanitize_parameters(self, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: expected no other arguments, received {sorted(kwargs)}.")
        return {}, {}, {}

    def preprocess(self, text: str) -> dict:
        if not isinstance(text, str):
            raise TypeError(f"{type(self).__name__}: expected a str or a list of str, received {type(text).__name__}.")
        return {"text": text, "sentences": self.predictor.analyzer.analyze([text])[0]}

    def _forward(self, model_inputs: dict) -> dict:
        sentences = model_inputs["sentences"]
        # The text gives eojeol features exactly as the predictor computes them.
        return {**model_inputs, "tags": self.predictor.tag(sentences, [model_inputs["text"]] * len(sentences))}

    def postprocess(self, model_outputs: dict) -> list[dict]:
        result = self.predictor.result(model_outputs["text"], model_outputs["sentences"], model_outputs["tags"])
        return token_classification_entities(result)


__all__ = ["KOREAN_NER_TASK", "KoreanNERPipeline"]
