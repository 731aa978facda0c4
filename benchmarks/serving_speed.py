#!/usr/bin/env python
"""End-to-end speed on raw text: the predictor, and three other ways to run Kiwi and the model, side by side.

    python benchmarks/serving_speed.py --record
    python benchmarks/serving_speed.py --max_sentences 300 --repeats 1   # smoke

The KLUE-NER dev sentences (../shared/data/klue-ner) are tagged as a list at the predictor's default batch size,
with --threads intra-op threads for torch and onnxruntime and Kiwi's default workers (one per core), by:

* `predictor`: `KoreanNERPredictor.__call__`: Kiwi analyses a group of texts with all its worker threads, then the
  model tags it with all of its threads, group after group;
* `threaded`: the same groups, with Kiwi in a thread of its own running up to 1,024 blocks ahead of the model, so
  that Kiwi's analysis of the next texts overlaps the model's tagging;
* `kiwi_iterator`: the same, without the thread: the model's loop pulls Kiwi's lazy results itself, so only Kiwi's
  own worker threads run ahead of it;
* `sequential`: the stages one after the other over the whole call, as the predictor ran them before: Kiwi analyses
  every text, then the model tags every sentence, then the results are built;
* `pool`: a `KoreanNERPredictorPool` of --threads processes, each a predictor with one thread for Kiwi and one for
  the model, loaded from the same model saved to a folder, so that one process's Kiwi runs while another's model
  tags. Its agreement with the predictor (the share of texts with the same entity spans and types) is recorded:
  onnxruntime's int8 kernels round differently with one thread than with two.

Each for torch fp32 and ONNX Runtime int8 (and fp32), taking turns within each repeat; Kiwi's analysis alone is
timed too. Figures are sentences per second, the median over --repeats. The model is --model_dir's, or one of
examples/train.py's default sizes with random weights (speed depends on the sizes only). `--record` writes the
result under "end_to_end" in benchmarks/results/serving.json.
"""

import argparse
import functools
import queue
import statistics
import sys
import tempfile
import threading
import time
from unittest import mock

from serving_common import add_serving_arguments, default_size_model, model_description, read_klue_sentences, report

from modeling_mtl_bilstm import KiwiMorphemeAnalyzer, KoreanNERPredictor, KoreanNERPredictorPool


def sequential(predictor: KoreanNERPredictor, texts: list[str]) -> list[dict]:
    """The predictor's stages one after the other: all of Kiwi, then all of the model, then the results."""
    documents = predictor.analyzer.analyze(texts)
    sentences = [sentence for document in documents for sentence in document]
    sentence_texts = [text for text, document in zip(texts, documents) for _ in document]
    tags = iter(predictor.tag(sentences, sentence_texts))
    return [
        predictor.result(text, document, [next(tags) for _ in document]) for text, document in zip(texts, documents)
    ]


def threaded(predictor: KoreanNERPredictor, texts: list[str]) -> list[dict]:
    """The predictor with Kiwi in a thread of its own, up to 1,024 blocks ahead of the model."""

    def prefetched(texts, group_size):
        blocks, end = queue.Queue(maxsize=1024), object()

        def produce():
            for block in predictor.analyzer.iter_blocks(texts):
                blocks.put(block)
            blocks.put(end)

        threading.Thread(target=produce, daemon=True).start()
        while (block := blocks.get()) is not end:
            yield block

    with mock.patch.object(predictor, "_analysed_blocks", prefetched):
        return predictor(texts)


def kiwi_iterator(predictor: KoreanNERPredictor, texts: list[str]) -> list[dict]:
    """The predictor pulling Kiwi's lazy results as it goes, so that Kiwi's worker threads run ahead of the model."""
    with mock.patch.object(
        predictor, "_analysed_blocks", lambda texts, group_size: predictor.analyzer.iter_blocks(texts)
    ):
        return predictor(texts)


def entity_agreement(results: list[dict], expected: list[dict]) -> float:
    """The share of texts whose entities have the same spans and types in both."""

    def spans(result):
        return [(entity["start"], entity["end"], entity["type"]) for entity in result["entities"]]

    return sum(spans(a) == spans(b) for a, b in zip(results, expected, strict=True)) / len(expected)


