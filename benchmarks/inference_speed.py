#!/usr/bin/env python
"""Inference speed, memory and NER F1 of a trained model, fp32 against int8 dynamic quantisation.

    python benchmarks/inference_speed.py --model_dir runs/compare/best_model --output benchmarks/results/inference_speed.json
    python benchmarks/inference_speed.py --model_dir /tmp/bench-model/best_model --dataset sample --repeats 1

Model only: the test sentences are encoded and padded into batches beforehand (sorted by length, so a
batch pads little), and the timing covers `model.decode` (forward + Viterbi) under `torch.inference_mode()`.
Sentences per second are the median over --repeats passes over the whole test split, after one warm-up
batch; fp32 and int8 take turns within each repeat. int8 is `torch.ao.quantization.quantize_dynamic` over
the LSTMs and linear layers (CPU only): torch 2.13 marks torch.ao.quantization deprecated in favour of
torchao's `quantize_`, which quantises linear layers but not LSTMs, so the deprecated API is still the one
that covers this model; the warning is recorded in the result. NER F1 is seqeval strict IOB2
(metrics/korean_ner_pos) on the test split.
End to end (CPU): the raw test sentences through KoreanNERPredictor (Kiwi analysis, batching, offsets),
and Kiwi's analysis alone, in sentences per second.
"""

import argparse
import io
import statistics
import time

import torch
from benchmark_common import (
    add_common_arguments,
    add_decoding_arguments,
    check_data_dir,
    check_decoding_arguments,
    current_rss_mb,
    emit,
    environment,
    load_corpus,
    peak_rss_mb,
    setup_torch,
)

from modeling_mtl_bilstm import (
    KiwiMorphemeAnalyzer,
    KoreanNERPredictor,
    MTLBiLSTMForTokenClassification,
    MTLBiLSTMTokenizer,
)
from modeling_mtl_bilstm.inference.predictor import QUANTIZED_MODULES, quantize_dynamic_int8
from modeling_mtl_bilstm.metrics.korean_ner_pos import compute_scores


class MemoryLog:
    """RSS now (psutil, where installed) and the peak so far (getrusage) after each phase."""

    def __init__(self):
        self.phases = []

    def mark(self, phase: str) -> None:
        self.phases.append({"phase": phase, "rss_mb": current_rss_mb(), "peak_rss_mb": peak_rss_mb()})


def encode_batches(tokenizer, sentences: list[list[str]], batch_size: int, device: torch.device) -> list[dict]:
    return [
        {name: tensor.to(device) for name, tensor in tokenizer(sentences[start : start + batch_size]).items()}
        for start in range(0, len(sentences), batch_size)
    ]


def time_decoding(models: dict, batches: list[dict], num_sentences: int, repeats: int, device: torch.device) -> dict:
    """Sentences per second of each model's `decode` over all batches, once per repeat: `{name: [rate, ...]}`.

    The models take turns within each repeat, so a slow spell of the machine hits them alike rather than
    whichever happened to be timed then."""
    rates = {name: [] for name in models}
    with torch.inference_mode():
        for model in models.values():
            model.decode(**batches[0])  # warm-up: first-call allocations and lazy initialisation
        for _ in range(repeats):
            for name, model in models.items():
                started = time.perf_counter()
                for batch in batches:
                    model.decode(**batch)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                rates[name].append(num_sentences / (time.perf_counter() - started))
    return rates


def predict_ner(model, batches: list[dict]) -> list[list[str]]:
    """NER tag names of every sentence, in batch order; padding dropped."""
    id2label = model.config.ner_id2label
    predictions = []
    with torch.inference_mode():
        for batch in batches:
            tags = model.decode(**batch)["ner"]
            for row, length in zip(tags.tolist(), batch["attention_mask"].sum(dim=1).tolist()):
                predictions.append([id2label[tag] for tag in row[:length]])
    return predictions


def time_end_to_end(model, tokenizer, texts: list[str], repeats: int, quantize: bool, analyzer) -> dict:
    """Raw text in, entities out (Kiwi analysis + the model, KoreanNERPredictor), and Kiwi alone."""
    predictor = KoreanNERPredictor(model, tokenizer, analyzer=analyzer, quantize=quantize, device="cpu")
    predictor(texts[:8])  # warm-up: Kiwi's lazy loading
    end_to_end, kiwi_only = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        analyzer.analyze(texts)
        kiwi_only.append(len(texts) / (time.perf_counter() - started))
        started = time.perf_counter()
        predictor(texts)
        end_to_end.append(len(texts) / (time.perf_counter() - started))
    return {
        "sentences_per_second": statistics.median(end_to_end),
        "sentences_per_second_runs": end_to_end,
        "kiwi_only_sentences_per_second": statistics.median(kiwi_only),
        "batch_size": predictor.batch_size,
    }


