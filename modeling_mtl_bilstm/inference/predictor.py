"""Named entities in raw Korean text: Kiwi morphemes -> the MTL Bi-LSTM's tags -> character-offset entities."""

import itertools
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import torch
from torch import nn

from ..modeling_mtl_bilstm import MTLBiLSTMForTokenClassification
from ..tokenization_mtl_bilstm import MTLBiLSTMTokenizer
from .morphology import KiwiMorphemeAnalyzer, Morpheme


DEFAULT_BATCH_SIZE = 64
DEFAULT_MAX_LENGTH = 256
# The modules `quantize_dynamic_int8` gives int8 weights.
QUANTIZED_MODULES = {nn.LSTM, nn.Linear}
OUTSIDE_TAG = "O"
ENTITY_PREFIXES = ("B", "I")


@dataclass
class SentenceTags:
    """The model's tags for one sentence: POS tags (`None` for a model without a POS head), NER tags, and
    the model's probability of each NER tag."""

    pos: list[str] | None
    ner: list[str]
    ner_scores: list[float]


class KoreanNERPredictor:
    """
    Finds named entities in raw Korean text with a trained [`MTLBiLSTMForTokenClassification`].

    Texts are split into sentences and morphemes by Kiwi ([`KiwiMorphemeAnalyzer`]); sentences longer than
    `max_length` morphemes are tagged in consecutive chunks, cut between words where possible; all sentences
    of a call are tagged in batches of similar length.

    A call on a string returns one dict, on a list of strings a list of them:

    ```python
    {
        "text": "세종대왕은 1443년에 훈민정음을 창제했다.",
        "entities": [{"text": "세종대왕", "type": "PS", "start": 0, "end": 4, "score": 0.98}, ...],
        "tokens": [{"form": "세종", "start": 0, "end": 2, "pos": "NNP", "ner": "B-PS", "kiwi_tag": "NNP"}, ...],
    }
    ```

    * `start`/`end` are character offsets into the input string, and an entity's `text` is always
      `input[start:end]`: it runs from the start of its first morpheme to the end of its last, so it covers
      whole contractions (했 for 하 + 었). Entities are read from the IOB2 tags as in
      `aggregation_strategy="simple"`: an `I-X` continuing an `X` entity extends it, any other `B-X` or
      `I-X` opens one.
    * `score` is the mean, over the entity's morphemes, of the model's probability of the NER tag it
      predicted there: the posterior marginal of the tag under the CRF (forward-backward) where the NER head
      has one, the softmax of the tag scores otherwise.
    * A token's `pos` is the model's POS tag; a model trained without the POS task gives Kiwi's tag mapped
      to the Sejong tag set instead. `kiwi_tag` is Kiwi's own tag.

    Args:
        model ([`MTLBiLSTMForTokenClassification`]): a model with an NER head whose tags are IOB2.
        tokenizer ([`MTLBiLSTMTokenizer`]): the model's tokenizer.
        analyzer ([`KiwiMorphemeAnalyzer`], *optional*): defaults to one with a new Kiwi, created on the
            first call on text (so `predict_morphemes` works without kiwipiepy).
        batch_size (`int`, defaults to 64): sentences per forward pass.
        max_length (`int`, defaults to 256): morphemes per forward pass; longer sentences are chunked.
        device (`str` or `torch.device`, *optional*): defaults to CUDA when available (and not quantizing),
            else CPU.
        quantize (`bool`, defaults to `False`): dynamic int8 quantization of the LSTMs and linear layers
            (CPU only), with `torch.ao.quantization.quantize_dynamic`: smaller weights; its speed against fp32,
            whose LSTMs run oneDNN's fused kernel, is in `benchmarks/inference_speed.py`'s results, and
            `benchmarks/int8_headroom.py` shows why the gain is small.
    """

    def __init__(
        self,
        model: MTLBiLSTMForTokenClassification,
        tokenizer: MTLBiLSTMTokenizer,
        analyzer: KiwiMorphemeAnalyzer | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_length: int = DEFAULT_MAX_LENGTH,
        device: str | torch.device | None = None,
        quantize: bool = False,
    ):
        for name, value in (("batch_size", batch_size), ("max_length", max_length)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: expected a positive int, received {value!r}.")
        if "ner" not in model.config.tasks:
            raise ValueError(f"model: expected a model with an NER head, received one for tasks {model.config.tasks}.")
        _check_iob2(model.config.ner_id2label)
        if device is None:
            device = "cuda" if torch.cuda.is_available() and not quantize else "cpu"
        device = torch.device(device)
        if quantize and device.type != "cpu":
            raise ValueError(f"quantize=True: expected device 'cpu' (int8 kernels are CPU-only), received {device}.")

        model = model.to(device).eval()
        self.model = quantize_dynamic_int8(model) if quantize else model
        self.tokenizer = tokenizer
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self.quantized = quantize
        self.ner_id2label = model.config.ner_id2label
        self.pos_id2label = model.config.pos_id2label if "pos" in model.config.tasks else None
        if analyzer is not None:
            self.analyzer = analyzer

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        revision: str | None = None,
        quantize: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        device: str | torch.device | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
        analyzer: KiwiMorphemeAnalyzer | None = None,
        backend: str = "torch",
        **hub_kwargs,
    ) -> "KoreanNERPredictor":
        """Loads the model and its tokenizer from a folder written by `save_pretrained` or a Hub repository
        (`revision`, and `cache_dir`, `token`, `local_files_only`... in `hub_kwargs`). Other arguments as in
        the class.

        `backend="onnx"` runs the model with ONNX Runtime on CPU instead (the `onnx` extra), from the folder's
        `model.onnx`, or `model.int8.onnx` with `quantize=True`, written by `mtl-bilstm-ner export-onnx`; same
        output. `num_threads` in `hub_kwargs` then sets onnxruntime's intra-op threads."""
        if backend == "onnx":
            from .onnx_predictor import ONNXKoreanNERPredictor

            return ONNXKoreanNERPredictor.from_pretrained(
                pretrained_model_name_or_path,
                revision=revision,
                quantize=quantize,
                batch_size=batch_size,
                device=device,
                max_length=max_length,
                analyzer=analyzer,
                **hub_kwargs,
            )
        if backend != "torch":
            raise ValueError(f"backend: expected 'torch' or 'onnx', received {backend!r}.")
        model = MTLBiLSTMForTokenClassification.from_pretrained(
            pretrained_model_name_or_path, revision=revision, **hub_kwargs
        )
        tokenizer = MTLBiLSTMTokenizer.from_pretrained(pretrained_model_name_or_path, revision=revision, **hub_kwargs)
        return cls(
            model,
            tokenizer,
            analyzer=analyzer,
            batch_size=batch_size,
            max_length=max_length,
            device=device,
            quantize=quantize,
        )

    @cached_property
    def analyzer(self) -> KiwiMorphemeAnalyzer:
        return KiwiMorphemeAnalyzer()

    def __call__(self, inputs: str | Sequence[str]) -> dict | list[dict]:
        """Entities and tokens of one text (a dict) or of each text of a list (a list of dicts)."""
        if isinstance(inputs, str):
            return self([inputs])[0]
        texts = _checked_texts(inputs)
        documents = self.analyzer.analyze(texts)
        sentences = [sentence for document in documents for sentence in document]
        sentence_texts = [text for text, document in zip(texts, documents) for _ in document]
        tags = iter(self.tag(sentences, sentence_texts))
        return [
            self.result(text, document, [next(tags) for _ in document]) for text, document in zip(texts, documents)
        ]

    def tag(self, sentences: Sequence[Sequence[Morpheme]], texts: Sequence[str] | None = None) -> list[SentenceTags]:
        """The model's tags for analysed sentences; long ones are cut between words where possible. For a model with
        eojeol features, `texts` (the text whose offsets each sentence's morphemes hold) give each morpheme the
        eojeol index that Kiwi-analysed training data has: the whitespace-separated word of the text where the
        morpheme starts. Without them, a morpheme starts a new eojeol where text lies between it and the previous
        morpheme, which differs only where Kiwi makes one morpheme across a space (91- 92)."""
        word_starts = [[_starts_word(sentence, i) for i in range(len(sentence))] for sentence in sentences]
        word_ids = None
        if self.tokenizer.eojeol_features:
            word_ids = [list(itertools.accumulate(int(start) for start in starts)) for starts in word_starts]
            if texts is not None:
                if len(texts) != len(sentences):
                    raise ValueError(f"texts: expected {len(sentences)} (one per sentence), received {len(texts)}.")
                word_ids = [_eojeol_word_ids(text, sentence) for text, sentence in zip(texts, sentences)]
        return self._tag([[morpheme.form for morpheme in sentence] for sentence in sentences], word_starts, word_ids)

    def predict_morphemes(
        self, sentences: Sequence[Sequence[str]], word_ids: Sequence[Sequence[int]] | None = None
    ) -> list[tuple[list[str] | None, list[str]]]:
        """Model-only tagging of pre-split morphemes (e.g. a corpus): `(pos_tags, ner_tags)` per sentence,
        `pos_tags` being `None` for a model without a POS head. `word_ids` (a corpus's eojeol index of each
        morpheme, -1 where unknown) feed the eojeol features of a model that has them; without them the eojeol
        positions are unknown. Sentences longer than `max_length` are tagged in chunks of `max_length` morphemes."""
        for index, sentence in enumerate(sentences):
            if isinstance(sentence, str):
                raise TypeError(f"sentences[{index}]: expected a list of morphemes, received a str (split it first).")
        tags = self._tag([list(sentence) for sentence in sentences], [[False] * len(s) for s in sentences], word_ids)
        return [(sentence_tags.pos, sentence_tags.ner) for sentence_tags in tags]

    def result(self, text: str, sentences: Sequence[Sequence[Morpheme]], tags: Sequence[SentenceTags]) -> dict:
        """The output dict of one text (see the class docstring) from its sentences and their tags."""
        entities, tokens = [], []
        for sentence, sentence_tags in zip(sentences, tags):
            pos_tags = sentence_tags.pos if sentence_tags.pos is not None else [m.tag for m in sentence]
            for morpheme, pos_tag, ner_tag in zip(sentence, pos_tags, sentence_tags.ner):
                tokens.append(
                    {
                        "form": morpheme.form,
                        "start": morpheme.start,
                        "end": morpheme.end,
                        "pos": pos_tag,
                        "ner": ner_tag,
                        "kiwi_tag": morpheme.kiwi_tag,
                    }
                )
            for entity_type, first, last in _entity_spans(sentence_tags.ner):
                start = min(morpheme.start for morpheme in sentence[first:last])
                end = max(morpheme.end for morpheme in sentence[first:last])
                if end > start:  # a span of zero-width morphemes only has no text to show
                    score = sum(sentence_tags.ner_scores[first:last]) / (last - first)
                    entities.append(
                        {"text": text[start:end], "type": entity_type, "start": start, "end": end, "score": score}
                    )
        return {"text": text, "entities": entities, "tokens": tokens}

    def _tag(
        self,
        sentences: list[list[str]],
        word_starts: list[list[bool]],
        word_ids: Sequence[Sequence[int]] | None = None,
    ) -> list[SentenceTags]:
        # Whole sentences are encoded, then cut: a chunk's features (gazetteer matches, eojeol positions) are those
        # of its sentence, as in training.
        encoded = [
            self.tokenizer.encode(sentence, word_ids=None if word_ids is None else word_ids[index])
            if sentence
            else None
            for index, sentence in enumerate(sentences)
        ]
        chunks = [
            (index, begin, end)
            for index, starts in enumerate(word_starts)
            for begin, end in _chunk_bounds(starts, self.max_length)
        ]
        # Longest first: batches of similar lengths waste little on padding, and a memory problem shows at once.
        chunks.sort(key=lambda chunk: chunk[2] - chunk[1], reverse=True)
        chunk_tags = {}
        for batch_start in range(0, len(chunks), self.batch_size):
            batch = chunks[batch_start : batch_start + self.batch_size]
            tags = self._tag_batch(
                [{name: values[begin:end] for name, values in encoded[index].items()} for index, begin, end in batch]
            )
            chunk_tags.update(zip(batch, tags))

        results = [SentenceTags(pos=[] if self.pos_id2label else None, ner=[], ner_scores=[]) for _ in sentences]
        for chunk in sorted(chunk_tags):  # by sentence, then position
            result, tags = results[chunk[0]], chunk_tags[chunk]
            if result.pos is not None:
                result.pos.extend(tags.pos)
            result.ner.extend(tags.ner)
            result.ner_scores.extend(tags.ner_scores)
        return results

    @torch.inference_mode()
    def _tag_batch(self, features: list[dict]) -> list[SentenceTags]:
        """Tags of sentences (or chunks of them) encoded by the tokenizer."""
        inputs = self.model.model_inputs(self.tokenizer.pad(features))
        output = self.model(**inputs, return_dict=True)
        mask = inputs["attention_mask"].bool()

        ner_ids = self.model.decode_logits("ner", output.ner_logits, mask)
        probabilities = self._ner_probabilities(output.ner_logits, mask)
        ner_scores = probabilities.gather(2, ner_ids.clamp(min=0).unsqueeze(2)).squeeze(2)
        pos_ids = self.model.decode_logits("pos", output.pos_logits, mask) if self.pos_id2label else None

        lengths = mask.sum(dim=1).tolist()
        ner_ids, ner_scores = ner_ids.tolist(), ner_scores.tolist()
        pos_ids = pos_ids.tolist() if pos_ids is not None else None
        return [
            SentenceTags(
                pos=[self.pos_id2label[i] for i in pos_ids[row][:length]] if pos_ids is not None else None,
                ner=[self.ner_id2label[i] for i in ner_ids[row][:length]],
                ner_scores=ner_scores[row][:length],
            )
            for row, length in enumerate(lengths)
        ]

    def _ner_probabilities(self, logits: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        """(batch, seq_len, num_tags) probability of each NER tag at each position: the CRF's posterior marginals
        under the constraints that decoding applies (so a decoded tag's score is its probability among the paths
        the decoder may output), or the softmax of a softmax head."""
        crf = self.model.heads["ner"].crf
        if crf is None:
            return logits.float().softmax(dim=-1)
        # In float64: the forward-backward sums over whole sentences, and scores must not depend on the batch.
        return crf.marginals(logits.double(), mask, constraints=self.model.decoding_constraints("ner")).float()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self.model.config.name_or_path!r}, device={str(self.device)!r}, "
            f"quantized={self.quantized}, batch_size={self.batch_size}, max_length={self.max_length})"
        )


