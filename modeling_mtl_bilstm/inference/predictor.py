"""Named entities in raw Korean text: Kiwi morphemes -> the MTL Bi-LSTM's tags -> character-offset entities.

This module is the predictor's core: Kiwi analysis, chunking, batching, encoding, entities and offsets, in numpy and
Python; the checks of its inputs and the cutting of long sentences are in `predictor_inputs`, the tags and results of
texts in flight in `predictor_results`. The model itself is a backend with a `tag_batch` method (`tagging.TaggerBackend`): `torch_backend.TorchTagger`
(torch) or `onnx_predictor.ONNXBackend` (ONNX Runtime, for `ONNXKoreanNERPredictor`); this module imports neither
torch nor transformers, and the backends import the contract from `tagging`, not from here.
"""

import itertools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property

from .morphology import AnalysedBlock, KiwiMorphemeAnalyzer, Morpheme, eojeol_word_ids
from .predictor_inputs import (
    ENTITY_PREFIXES,
    OUTSIDE_TAG,
    check_iob2,
    check_sizes,
    checked_texts,
    chunk_bounds,
    reindexed_message,
    starts_word,
)
from .predictor_results import Document, SentenceTags, finished_results, text_result, token_classification_entities
from .tagging import DEFAULT_BATCH_SIZE, DEFAULT_MAX_LENGTH, BatchTags, TaggerBackend


# Batches of sentences tagged together, longest first: the unit of work of a call. Kiwi analyses the texts of a group
# (with all its worker threads), then the model tags it (with all of its threads), and the group's finished results
# come out. A group is large so that its batches, sorted by length, pad little; running Kiwi and the model side by
# side (Kiwi in a thread ahead of the model, or its lazy iterator) was slower on 2 cores, where each stage keeps both
# busy (benchmarks/README.md, "Serving").
PIPELINE_GROUP_BATCHES = 64
# Torch-only names of this module before the backends were split out, still importable from here.
_TORCH_BACKEND_NAMES = ("QUANTIZED_MODULES", "quantize_dynamic_int8")


