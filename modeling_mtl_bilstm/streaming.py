"""Tagging corpora that do not fit in memory: input readers (text lines, JSON lines, Parquet), resuming an interrupted
output, tagging in worker processes in input order, and tagging a `datasets.Dataset` with `map`.

`mtl-bilstm-ner predict` is built on these; `tag_dataset` is for corpora held as a `Dataset`. Nothing here imports
torch before a predictor is loaded, so that `backend="onnx"` runs without it.
"""

import gc
import json
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any

from .inference.predictor_inputs import checked_texts


# Input formats by file suffix; any other suffix reads as text lines.
INPUT_FORMATS = {".txt": "text", ".jsonl": "jsonl", ".parquet": "parquet"}
DEFAULT_TEXT_FIELD = "text"
# Blocks in flight per worker: one being tagged, one waiting, so that no worker idles while the main process writes.
BLOCKS_PER_WORKER = 2
# Texts per task of a pool's worker: enough that their sentences, sorted by length, fill the predictor's batches, few
# enough that the first results come early and the processes' last tasks end together.
TEXTS_PER_TASK = 512


class InputError(ValueError):
    """An input record cannot be read as a text; the message names the file, the line or row, and what was
    expected."""


def input_format(path: Path | None, requested: str | None = None) -> str:
    """The format to read `path` as: `requested` where given, else by suffix (`INPUT_FORMATS`), else text."""
    if requested is not None:
        return requested
    return "text" if path is None else INPUT_FORMATS.get(path.suffix.lower(), "text")


def read_texts(
    source: IO[bytes] | Path, name: str, file_format: str = "text", text_field: str = DEFAULT_TEXT_FIELD
) -> Iterator[str]:
    """The texts of an input, one at a time: the lines of a text file, the `text_field` of each line of a JSON lines
    file (both from a binary stream), or the `text_field` column of a Parquet file (a path, read in record
    batches). `name` names the input in errors."""
    if file_format == "text":
        return decoded_lines(source, name)
    if file_format == "jsonl":
        return _jsonl_texts(source, name, text_field)
    if file_format == "parquet":
        return _parquet_texts(Path(source), text_field)
    raise ValueError(f"file_format: expected one of {sorted(set(INPUT_FORMATS.values()))}, received {file_format!r}")


def count_texts(path: Path, file_format: str) -> int:
    """The number of texts in a file, for the progress bar: its lines, or its Parquet rows (from the metadata)."""
    if file_format == "parquet":
        return _parquet_file(path).metadata.num_rows
    with open(path, "rb") as file:
        return sum(1 for _ in file)


