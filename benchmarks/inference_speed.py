#!/usr/bin/env python
"""Inference speed, memory and NER F1 of a trained model: torch fp32 and int8 dynamic quantisation, and ONNX Runtime
fp32 and int8.

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
ONNX Runtime (CPU, where the `onnx` extra is installed): the model is exported (`export_onnx`, with its int8
file) into a temporary folder and run by `ONNXRuntimeTagger` with as many intra-op threads as torch has; its
model-only timing covers the session and the numpy decoding (Viterbi), on the same batches, taking turns with
the torch rows.
End to end (CPU): the raw test sentences through KoreanNERPredictor (Kiwi analysis, batching, offsets), with
each backend and precision at each batch size, taking turns, and Kiwi's analysis alone, in sentences per second;
`kiwi_share` is the part of the end-to-end time that Kiwi's analysis takes.
"""

import argparse
import importlib.util
import io
import statistics
import tempfile
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


def encode_batches(
    tokenizer,
    sentences: list[list[str]],
    batch_size: int,
    device: torch.device,
    word_ids: list[list[int]] | None = None,
) -> list[dict]:
    """The sentences in batches of `batch_size`, encoded; `word_ids` (the corpus's eojeol indexes) feed the eojeol
    features of a model that has them, as in training and evaluation."""
    batches = []
    for start in range(0, len(sentences), batch_size):
        end = start + batch_size
        encoded = tokenizer(sentences[start:end], word_ids=None if word_ids is None else word_ids[start:end])
        batches.append({name: tensor.to(device) for name, tensor in encoded.items()})
    return batches


def time_decoding(models: dict, batches: list[dict], num_sentences: int, repeats: int, device: torch.device) -> dict:
    """Sentences per second of each model's `decode` over all batches, once per repeat: `{name: [rate, ...]}`.
    A model is a torch model or an ONNX Runtime tagger (its `decode_all` reads the same batches).

    The models take turns within each repeat, so a slow spell of the machine hits them alike rather than
    whichever happened to be timed then."""
    rates = {name: [] for name in models}
    decoders = {name: decoder_of(model) for name, model in models.items()}
    with torch.inference_mode():
        for decode in decoders.values():
            decode(batches[0])  # warm-up: first-call allocations and lazy initialisation
        for _ in range(repeats):
            for name, decode in decoders.items():
                started = time.perf_counter()
                for batch in batches:
                    decode(batch)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                rates[name].append(num_sentences / (time.perf_counter() - started))
    return rates


def decoder_of(model):
    """`decode(batch)`: the torch model's `decode`, or an ONNX Runtime tagger's `decode_all`."""
    if isinstance(model, torch.nn.Module):
        return lambda batch: model.decode(**batch)
    return model.decode_all


def predict_ner(model, batches: list[dict]) -> list[list[str]]:
    """NER tag names of every sentence, in batch order; padding dropped."""
    id2label = model.config.ner_id2label if isinstance(model, torch.nn.Module) else model.id2label["ner"]
    decode = decoder_of(model)
    predictions = []
    with torch.inference_mode():
        for batch in batches:
            tags = decode(batch)["ner"]
            for row, length in zip(tags.tolist(), batch["attention_mask"].sum(dim=1).tolist()):
                predictions.append([id2label[tag] for tag in row[:length]])
    return predictions


def onnx_taggers(model, tokenizer, folder: str, threads: int) -> dict:
    """The model exported to ONNX (fp32 and int8) in `folder`, as ONNX Runtime taggers: `{name: tagger}`."""
    from modeling_mtl_bilstm.inference.onnx_backend import ONNXRuntimeTagger
    from modeling_mtl_bilstm.inference.onnx_export import export_onnx

    paths = export_onnx(model.cpu(), tokenizer, folder, int8=True)
    return {f"onnx_{precision}": ONNXRuntimeTagger(path, num_threads=threads) for precision, path in paths.items()}


def end_to_end_predictors(model, tokenizer, analyzer, taggers: dict) -> dict:
    """One KoreanNERPredictor per backend and precision: torch fp32 and int8, and the ONNX taggers'."""
    predictors = {
        precision: KoreanNERPredictor(model, tokenizer, analyzer=analyzer, quantize=precision == "int8", device="cpu")
        for precision in ("fp32", "int8")
    }
    if taggers:
        from modeling_mtl_bilstm.inference.predictor import ONNXKoreanNERPredictor

        for name, tagger in taggers.items():
            predictors[name] = ONNXKoreanNERPredictor(tagger, tokenizer, model.config, analyzer=analyzer)
    return predictors


def time_end_to_end(predictors: dict, analyzer, texts: list[str], batch_sizes: list[int], repeats: int) -> dict:
    """Raw text in, entities out (Kiwi analysis + the model, KoreanNERPredictor) for each predictor at each batch
    size, and Kiwi alone, taking turns within each repeat: `{name: {"runs": {size: [rate, ...]}}, "kiwi": [...]}`."""
    for predictor in predictors.values():
        predictor(texts[:8])  # warm-up: Kiwi's lazy loading, first-call allocations
    rates = {name: {str(size): [] for size in batch_sizes} for name in predictors}
    kiwi_only = []
    for _ in range(repeats):
        started = time.perf_counter()
        analyzer.analyze(texts)
        kiwi_only.append(len(texts) / (time.perf_counter() - started))
        for size in batch_sizes:
            for name, predictor in predictors.items():
                predictor.batch_size = size
                started = time.perf_counter()
                predictor(texts)
                rates[name][str(size)].append(len(texts) / (time.perf_counter() - started))
    return {"runs": rates, "kiwi": kiwi_only}


