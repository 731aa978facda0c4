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
  every text, then the model tags every sentence, then the results are built.

Each for torch fp32 and ONNX Runtime int8 (and fp32), taking turns within each repeat; Kiwi's analysis alone is
timed too. Figures are sentences per second, the median over --repeats. The model is --model_dir's, or one of
examples/train.py's default sizes with random weights (speed depends on the sizes only). `--record` writes the
result under "end_to_end" in benchmarks/results/serving.json.
"""

import argparse
import queue
import statistics
import sys
import tempfile
import threading
import time
from unittest import mock

from serving_common import add_serving_arguments, default_size_model, model_description, read_klue_sentences, report

from modeling_mtl_bilstm import KiwiMorphemeAnalyzer, KoreanNERPredictor


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


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_serving_arguments(parser, threads=2, repeats=3)
    parser.add_argument("--max_sentences", type=int, default=None)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    texts = read_klue_sentences(args.klue_file)[: args.max_sentences]
    analyzer = KiwiMorphemeAnalyzer()
    with tempfile.TemporaryDirectory(prefix="serving-speed-") as scratch:
        predictors = build_predictors(args, analyzer, texts, scratch)
        paths = {
            "predictor": lambda p, t: p(t),
            "threaded": threaded,
            "kiwi_iterator": kiwi_iterator,
            "sequential": sequential,
        }
        for predictor in predictors.values():
            expected = sequential(predictor, texts[:200])  # and a warm-up
            assert all(run(predictor, texts[:200]) == expected for run in paths.values())
        rates = {f"{name}/{path}": [] for name in predictors for path in paths}
        rates["kiwi_only"] = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            analyzer.analyze(texts)
            rates["kiwi_only"].append(len(texts) / (time.perf_counter() - started))
            for name, predictor in predictors.items():
                for path, run in paths.items():
                    started = time.perf_counter()
                    run(predictor, texts)
                    rates[f"{name}/{path}"].append(len(texts) / (time.perf_counter() - started))
            print({key: round(values[-1]) for key, values in rates.items()}, file=sys.stderr, flush=True)
        batch_size = predictors["torch_fp32"].batch_size
    medians = {key: statistics.median(values) for key, values in rates.items()}
    result = {
        "sentences": len(texts),
        "threads": args.threads,
        "kiwi_workers": analyzer.kiwi.num_workers,
        "batch_size": batch_size,
        "model": model_description(args.model_dir),
        "repeats": args.repeats,
        "sentences_per_second": medians,
        "sentences_per_second_runs": rates,
        "over_sequential": {
            f"{name}/{path}": medians[f"{name}/{path}"] / medians[f"{name}/sequential"]
            for name in predictors
            for path in ("predictor", "threaded", "kiwi_iterator")
        },
    }
    return report("end_to_end", result, args)


if __name__ == "__main__":
    main()