def __getattr__(name: str):
    if name in _TORCH_BACKEND_NAMES:
        from . import torch_backend

        return getattr(torch_backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class KoreanNERPredictor:
    """
    Finds named entities in raw Korean text with a trained [`MTLBiLSTMForTokenClassification`].

    Texts are split into sentences and morphemes by Kiwi ([`KiwiMorphemeAnalyzer`]); sentences longer than
    `max_length` morphemes are tagged in consecutive chunks, cut between words where possible. Texts go
    through Kiwi and the model in groups of `PIPELINE_GROUP_BATCHES` batches of sentences, sorted by length so that
    batches pad little, and results come out as their groups finish. The model part is a backend:
    the torch model (this constructor) or ONNX Runtime (`from_pretrained(..., backend="onnx")`, which needs neither
    torch nor transformers).

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
        model,
        tokenizer,
        analyzer: KiwiMorphemeAnalyzer | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_length: int = DEFAULT_MAX_LENGTH,
        device=None,
        quantize: bool = False,
    ):
        from .torch_backend import TorchTagger

        check_sizes(batch_size, max_length)
        backend = TorchTagger(model, device=device, quantize=quantize)
        self.model, self.device, self.quantized = backend.model, backend.device, backend.quantized
        self._setup(backend, tokenizer, analyzer, batch_size, max_length)

    def _setup(
        self,
        backend: TaggerBackend,
        tokenizer,
        analyzer: KiwiMorphemeAnalyzer | None,
        batch_size: int,
        max_length: int,
    ):
        """What every backend shares: the tag names, the tokenizer, the sizes and the analyser."""
        check_sizes(batch_size, max_length)
        if "ner" not in backend.tasks:
            raise ValueError(f"model: expected a model with an NER head, received one for tasks {backend.tasks}.")
        check_iob2(backend.id2label["ner"])
        self.backend = backend
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = max_length
        self.ner_id2label = backend.id2label["ner"]
        self.pos_id2label = backend.id2label["pos"] if "pos" in backend.tasks else None
        if analyzer is not None:
            self.analyzer = analyzer

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        revision: str | None = None,
        quantize: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        device=None,
        max_length: int = DEFAULT_MAX_LENGTH,
        analyzer: KiwiMorphemeAnalyzer | None = None,
        backend: str = "torch",
        **hub_kwargs,
    ) -> "KoreanNERPredictor":
        """Loads the model and its tokenizer from a folder written by `save_pretrained` or a Hub repository
        (`revision`, and `cache_dir`, `token`, `local_files_only`... in `hub_kwargs`). Other arguments as in
        the class.

        `backend="onnx"` runs the model with ONNX Runtime on CPU instead, from the folder's `model.onnx`, or
        `model.int8.onnx` with `quantize=True`, written by `mtl-bilstm-ner export-onnx`; same output, and neither torch
        nor transformers is imported (the `serve` extra is enough for a local folder). `num_threads` in `hub_kwargs`
        then sets onnxruntime's intra-op threads."""
        if backend == "onnx":
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
        from ..modeling_mtl_bilstm import MTLBiLSTMForTokenClassification
        from ..tokenization_mtl_bilstm import MTLBiLSTMTokenizer

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
        return list(self.stream(checked_texts(inputs)))

    def stream(self, texts: Iterable[str]) -> Iterator[dict]:
        """The output dict of each text of an iterable, in order, lazily: texts are taken a group at a time and each
        result is yielded once all its sentences are tagged, so a stream of any length runs in bounded memory."""
        group_size = self.batch_size * PIPELINE_GROUP_BATCHES
        documents: list[Document] = []  # documents whose result is not yielded yet, in order
        waiting: list[tuple[Document, list[Morpheme]]] = []  # sentences not tagged yet, in order
        for block in self._analysed_blocks(texts, group_size):
            if not documents or documents[-1].complete:
                documents.append(Document(block.text))
            documents[-1].add(block)
            waiting += [(documents[-1], sentence) for sentence in block.sentences]
            if len(waiting) >= group_size:
                self._tag_waiting(waiting)
                waiting = []
                yield from finished_results(documents, self)
        self._tag_waiting(waiting)
        yield from finished_results(documents, self)

    def _analysed_blocks(self, texts: Iterable[str], group_size: int) -> Iterator[AnalysedBlock]:
        """The analysed blocks of the texts, `group_size` texts analysed at once: Kiwi finishes them before the
        caller tags any, so Kiwi's worker threads and the model's never compete for the cores."""
        texts = iter(texts)
        offset = 0
        while chunk := list(itertools.islice(texts, group_size)):
            try:
                yield from list(self.analyzer.iter_blocks(chunk))
            except TypeError as error:  # a text that is no str: name it by its index in the whole input
                raise TypeError(reindexed_message(str(error), offset)) from None
            offset += len(chunk)

    def _tag_waiting(self, waiting: list[tuple["Document", list[Morpheme]]]):
        """Tags sentences of documents, in order, and appends each sentence's tags to its document."""
        if not waiting:
            return
        tags = self.tag([sentence for _, sentence in waiting], [document.text for document, _ in waiting])
        for (document, _), sentence_tags in zip(waiting, tags):
            document.tags.append(sentence_tags)

    def tag(self, sentences: Sequence[Sequence[Morpheme]], texts: Sequence[str] | None = None) -> list[SentenceTags]:
        """The model's tags for analysed sentences; long ones are cut between words where possible. For a model with
        eojeol features, `texts` (the text whose offsets each sentence's morphemes hold) give each morpheme the
        eojeol index that Kiwi-analysed training data has: the whitespace-separated word of the text where the
        morpheme starts. Without them, a morpheme starts a new eojeol where text lies between it and the previous
        morpheme, which differs only where Kiwi makes one morpheme across a space (91- 92)."""
        word_starts = [[starts_word(sentence, i) for i in range(len(sentence))] for sentence in sentences]
        word_ids = None
        if self.tokenizer.eojeol_features:
            word_ids = [list(itertools.accumulate(int(start) for start in starts)) for starts in word_starts]
            if texts is not None:
                if len(texts) != len(sentences):
                    raise ValueError(f"texts: expected {len(sentences)} (one per sentence), received {len(texts)}.")
                word_ids = [eojeol_word_ids(text, sentence) for text, sentence in zip(texts, sentences)]
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
        return text_result(text, sentences, tags)

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
            for begin, end in chunk_bounds(starts, self.max_length)
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

    def _tag_batch(self, features: list[dict]) -> list[SentenceTags]:
        """Tags of sentences (or chunks of them) encoded by the tokenizer."""
        batch = self.tokenizer.pad(features, return_tensors="np")
        tags = self.backend.tag_batch(batch)
        lengths = batch["attention_mask"].sum(axis=1).tolist()
        ner_ids, ner_scores = tags.ner_ids.tolist(), tags.ner_scores.tolist()
        pos_ids = tags.pos_ids.tolist() if self.pos_id2label is not None else None
        return [
            SentenceTags(
                pos=[self.pos_id2label[i] for i in pos_ids[row][:length]] if pos_ids is not None else None,
                ner=[self.ner_id2label[i] for i in ner_ids[row][:length]],
                ner_scores=ner_scores[row][:length],
            )
            for row, length in enumerate(lengths)
        ]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.backend.describe()}, batch_size={self.batch_size}, "
            f"max_length={self.max_length})"
        )