def build_predictors(args, analyzer, sentences: list[str], scratch: str) -> dict:
    from modeling_mtl_bilstm.inference.onnx_export import export_onnx
    from modeling_mtl_bilstm.inference.predictor import ONNXKoreanNERPredictor

    model, tokenizer = default_size_model(analyzer, sentences[:1000], args.model_dir)
    model.save_pretrained(scratch)
    tokenizer.save_pretrained(scratch)
    export_onnx(model, tokenizer, scratch, int8=True)
    predictors = {"torch_fp32": KoreanNERPredictor(model, tokenizer, analyzer=analyzer, device="cpu")}
    for name, int8 in (("onnx_int8", True), ("onnx_fp32", False)):
        predictors[name] = ONNXKoreanNERPredictor.from_pretrained(
            scratch, quantize=int8, analyzer=analyzer, num_threads=args.threads
        )
    return predictors


def build_pools(args, scratch: str) -> dict:
    """A pool of --threads processes per backend, on the model that `build_predictors` saved in `scratch`."""
    backends = {"torch_fp32": {}, "onnx_int8": {"backend": "onnx", "quantize": True}, "onnx_fp32": {"backend": "onnx"}}
    return {
        name: KoreanNERPredictorPool(scratch, num_workers=args.threads, texts_per_task=args.texts_per_task, **kwargs)
        for name, kwargs in backends.items()
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_serving_arguments(parser, threads=2, repeats=3)
    parser.add_argument("--max_sentences", type=int, default=None)
    parser.add_argument(
        "--texts_per_task", type=int, default=None, help="The pools' texts per task (default: the pool's)."
    )
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    texts = read_klue_sentences(args.klue_file)[: args.max_sentences]
    analyzer = KiwiMorphemeAnalyzer()
    with tempfile.TemporaryDirectory(prefix="serving-speed-") as scratch:
        predictors = build_predictors(args, analyzer, texts, scratch)
        pools = build_pools(args, scratch)
        paths = {
            "predictor": lambda p, t: p(t),
            "threaded": threaded,
            "kiwi_iterator": kiwi_iterator,
            "sequential": sequential,
        }
        agreement = {}
        for name, predictor in predictors.items():
            expected = sequential(predictor, texts[:200])  # and a warm-up
            assert all(run(predictor, texts[:200]) == expected for run in paths.values())
            agreement[f"{name}/pool"] = entity_agreement(pools[name](texts), predictor(texts))
        rates = {f"{name}/{path}": [] for name in predictors for path in [*paths, "pool"]}
        rates["kiwi_only"] = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            analyzer.analyze(texts)
            rates["kiwi_only"].append(len(texts) / (time.perf_counter() - started))
            for name, predictor in predictors.items():
                runs = {path: functools.partial(run, predictor) for path, run in paths.items()}
                runs["pool"] = pools[name]
                for path, run in runs.items():
                    started = time.perf_counter()
                    run(texts)
                    rates[f"{name}/{path}"].append(len(texts) / (time.perf_counter() - started))
            print({key: round(values[-1]) for key, values in rates.items()}, file=sys.stderr, flush=True)
        for pool in pools.values():
            pool.close()
        texts_per_task = pools["torch_fp32"].texts_per_task
        batch_size = predictors["torch_fp32"].batch_size
    medians = {key: statistics.median(values) for key, values in rates.items()}
    result = {
        "sentences": len(texts),
        "threads": args.threads,
        "kiwi_workers": analyzer.kiwi.num_workers,
        "batch_size": batch_size,
        "pool_texts_per_task": texts_per_task,
        "model": model_description(args.model_dir),
        "repeats": args.repeats,
        "sentences_per_second": medians,
        "sentences_per_second_runs": rates,
        "over_sequential": {
            f"{name}/{path}": medians[f"{name}/{path}"] / medians[f"{name}/sequential"]
            for name in predictors
            for path in ("predictor", "threaded", "kiwi_iterator", "pool")
        },
        "pool_entity_agreement": agreement,
    }
    return report("end_to_end", result, args)


if __name__ == "__main__":
    main()