def decoded_lines(source: IO[bytes], name: str) -> Iterator[str]:
    """The lines of a binary stream without their line ending, decoded one by one so that a bad byte is reported at
    its line."""
    for number, raw in enumerate(source, start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # UTF-8 byte order mark
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError(
                f"{name}, line {number}: expected UTF-8 text, found byte {raw[error.start]:#04x}: {raw!r}"
            ) from None
        yield line.removesuffix("\n").removesuffix("\r")


def _jsonl_texts(source: IO[bytes], name: str, text_field: str) -> Iterator[str]:
    for number, line in enumerate(decoded_lines(source, name), start=1):
        expected = f"{name}, line {number}: expected a JSON object with a string field {text_field!r} (--text_field)"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(
                f"{expected}, received invalid JSON ({error.msg}, column {error.colno}): {line!r}"
            ) from None
        if not isinstance(record, dict):
            raise InputError(f"{expected}, received a JSON {type(record).__name__}: {line!r}")
        if text_field not in record:
            raise InputError(f"{expected}, received an object with the fields {sorted(record)}")
        text = record[text_field]
        if not isinstance(text, str):
            raise InputError(f"{expected}, received {text_field!r} = {text!r}")
        yield text


def _parquet_file(path: Path):
    try:
        import pyarrow.parquet as pq
    except ImportError as error:
        raise ImportError(f"{path}: reading Parquet needs pyarrow: pip install pyarrow") from error
    return pq.ParquetFile(path)


def _parquet_texts(path: Path, text_field: str, rows_per_batch: int = 1024) -> Iterator[str]:
    import pyarrow as pa

    file = _parquet_file(path)
    schema = file.schema_arrow
    if text_field not in schema.names:
        raise InputError(
            f"{path}: expected a column {text_field!r} (--text_field), received the columns {schema.names}"
        )
    column_type = schema.field(text_field).type
    if not (pa.types.is_string(column_type) or pa.types.is_large_string(column_type)):
        raise InputError(f"{path}: expected the column {text_field!r} to hold strings, received type {column_type}")
    row = 0
    for batch in file.iter_batches(batch_size=rows_per_batch, columns=[text_field]):
        for text in batch.column(0).to_pylist():
            row += 1
            if text is None:
                raise InputError(f"{path}, row {row}: expected a string in the column {text_field!r}, received null")
            yield text


def resume_output(path: Path) -> int:
    """Prepares `path`, an output of one JSON line per input, to be continued: truncates a half-written last line
    and returns the number of complete lines, i.e. of inputs already done. A missing file has none."""
    if not path.exists():
        return 0
    lines = complete_end = position = 0
    with open(path, "r+b") as file:
        while chunk := file.read(1 << 20):
            lines += chunk.count(b"\n")
            last_newline = chunk.rfind(b"\n")
            if last_newline >= 0:
                complete_end = position + last_newline + 1
            position += len(chunk)
        if complete_end < position:
            file.truncate(complete_end)
    return lines


def skip_texts(texts: Iterator[str], count: int, name: str) -> Iterator[str]:
    """`texts` after the first `count`, which must exist (an output longer than its input is not this input's)."""
    skipped = sum(1 for _ in zip(range(count), texts))
    if skipped < count:
        raise InputError(
            f"{name}: expected at least {count} inputs (the lines already in the output), found {skipped}"
        )
    return texts


def blocks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    """Consecutive lists of `size` texts (the last one shorter)."""
    block = []
    for text in texts:
        block.append(text)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


def load_predictor(model: str | os.PathLike, num_threads: int | None = None, **predictor_kwargs):
    """`KoreanNERPredictor.from_pretrained(model, **predictor_kwargs)` running on `num_threads` threads (all of
    them where None): torch's intra-op threads, or onnxruntime's with `backend="onnx"`, and as many Kiwi worker
    threads, so that processes sharing the cores do not oversubscribe them."""
    from .inference.predictor import KoreanNERPredictor

    if num_threads is not None and predictor_kwargs.get("analyzer") is None:
        from .inference.morphology import KiwiMorphemeAnalyzer, load_kiwi

        predictor_kwargs["analyzer"] = KiwiMorphemeAnalyzer(load_kiwi(num_workers=num_threads))

    if predictor_kwargs.get("backend", "torch") == "onnx":
        return KoreanNERPredictor.from_pretrained(model, num_threads=num_threads, **predictor_kwargs)
    if num_threads is not None:
        import torch

        torch.set_num_threads(num_threads)
    return KoreanNERPredictor.from_pretrained(model, **predictor_kwargs)


def threads_per_process(processes: int) -> int:
    """The cores available to this process shared among `processes`, at least one each: more would make the
    processes' thread pools compete for the same cores."""
    return max(1, available_cores() // processes)


def available_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0))


def json_lines(results: Iterable[dict]) -> str:
    """Predictor results as JSON lines (UTF-8 characters unescaped), one string to write at once."""
    return "".join(json.dumps(result, ensure_ascii=False) + "\n" for result in results)


def tag_blocks(
    text_blocks: Iterable[list[str]], model: str | os.PathLike, num_workers: int = 1, **predictor_kwargs
) -> Iterator[tuple[int, str]]:
    """`(number of texts, their results as JSON lines)` for each block of texts, in input order: tagged in this
    process, or with `num_workers > 1` in a [`KoreanNERPredictorPool`] of that many processes, which also write the
    JSON."""
    if num_workers == 1:
        predictor = load_predictor(model, **predictor_kwargs)
        for block in text_blocks:
            yield len(block), json_lines(predictor(block))
        return
    with KoreanNERPredictorPool(model, num_workers, **predictor_kwargs) as pool:
        yield from pool.map_blocks(_json_lines_in_worker, text_blocks)