class ONNXKoreanNERPredictor(KoreanNERPredictor):
    """
    [`KoreanNERPredictor`] whose model runs under ONNX Runtime (CPU): same arguments and output, but an
    [`ONNXRuntimeTagger`] (a folder's `model.onnx`, or `model.int8.onnx`) and the model's config instead of the
    torch model. Build one with `KoreanNERPredictor.from_pretrained(folder, backend="onnx")`; the files come from
    `mtl-bilstm-ner export-onnx`.

    Where the ONNX file outputs NER scores only (exported with `tasks=("ner",)`), tokens get Kiwi's POS tags, as
    with a model trained without the POS task.
    """

    def __init__(
        self,
        tagger,
        tokenizer,
        config,
        analyzer: KiwiMorphemeAnalyzer | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_length: int = DEFAULT_MAX_LENGTH,
    ):
        from .onnx_predictor import ONNXBackend

        self._setup(ONNXBackend(tagger, config), tokenizer, analyzer, batch_size, max_length)
        self.tagger = tagger
        self.device = "cpu"
        self.quantized = tagger.int8

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        revision: str | None = None,
        quantize: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        device=None,
        max_length: int = DEFAULT_MAX_LENGTH,
        analyzer: KiwiMorphemeAnalyzer | None = None,
        num_threads: int | None = None,
        **hub_kwargs,
    ) -> "ONNXKoreanNERPredictor":
        """Loads `model.onnx` (`model.int8.onnx` with `quantize=True`), the config and the tokenizer of a folder or
        Hub repository. `num_threads`: onnxruntime's intra-op threads (its default, one per core, where None)."""
        from ..tokenization_mtl_bilstm import MTLBiLSTMTokenizer
        from .onnx_backend import ONNXRuntimeTagger, resolve_model_file
        from .onnx_predictor import CONFIG_FILE

        if device is not None and str(device).split(":")[0] != "cpu":
            raise ValueError(f"device: expected 'cpu' (or None) with backend='onnx', received {device!r}.")
        tagger = ONNXRuntimeTagger.from_pretrained(
            pretrained_model_name_or_path, int8=quantize, revision=revision, num_threads=num_threads, **hub_kwargs
        )
        config_path = resolve_model_file(pretrained_model_name_or_path, CONFIG_FILE, revision=revision, **hub_kwargs)
        config = json.loads(config_path.read_text(encoding="utf-8"))
        tokenizer = MTLBiLSTMTokenizer.from_pretrained(pretrained_model_name_or_path, revision=revision, **hub_kwargs)
        return cls(tagger, tokenizer, config, analyzer=analyzer, batch_size=batch_size, max_length=max_length)


# Its name before it moved to `predictor_inputs`, still importable from here.
_chunk_bounds = chunk_bounds

__all__ = [
    "ENTITY_PREFIXES",
    "OUTSIDE_TAG",
    "PIPELINE_GROUP_BATCHES",
    "BatchTags",
    "KoreanNERPredictor",
    "ONNXKoreanNERPredictor",
    "SentenceTags",
    "TaggerBackend",
    "token_classification_entities",
]