def end_to_end_figures(timed: dict, name: str, batch_size: int) -> dict:
    """The end-to-end entry of one predictor: its rate at `batch_size`, per batch size, and Kiwi's share."""
    kiwi = statistics.median(timed["kiwi"])
    by_size = {size: statistics.median(rates) for size, rates in timed["runs"][name].items()}
    return {
        "sentences_per_second": by_size[str(batch_size)],
        "sentences_per_second_runs": timed["runs"][name][str(batch_size)],
        "kiwi_only_sentences_per_second": kiwi,
        "batch_size": batch_size,
        "sentences_per_second_by_batch_size": by_size,
        # Kiwi's analysis time over the end-to-end time, per batch size.
        "kiwi_share": {size: rate / kiwi for size, rate in by_size.items()},
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
    parser.add_argument(
        "--end_to_end_batch_size",
        type=int,
        default=32,
        help="Batch size of the end-to-end figure `sentences_per_second` (default: 32); all --batch_sizes are timed.",
    )
    parser.add_argument("--no_onnx", action="store_true", help="Leave out the ONNX Runtime rows.")
    parser.add_argument("--no_end_to_end", action="store_true", help="Leave out the raw-text end-to-end timing.")
    args = parser.parse_args(argv)
    if not args.no_end_to_end and args.end_to_end_batch_size not in args.batch_sizes:
        args.batch_sizes = sorted({*args.batch_sizes, args.end_to_end_batch_size})
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
    word_ids = [test["word_ids"][i] for i in order] if "word_ids" in test.column_names else None
    references = [[reference_names[tag] for tag in ner_tags[i]] for i in order]
    batches = {size: encode_batches(tokenizer, sentences, size, device, word_ids) for size in args.batch_sizes}
    memory.mark("test batches encoded")

    models = {"fp32": model}
    onnx_skipped = None
    scratch = tempfile.TemporaryDirectory(prefix="inference-speed-onnx-")
    if device.type == "cpu":
        models["int8"] = quantize_dynamic_int8(model)
        # The ONNX export and its int8 quantisation belong to the same phase (the phases are the JSON's contract).
        if args.no_onnx:
            onnx_skipped = "--no_onnx"
        elif importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnxscript") is None:
            onnx_skipped = 'onnxruntime or onnxscript is not installed: pip install -e ".[onnx]"'
        else:
            models.update(onnx_taggers(model, tokenizer, scratch.name, torch.get_num_threads()))
        memory.mark("int8 model quantised")
    else:
        onnx_skipped = f"the ONNX Runtime rows run on CPU only; device is {device}."

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
            "serialized_mb": serialized_mb(candidate)
            if isinstance(candidate, torch.nn.Module)
            else candidate.path.stat().st_size / 2**20,
            "predictions": predictions,
        }

    end_to_end = None
    if device.type == "cpu" and any(test["text"]) and not args.no_end_to_end:
        analyzer = KiwiMorphemeAnalyzer()
        taggers = {name: tagger for name, tagger in models.items() if name.startswith("onnx_")}
        predictors = end_to_end_predictors(model, tokenizer, analyzer, taggers)
        timed = time_end_to_end(predictors, analyzer, test["text"], args.batch_sizes, args.repeats)
        end_to_end = {name: end_to_end_figures(timed, name, args.end_to_end_batch_size) for name in predictors}
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
            "onnx_threads": torch.get_num_threads() if onnx_skipped is None else None,
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
    fp32_tags = [tag for sentence in precisions["fp32"]["predictions"] for tag in sentence]
    for name in ("onnx_fp32", "onnx_int8"):
        if name in precisions:
            tags = [tag for sentence in precisions[name]["predictions"] for tag in sentence]
            result[name] = precisions[name]
            result[name]["ner_tag_agreement_with_fp32"] = sum(a == b for a, b in zip(fp32_tags, tags)) / len(fp32_tags)
            result[name]["file"] = models[name].path.name
    if "onnx_int8" in precisions:
        from modeling_mtl_bilstm.inference.onnx_export import INT8_OPERATORS

        result["onnx_int8"]["quantization"] = {
            "api": "onnxruntime.quantization.quantize_dynamic",
            "operators": list(INT8_OPERATORS),
        }
    if onnx_skipped is not None:
        result["onnx_skipped"] = onnx_skipped
    # Every row against torch fp32, in the same run, per batch size.
    result["speed_over_torch_fp32"] = {
        name: {
            size: precisions[name]["sentences_per_second"][size] / precisions["fp32"]["sentences_per_second"][size]
            for size in precisions["fp32"]["sentences_per_second"]
        }
        for name in precisions
        if name != "fp32"
    }
    result["onnx_int8_minus_torch_fp32_ner_f1"] = (
        precisions["onnx_int8"]["ner_f1"] - precisions["fp32"]["ner_f1"] if "onnx_int8" in precisions else None
    )
    for entry in precisions.values():
        del entry["predictions"]
    result["end_to_end"] = end_to_end
    if end_to_end is not None:
        result["end_to_end_speed_over_torch_fp32"] = {
            name: {
                size: rate / end_to_end["fp32"]["sentences_per_second_by_batch_size"][size]
                for size, rate in figures["sentences_per_second_by_batch_size"].items()
            }
            for name, figures in end_to_end.items()
            if name != "fp32"
        }
    scratch.cleanup()
    result["memory"] = {"phases": memory.phases, "peak_rss_mb": peak_rss_mb()}
    emit(result, args.output)
    return result


if __name__ == "__main__":
    main()