def quantize_dynamic_int8(model: nn.Module) -> nn.Module:
    """A copy of `model` with int8 weights in its LSTMs and linear layers (activations quantized on the fly).

    `torch.ao.quantization.quantize_dynamic` is deprecated in favour of torchao, whose `quantize_` converts
    linear layers only; the LSTMs, where this model spends its time, still need torch.ao. It supports the
    packed sequences of the model's LSTMs.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning
        )
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor.*deprecated", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(model, QUANTIZED_MODULES, dtype=torch.qint8)


def _checked_texts(inputs) -> list[str]:
    if not isinstance(inputs, Sequence):
        raise TypeError(f"inputs: expected a str or a list of str, received {type(inputs).__name__}.")
    for index, text in enumerate(inputs):
        if not isinstance(text, str):
            raise TypeError(f"inputs[{index}]: expected a str, received {type(text).__name__}.")
    return list(inputs)


def _check_iob2(id2label: dict[int, str]):
    for label in id2label.values():
        prefix, _, entity_type = label.partition("-")
        if label != OUTSIDE_TAG and (prefix not in ENTITY_PREFIXES or not entity_type):
            raise ValueError(
                f"config.ner_id2label: expected IOB2 tags ('O', 'B-<type>', 'I-<type>'), received {label!r}."
            )


def _eojeol_word_ids(text: str, sentence: Sequence[Morpheme]) -> list[int]:
    """The eojeol index of each morpheme of a sentence of `text`, as the corpus builder gives Kiwi-analysed training
    text (`analyzer="kiwi"`): the same function computes both."""
    from ..data_scripts.korean_ner import project_entities  # imports `datasets`: only for models that need it

    return project_entities(text, (), sentence).word_ids


def _starts_word(sentence: Sequence[Morpheme], index: int) -> bool:
    """Whether a morpheme begins a new word: text lies between it and the previous morpheme."""
    return index > 0 and sentence[index].start > sentence[index - 1].end


def _chunk_bounds(word_starts: Sequence[bool], max_length: int) -> list[tuple[int, int]]:
    """Consecutive `[begin, end)` chunks of at most `max_length` morphemes covering a sentence (none for an
    empty one), each cut at the last word start of its second half, or at `max_length` where it has none."""
    bounds, begin, length = [], 0, len(word_starts)
    while length - begin > max_length:
        limit = begin + max_length
        end = next((i for i in range(limit, limit - max_length // 2, -1) if word_starts[i]), limit)
        bounds.append((begin, end))
        begin = end
    if length > begin:
        bounds.append((begin, length))
    return bounds


def _entity_spans(ner_tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """`(type, first, last)` morpheme ranges of the entities of an IOB2 tag sequence, read as the metric scores them
    (strict IOB2): `B-X` opens an entity, `I-X` continues an open `X` entity, and an `I-X` that continues none
    opens nothing, so a served entity is always a scored one. Constrained decoding outputs no such stray tag."""
    spans = []
    open_entity = False
    for index, tag in enumerate(ner_tags):
        prefix, _, entity_type = tag.partition("-")
        if prefix == "I" and open_entity and spans[-1][0] == entity_type:
            spans[-1] = (entity_type, spans[-1][1], index + 1)
        elif prefix == "B":
            spans.append((entity_type, index, index + 1))
            open_entity = True
        else:
            open_entity = False
    return spans


__all__ = ["QUANTIZED_MODULES", "KoreanNERPredictor", "SentenceTags", "quantize_dynamic_int8"]
