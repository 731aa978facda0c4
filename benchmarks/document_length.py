#!/usr/bin/env python
"""Time per sentence of one long document against its sentences given as a list, at 1x/2x/4x/8x a base document.

    python benchmarks/document_length.py --record
    python benchmarks/document_length.py --base_bytes 20000 --repeats 1   # smoke

The base document is KLUE-NER dev sentences (../shared/data/klue-ner, read in turn and repeated where needed) joined
by spaces until it holds --base_bytes of UTF-8 (default 1/8 MB, so that 8x is a 1 MB document). For each size the
predictor (torch fp32, or --backend onnx) tags the document as one text and the same sentences as a list, taking
turns, --repeats times; the figure is the best time of each, per sentence, and `document_over_list` their ratio.
The model is --model_dir's, or one of examples/train.py's default sizes with random weights (speed depends on the
sizes only). `--record` writes the result under "document_length" in benchmarks/results/serving.json.
"""

import argparse
import sys
import tempfile
import time

from serving_common import add_serving_arguments, default_size_model, model_description, read_klue_sentences, report

from modeling_mtl_bilstm import KiwiMorphemeAnalyzer, KoreanNERPredictor


SIZES = (1, 2, 4, 8)


def base_sentences(sentences: list[str], size_bytes: int) -> list[str]:
    """Sentences in turn (from the first again after the last) until, joined by spaces, they hold `size_bytes`."""
    chosen, total = [], 0
    while total < size_bytes:
        sentence = sentences[len(chosen) % len(sentences)]
        chosen.append(sentence)
        total += len(sentence.encode("utf-8")) + 1
    return chosen


def build_predictor(args, analyzer, sentences: list[str], scratch: str) -> KoreanNERPredictor:
    model, tokenizer = default_size_model(analyzer, sentences[:1000], args.model_dir)
    if args.backend == "torch":
        return KoreanNERPredictor(model, tokenizer, analyzer=analyzer, device="cpu")
    from modeling_mtl_bilstm.inference.onnx_export import export_onnx
    from modeling_mtl_bilstm.inference.predictor import ONNXKoreanNERPredictor

    model.save_pretrained(scratch)
    tokenizer.save_pretrained(scratch)
    export_onnx(model, tokenizer, scratch, int8=args.backend == "onnx_int8")
    return ONNXKoreanNERPredictor.from_pretrained(
        scratch, quantize=args.backend == "onnx_int8", analyzer=analyzer, num_threads=args.threads
    )


def time_sizes(predictor: KoreanNERPredictor, base: list[str], repeats: int) -> list[dict]:
    rows = []
    for multiple in SIZES:
        sentences = base * multiple
        document = " ".join(sentences)
        seconds = {"document": [], "list": []}
        for _ in range(repeats):
            for mode, inputs in (("list", sentences), ("document", document)):
                started = time.perf_counter()
                predictor(inputs)
                seconds[mode].append(time.perf_counter() - started)
        best = {mode: min(times) for mode, times in seconds.items()}
        rows.append(
            {
                "multiple": multiple,
                "sentences": len(sentences),
                "document_characters": len(document),
                "document_bytes": len(document.encode("utf-8")),
                "seconds": seconds,
                "document_ms_per_sentence": 1000 * best["document"] / len(sentences),
                "list_ms_per_sentence": 1000 * best["list"] / len(sentences),
                "document_over_list": best["document"] / best["list"],
            }
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_serving_arguments(parser, threads=1, repeats=2)
    parser.add_argument("--backend", choices=["torch", "onnx_fp32", "onnx_int8"], default="torch")
    parser.add_argument("--base_bytes", type=int, default=2**20 // 8)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    sentences = read_klue_sentences(args.klue_file)
    analyzer = KiwiMorphemeAnalyzer()
    with tempfile.TemporaryDirectory(prefix="document-length-") as scratch:
        predictor = build_predictor(args, analyzer, sentences, scratch)
        base = base_sentences(sentences, args.base_bytes)
        predictor(base[:50])  # warm-up
        rows = time_sizes(predictor, base, args.repeats)
    result = {
        "backend": args.backend,
        "threads": args.threads,
        "model": model_description(args.model_dir),
        "batch_size": predictor.batch_size,
        "repeats": args.repeats,
        "sizes": rows,
        "document_over_list_at_8x": rows[-1]["document_over_list"],
    }
    return report("document_length", result, args)


if __name__ == "__main__":
    main()
