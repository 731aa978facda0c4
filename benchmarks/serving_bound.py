#!/usr/bin/env python
"""What each stage of raw-text tagging costs in CPU time, and so the most sentences/s any overlap of the stages can
reach on this machine's cores.

    python benchmarks/serving_bound.py --record
    python benchmarks/serving_bound.py --max_sentences 300 --repeats 1   # smoke

The KLUE-NER dev sentences go through the predictor's stages one at a time, each timed alone:

* `kiwi`: Kiwi's analysis (`KiwiMorphemeAnalyzer.analyze`), with 1 worker thread and with one per core;
* `python`: the predictor's own work in the interpreter, one thread: features and padding (`tag` without the model's
  forward pass), then the output dicts (`result`);
* `model`: the backend's forward pass and decoding (`backend.tag_batch`) on the same padded batches, at 1 thread and
  at --threads.

A stage's CPU cost per sentence is its wall time per sentence times the threads it ran on, at its cheapest thread
count. However the stages overlap (threads, pipelines, processes), the cores cannot do more than their number divided
by the sum of those costs: `bound_sentences_per_second`. The predictor's own end-to-end speed is timed beside it.
Each backend (torch fp32, ONNX Runtime int8) is measured; the model is --model_dir's or a random one of the default
sizes (speed depends on the sizes only). `--record` writes the result under "stage_bound" in
benchmarks/results/serving.json.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

from serving_common import add_serving_arguments, default_size_model, model_description, read_klue_sentences, report

from modeling_mtl_bilstm import KiwiMorphemeAnalyzer, KoreanNERPredictor
from modeling_mtl_bilstm.inference.morphology import load_kiwi


def timed(function, *args) -> tuple[float, object]:
    started = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - started, value


def stage_seconds(predictor: KoreanNERPredictor, documents, texts: list[str]) -> dict[str, float]:
    """Seconds of the interpreter's work (features, padding, output dicts) and of the backend's, for `documents`."""
    sentences = [sentence for document in documents for sentence in document]
    sentence_texts = [text for text, document in zip(texts, documents) for _ in document]
    backend_seconds = 0.0
    tag_batch = predictor.backend.tag_batch

    def timed_tag_batch(batch):
        nonlocal backend_seconds
        seconds, tags = timed(tag_batch, batch)
        backend_seconds += seconds
        return tags

    predictor.backend.tag_batch = timed_tag_batch
    try:
        tag_seconds, tags = timed(predictor.tag, sentences, sentence_texts)
    finally:
        del predictor.backend.tag_batch
    tags = iter(tags)
    result_seconds, _ = timed(
        lambda: [predictor.result(t, d, [next(tags) for _ in d]) for t, d in zip(texts, documents)]
    )
    return {"python": tag_seconds - backend_seconds + result_seconds, "model": backend_seconds}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_serving_arguments(parser, threads=2, repeats=3)
    parser.add_argument("--max_sentences", type=int, default=None)
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    texts = read_klue_sentences(args.klue_file)[: args.max_sentences]
    analyzers = {1: KiwiMorphemeAnalyzer(load_kiwi(num_workers=1)), cores: KiwiMorphemeAnalyzer(load_kiwi())}
    documents = analyzers[cores].analyze(texts)
    runs: dict[str, list[float]] = {}

    def note(key: str, seconds: float, threads: int) -> None:
        runs.setdefault(key, []).append(seconds * threads / len(texts))  # CPU seconds per sentence

    import torch

    from modeling_mtl_bilstm.inference.onnx_export import export_onnx
    from modeling_mtl_bilstm.inference.predictor import ONNXKoreanNERPredictor

    with tempfile.TemporaryDirectory(prefix="serving-bound-") as scratch:
        model, tokenizer = default_size_model(analyzers[cores], texts[:1000], args.model_dir)
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        export_onnx(model, tokenizer, scratch, int8=True)
        thread_counts = sorted({1, args.threads})
        torch_predictor = KoreanNERPredictor(model, tokenizer, analyzer=analyzers[cores], device="cpu")
        # (backend, threads) -> (predictor, what sets its threads); onnxruntime fixes them per session
        predictors = {("torch_fp32", threads): (torch_predictor, torch.set_num_threads) for threads in thread_counts}
        for threads in thread_counts:
            onnx_predictor = ONNXKoreanNERPredictor.from_pretrained(
                scratch, quantize=True, analyzer=analyzers[cores], num_threads=threads
            )
            predictors["onnx_int8", threads] = (onnx_predictor, lambda threads: None)
        for predictor, set_threads in predictors.values():
            set_threads(args.threads)
            predictor(texts[:200])  # warm-up
        for _ in range(args.repeats):
            for workers, analyzer in analyzers.items():
                note(f"kiwi/{workers}", timed(analyzer.analyze, texts)[0], workers)
            for (name, threads), (predictor, set_threads) in predictors.items():
                set_threads(threads)
                stages = stage_seconds(predictor, documents, texts)
                note(f"{name}/model/{threads}", stages["model"], threads)
                if threads == 1:
                    note(f"{name}/python", stages["python"], 1)
                if threads == args.threads:
                    runs.setdefault(f"{name}/end_to_end_sentences_per_second", []).append(
                        len(texts) / timed(predictor, texts)[0]
                    )
            print({key: round(values[-1], 6) for key, values in runs.items()}, file=sys.stderr, flush=True)
    medians = {key: statistics.median(values) for key, values in runs.items()}
    kiwi = min(medians["kiwi/1"], medians[f"kiwi/{cores}"])
    backends = {}
    for name in ("torch_fp32", "onnx_int8"):
        model_cost = min(medians[f"{name}/model/{threads}"] for threads in thread_counts)
        total = kiwi + medians[f"{name}/python"] + model_cost
        backends[name] = {
            "cpu_microseconds_per_sentence": {
                "kiwi": round(kiwi * 1e6, 1),
                "python": round(medians[f"{name}/python"] * 1e6, 1),
                "model": round(model_cost * 1e6, 1),
                "total": round(total * 1e6, 1),
            },
            "bound_sentences_per_second": cores / total,
            "end_to_end_sentences_per_second": medians[f"{name}/end_to_end_sentences_per_second"],
        }
    result = {
        "sentences": len(texts),
        "cores": cores,
        "threads": args.threads,
        "repeats": args.repeats,
        "model": model_description(args.model_dir),
        "backends": backends,
        "runs": runs,
    }
    return report("stage_bound", result, args)


if __name__ == "__main__":
    main()