def serialized_mb(model) -> float:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes / 2**20


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    add_decoding_arguments(parser, batch_sizes=[1, 32, 256], repeats=3)
    parser.add_argument("--max_sentences", type=int, default=None, help="Use only the first N test sentences.")
    args = parser.parse_args(argv)
    check_decoding_arguments(parser, args)
    check_data_dir(parser, args)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = setup_torch(args)
    memory = MemoryLog()
    memory.mark("imports")

    model = MTLBiLSTMForTokenClassification.from_pretrained(args.model_dir).eval().to(device)
    tokenizer = MTLBiLSTMTokenizer.from_pretrained(args.model_dir)
    if "ner" not in model.config.tasks:
        raise SystemExit(
            f"--model_dir {args.model_dir}: expected a model with an NER head, received tasks {model.config.tasks}."
        )
    memory.mark("fp32 model loaded")

    test = load_corpus(args)["test"]
    if args.max_sentences:
        test = test.select(range(min(args.max_sentences, test.num_rows)))
    reference_names = test.features["ner_tags"].feature.names
    tokens, ner_tags = test["tokens"], test["ner_tags"]
    order = sorted(range(test.num_rows), key=lambda i: len(tokens[i]))
    sentences = [tokens[i] for i in order]
    references = [[reference_names[tag] for tag in ner_tags[i]] for i in order]
    batches = {size: encode_batches(tokenizer, sentences, size, device) for size in args.batch_sizes}
    memory.mark("test batches encoded")

    models = {"fp32": model}
    if device.type == "cpu":
        models["int8"] = quantize_dynamic_int8(model)
        memory.mark("int8 model quantised")

    runs = {
        str(size): time_decoding(models, batches[size], len(sentences), args.repeats, device)
        for size in args.batch_sizes
    }
    memory.mark("timed")
    precisions = {}
    for precision, candidate in models.items():
        predictions = predict_ner(candidate, batches[max(args.batch_sizes)])
        scores = compute_scores(ner_predictions=predictions, ner_references=references)
        precision_runs = {size: rates[precision] for size, rates in runs.items()}
        precisions[precision] = {
            "sentences_per_second": {size: statistics.median(rates) for size, rates in precision_runs.items()},
            "sentences_per_second_runs": precision_runs,
            "ner_f1": scores["ner_f1"],
            "ner_precision": scores["ner_precision"],
            "ner_recall": scores["ner_recall"],
            "serialized_mb": serialized_mb(candidate),
            "predictions": predictions,
        }

    end_to_end = None
    if device.type == "cpu" and any(test["text"]):
        analyzer = KiwiMorphemeAnalyzer()
        end_to_end = {
            precision: time_end_to_end(model, tokenizer, test["text"], args.repeats, precision == "int8", analyzer)
            for precision in models
        }
        memory.mark("end-to-end timed")

    result = {
        "benchmark": "inference_speed",
        "environment": environment(device),
        "settings": {
            "model_dir": str(args.model_dir),
            "dataset": args.dataset,
            "test_sentences": len(sentences),
            "test_morphemes": sum(map(len, sentences)),
            "batch_sizes": args.batch_sizes,
            "repeats": args.repeats,
            "model_tasks": list(model.config.tasks),
        },
        "fp32": precisions["fp32"],
    }
    if "int8" in precisions:
        fp32_tags = [tag for sentence in precisions["fp32"]["predictions"] for tag in sentence]
        int8_tags = [tag for sentence in precisions["int8"]["predictions"] for tag in sentence]
        result["int8"] = precisions["int8"]
        result["int8"]["quantization"] = {
            "api": "torch.ao.quantization.quantize_dynamic",
            "modules": sorted(f"torch.nn.{module.__name__}" for module in QUANTIZED_MODULES),
        }
        result["int8"]["ner_tag_agreement_with_fp32"] = sum(a == b for a, b in zip(fp32_tags, int8_tags)) / len(
            fp32_tags
        )
        result["int8_over_fp32_speed"] = {
            size: precisions["int8"]["sentences_per_second"][size] / precisions["fp32"]["sentences_per_second"][size]
            for size in precisions["fp32"]["sentences_per_second"]
        }
        result["int8_minus_fp32_ner_f1"] = precisions["int8"]["ner_f1"] - precisions["fp32"]["ner_f1"]
    else:
        result["int8"] = None
        result["int8_skipped"] = f"dynamic int8 quantisation runs on CPU only; device is {device}."
    for entry in precisions.values():
        del entry["predictions"]
    result["end_to_end"] = end_to_end
    result["memory"] = {"phases": memory.phases, "peak_rss_mb": peak_rss_mb()}
    emit(result, args.output)
    return result


if __name__ == "__main__":
    main()