class KoreanNERPredictorPool:
    """
    A [`KoreanNERPredictor`] in `num_workers` processes, each with its own predictor on its share of the cores
    (`threads_per_process`: Kiwi's worker threads and the model's intra-op threads alike). On a few cores this is
    faster than one predictor on all of them, whose Kiwi and model take turns: here one process's Kiwi analyses
    while another's model tags (benchmarks/serving_speed.py measures both).

    Same calls and output as the predictor: `pool(text)` gives one dict, `pool(texts)` a list of them and
    `pool.stream(texts)` yields them lazily, in input order. Texts go to the processes in tasks of
    `texts_per_task`, at most `BLOCKS_PER_WORKER` tasks per process in flight, so a stream of any length runs in
    bounded memory. The processes are spawned, not forked (a fork of a process whose thread pools are running can
    deadlock), and have loaded the model when the constructor returns; `close()`, or leaving a `with` block, ends
    them.

    Args:
        model (`str` or `os.PathLike`): a saved model folder or Hub repository id.
        num_workers (`int`, *optional*): processes; defaults to one per core available.
        texts_per_task (`int`, defaults to `TEXTS_PER_TASK`): texts sent to a process at once.
        predictor_kwargs: the other arguments of `KoreanNERPredictor.from_pretrained` (`backend="onnx"`,
            `quantize`, `batch_size`...).

    Example:

    ```python
    >>> from modeling_mtl_bilstm.streaming import KoreanNERPredictorPool
    >>> with KoreanNERPredictorPool("path/to/model", backend="onnx", quantize=True) as pool:
    ...     results = pool(["세종대왕은 1443년에 훈민정음을 창제했다.", "어제 부산에 갔어요."])
    >>> results[0]["entities"][0]["text"]
    '세종대왕'
    ```
    """

    def __init__(
        self,
        model: str | os.PathLike,
        num_workers: int | None = None,
        texts_per_task: int | None = None,
        **predictor_kwargs,
    ):
        self.num_workers = available_cores() if num_workers is None else num_workers
        self.texts_per_task = TEXTS_PER_TASK if texts_per_task is None else texts_per_task
        for name, value in (("num_workers", self.num_workers), ("texts_per_task", self.texts_per_task)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: expected a positive int, received {value!r}.")
        context = get_context("spawn")
        self._executor = ProcessPoolExecutor(
            self.num_workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(
                str(model),
                threads_per_process(self.num_workers),
                predictor_kwargs,
                context.Barrier(self.num_workers),
            ),
        )
        try:  # the workers wait for each other after loading, so this returns once all have loaded (or failed to)
            for future in [self._executor.submit(_worker_predictor_description) for _ in range(self.num_workers)]:
                self.description = future.result()
        except BaseException:
            self.close()
            raise

    def __call__(self, inputs: str | list[str]) -> dict | list[dict]:
        """Entities and tokens of one text (a dict) or of each text of a list (a list of dicts)."""
        if isinstance(inputs, str):
            return self([inputs])[0]
        return list(self.stream(checked_texts(inputs)))

    def stream(self, texts: Iterable[str]) -> Iterator[dict]:
        """The output dict of each text of an iterable, in order, lazily."""
        for _, results in self.map_blocks(_predict_in_worker, blocks(_str_texts(texts), self.texts_per_task)):
            yield from results

    def map_blocks(self, function, text_blocks: Iterable[list[str]]) -> Iterator[tuple[int, Any]]:
        """`(len(block), function(block))` for each block of texts, in order, `function` running in a worker process
        (a module-level function of the texts, which can call the worker's predictor through `worker_predictor()`)."""
        pending = deque()
        try:
            for block in text_blocks:
                pending.append((len(block), self._executor.submit(function, block)))
                if len(pending) >= BLOCKS_PER_WORKER * self.num_workers:
                    count, future = pending.popleft()
                    yield count, future.result()
            while pending:
                count, future = pending.popleft()
                yield count, future.result()
        finally:  # a consumer that stops early leaves no work running
            for _, future in pending:
                future.cancel()

    def close(self) -> None:
        """Ends the worker processes; tasks not started are cancelled."""
        self._executor.shutdown(cancel_futures=True)

    def __enter__(self) -> "KoreanNERPredictorPool":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_workers={self.num_workers}, {self.description})"


def _str_texts(texts: Iterable[str]) -> Iterator[str]:
    """The texts, checked as they go by: a text that is no str is named by its index, as the predictor names it."""
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{index}]: expected a str, received {type(text).__name__}.")
        yield text


# In each worker process of a pool: its predictor, or the error that loading it raised (raised again by each task, so
# that the caller sees it rather than a broken pool).
_worker_predictor = None
_worker_error: BaseException | None = None


def _start_worker(model: str, num_threads: int, predictor_kwargs: dict, loaded) -> None:
    global _worker_predictor, _worker_error
    try:
        _worker_predictor = load_predictor(model, num_threads=num_threads, **predictor_kwargs)
    except Exception as error:
        _worker_error = error
    # The modules and the model loaded so far live as long as the process: kept out of the garbage collector's full
    # passes, which would otherwise walk all of them again and again as tagging allocates.
    gc.freeze()
    loaded.wait()


def worker_predictor():
    """The predictor of the worker process this runs in (see [`KoreanNERPredictorPool.map_blocks`])."""
    if _worker_error is not None:
        raise _worker_error
    if _worker_predictor is None:
        raise RuntimeError("worker_predictor: expected to run in a KoreanNERPredictorPool worker process.")
    return _worker_predictor


def _worker_predictor_description() -> str:
    return repr(worker_predictor())


def _predict_in_worker(texts: list[str]) -> list[dict]:
    return worker_predictor()(texts)


def _json_lines_in_worker(texts: list[str]) -> str:
    return json_lines(worker_predictor()(texts))


class DatasetTagger:
    """
    A `Dataset.map(batched=True)` function that adds the predictor's `entities` and `tokens` columns (see
    [`KoreanNERPredictor`]) for the texts of `text_column`. The predictor is loaded on the first batch, in the
    process that tags it, and is not pickled: with `num_proc=N`, each of the N processes loads its own.

    Args:
        model (`str` or `os.PathLike`): a saved model folder or Hub repository id.
        text_column (`str`, defaults to `"text"`): the column of raw texts.
        num_threads (`int`, *optional*): threads of each process's predictor (see `load_predictor`).
        predictor_kwargs: the other arguments of `KoreanNERPredictor.from_pretrained` (`backend`, `quantize`...).
    """

    def __init__(
        self, model: str | os.PathLike, text_column: str = DEFAULT_TEXT_FIELD, num_threads: int | None = None, **kwargs
    ):
        self.model = str(model)
        self.text_column = text_column
        self.num_threads = num_threads
        self.predictor_kwargs = kwargs
        self._predictor = None

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        if self.text_column not in batch:
            raise KeyError(f"text_column: expected one of the columns {sorted(batch)}, received {self.text_column!r}")
        if self._predictor is None:
            self._predictor = load_predictor(self.model, num_threads=self.num_threads, **self.predictor_kwargs)
        results = self._predictor(batch[self.text_column])
        return {"entities": [r["entities"] for r in results], "tokens": [r["tokens"] for r in results]}

    def __getstate__(self) -> dict[str, Any]:
        # Sent to map's processes (and hashed for the cache fingerprint) without the loaded predictor.
        return {**self.__dict__, "_predictor": None}

    @staticmethod
    def features():
        """The `datasets.Features` of the two columns it adds, declared so that batches without any entity have
        the same column types as the others."""
        from datasets import Features, List, Value

        span = {"start": Value("int32"), "end": Value("int32")}
        entity = {"text": Value("string"), "type": Value("string"), **span, "score": Value("float32")}
        token = {"form": Value("string"), **span, "pos": Value("string"), "ner": Value("string")}
        return Features({"entities": List(entity), "tokens": List({**token, "kiwi_tag": Value("string")})})


def tag_dataset(
    dataset,
    model: str | os.PathLike,
    text_column: str = DEFAULT_TEXT_FIELD,
    batch_size: int = 1000,
    num_proc: int | None = None,
    **predictor_kwargs,
):
    """
    The `datasets.Dataset` with the predictor's `entities` and `tokens` columns for the raw texts of `text_column`,
    tagged with `dataset.map(DatasetTagger(...), batched=True, num_proc=num_proc)`.

    Args:
        dataset (`datasets.Dataset`): the corpus; its columns are kept.
        model (`str` or `os.PathLike`): a saved model folder or Hub repository id.
        text_column (`str`, defaults to `"text"`): the column of raw texts.
        batch_size (`int`, defaults to 1000): texts per `map` call (the predictor batches their sentences itself).
        num_proc (`int`, *optional*): processes, each loading its own predictor on its share of the cores.
        predictor_kwargs: the other arguments of `KoreanNERPredictor.from_pretrained` (`backend="onnx"`,
            `quantize`...).

    Example:

    ```python
    >>> from datasets import Dataset
    >>> from modeling_mtl_bilstm.streaming import tag_dataset
    >>> corpus = Dataset.from_dict({"text": ["세종대왕은 1443년에 훈민정음을 창제했다.", "어제 부산에 갔어요."]})
    >>> tagged = tag_dataset(corpus, "path/to/model", num_proc=2)
    >>> tagged[0]["entities"][0]["text"]
    '세종대왕'
    ```
    """
    if text_column not in dataset.column_names:
        raise KeyError(f"text_column: expected one of the columns {dataset.column_names}, received {text_column!r}")
    num_threads = threads_per_process(num_proc) if num_proc and num_proc > 1 else None
    tagger = DatasetTagger(model, text_column=text_column, num_threads=num_threads, **predictor_kwargs)
    features = dataset.features.copy()
    features.update(DatasetTagger.features())
    return dataset.map(tagger, batched=True, batch_size=batch_size, num_proc=num_proc, features=features)


__all__ = [
    "DatasetTagger",
    "InputError",
    "KoreanNERPredictorPool",
    "count_texts",
    "input_format",
    "read_texts",
    "resume_output",
    "tag_blocks",
    "tag_dataset",
    "worker_predictor",
]
