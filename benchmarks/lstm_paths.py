#!/usr/bin/env python
"""CPU inference and training through the Bi-LSTMs: packed sequences against the unpacked fused kernel, by batch
size and by the share of real (unpadded) positions in the batch. It sets `UNPACKED_MIN_FILL` and
`UNPACKED_MIN_FILL_TRAINING`, the least shares at which `MTLBiLSTMEncoder` runs unpacked, and shows why a batch
with no padding runs packed.

    python benchmarks/lstm_paths.py --threads 2 --output benchmarks/results/lstm_paths.json

The three encoders of a default-size multi-task model (examples/train.py's sizes: the shared Bi-LSTM over the
morpheme, syllable-CNN and eojeol inputs, then the POS and NER Bi-LSTMs over its output), random weights and inputs,
in inference (eval mode, `torch.inference_mode()`) and in training (train mode, forward and backward). Each batch
holds one sentence of `--max_length` positions and the others of the length that gives the batch its fill. Per
setting the two paths take turns, `--repeats` times; sentences per second are medians. `max_abs_difference`
compares the two paths' inference outputs. With `--model_dir`, `KoreanNERPredictor` also runs end to end on the
raw test sentences of `--dataset` (Kiwi included), the LSTMs packed against the model's own choice, taking turns.
"""

import argparse
import statistics
import sys
import time

import torch
from benchmark_common import add_common_arguments, check_data_dir, emit, environment, load_corpus, setup_torch

from modeling_mtl_bilstm import modeling_mtl_bilstm as modeling
from modeling_mtl_bilstm.modeling_mtl_bilstm import MTLBiLSTMEncoder
from modeling_mtl_bilstm.training.arguments import ModelArguments


PATHS = ("packed", "unpacked")
CHOOSE_PATH = MTLBiLSTMEncoder._runs_unpacked  # the model's own choice, restored after each timing


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument(
        "--model_dir",
        default=None,
        help="Also time KoreanNERPredictor end to end on the raw test sentences of --dataset with this model, "
        "the LSTMs packed against the model's own choice of path.",
    )
    parser.add_argument("--end_to_end_batch_sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--end_to_end_repeats", type=int, default=12)
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--fills", type=float, nargs="+", default=[0.25, 0.4, 0.5, 0.6, 0.8, 1.0])
    parser.add_argument("--max_length", type=int, default=48, help="Positions of the longest sentence of a batch.")
    parser.add_argument("--sentences", type=int, default=256, help="Sentences per timed pass.")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.device != "cpu":
        parser.error(f"--device: the LSTM paths differ on CPU only, received {args.device}.")
    if args.model_dir:
        check_data_dir(parser, args)
    if min(args.fills) <= 0 or max(args.fills) > 1:
        parser.error(f"--fills: expected shares in (0, 1], received {args.fills}.")
    return args


def default_encoders() -> list[MTLBiLSTMEncoder]:
    sizes = ModelArguments()
    shared_input = sizes.embedding_dim + sizes.char_cnn_filters + sizes.eojeol_embedding_dim
    shared = MTLBiLSTMEncoder(shared_input, sizes.shared_hidden_size, sizes.shared_num_layers, sizes.dropout)
    tasks = [
        MTLBiLSTMEncoder(shared.output_size, hidden_size, sizes.task_num_layers, sizes.dropout)
        for hidden_size in (sizes.pos_hidden_size, sizes.ner_hidden_size)
    ]
    return [encoder.eval() for encoder in (shared, *tasks)]


def run_encoders(encoders: list[MTLBiLSTMEncoder], inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    shared = encoders[0](inputs, mask)[0]
    return torch.cat([encoder(shared, mask)[0] for encoder in encoders[1:]], dim=2)


def training_step(encoders: list[MTLBiLSTMEncoder], inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Forward and backward (of the outputs' sum) in training mode; the gradients are left to accumulate."""
    outputs = run_encoders(encoders, inputs, mask)
    outputs.sum().backward()
    return outputs.detach()


def batch_mask(batch_size: int, max_length: int, fill: float) -> torch.Tensor:
    """One sentence of `max_length`, the others as long as the fill asks (at least one position)."""
    others = round((fill * batch_size * max_length - max_length) / max(batch_size - 1, 1))
    lengths = torch.full((batch_size,), min(max(others, 1), max_length))
    lengths[0] = max_length
    return torch.arange(max_length) < lengths.unsqueeze(1)


def time_paths(step, encoders, inputs, mask, passes: int, repeats: int) -> tuple[dict, dict]:
    """Each path's output (after a warm-up call) and its sentences per second over `repeats` turns."""
    outputs, rates = {}, {name: [] for name in PATHS}
    for name in PATHS:
        force_path(name)
        outputs[name] = step(encoders, inputs, mask)
    for _ in range(repeats):
        for name in PATHS:
            force_path(name)
            started = time.perf_counter()
            for _ in range(passes):
                step(encoders, inputs, mask)
            rates[name].append(passes * inputs.size(0) / (time.perf_counter() - started))
    MTLBiLSTMEncoder._runs_unpacked = CHOOSE_PATH
    return outputs, rates


def force_path(name: str) -> None:
    MTLBiLSTMEncoder._runs_unpacked = lambda self, mask: name == "unpacked"


def time_end_to_end(args: argparse.Namespace) -> dict:
    """The predictor on the raw test sentences, the LSTMs packed and on the model's own choice of path, taking
    turns (in alternating order) at each batch size; and whether both found the same entities."""
    from modeling_mtl_bilstm import KoreanNERPredictor

    texts = list(load_corpus(args)["test"]["text"])
    predictor = KoreanNERPredictor.from_pretrained(args.model_dir, device="cpu")
    predictor(texts[:8])  # warm-up: Kiwi's lazy loading, first-call allocations
    paths = {"packed": lambda self, mask: False, "default": CHOOSE_PATH}
    rates, entities = {}, {}
    for repeat in range(args.end_to_end_repeats):
        for batch_size in args.end_to_end_batch_sizes:
            predictor.batch_size = batch_size
            for name in list(paths) if repeat % 2 == 0 else list(paths)[::-1]:
                MTLBiLSTMEncoder._runs_unpacked = paths[name]
                started = time.perf_counter()
                results = predictor(texts)
                rates.setdefault(str(batch_size), {}).setdefault(name, []).append(
                    len(texts) / (time.perf_counter() - started)
                )
                entities[name] = [[(e["start"], e["end"], e["type"]) for e in r["entities"]] for r in results]
    MTLBiLSTMEncoder._runs_unpacked = CHOOSE_PATH
    medians = {
        size: {name: statistics.median(runs) for name, runs in by_path.items()} for size, by_path in rates.items()
    }
    return {
        "model_dir": str(args.model_dir),
        "test_sentences": len(texts),
        "sentences_per_second": medians,
        "sentences_per_second_runs": rates,
        "default_over_packed": {size: figures["default"] / figures["packed"] for size, figures in medians.items()},
        "same_entities": entities["packed"] == entities["default"],
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    setup_torch(args)
    torch.manual_seed(0)
    encoders = default_encoders()
    input_size = encoders[0].lstm.input_size
    settings = []
    for mode in ("inference", "training"):
        for encoder in encoders:
            encoder.train(mode == "training")
        for batch_size in args.batch_sizes:
            for fill in args.fills if batch_size > 1 else [1.0]:
                mask = batch_mask(batch_size, args.max_length, fill)
                inputs = torch.randn(batch_size, args.max_length, input_size)
                passes = max(1, args.sentences // batch_size)
                if mode == "inference":
                    with torch.inference_mode():
                        outputs, rates = time_paths(run_encoders, encoders, inputs, mask, passes, args.repeats)
                    difference = (outputs["unpacked"] - outputs["packed"]).abs().max().item()
                else:  # dropout draws differ between the calls: the tests compare the paths' gradients
                    _, rates = time_paths(training_step, encoders, inputs, mask, passes, args.repeats)
                    difference = None
                medians = {name: statistics.median(values) for name, values in rates.items()}
                settings.append(
                    {
                        "mode": mode,
                        "batch_size": batch_size,
                        "fill": mask.float().mean().item(),
                        "sentences_per_second": medians,
                        "sentences_per_second_runs": rates,
                        "unpacked_over_packed": medians["unpacked"] / medians["packed"],
                        "max_abs_difference": difference,
                    }
                )
                print(
                    f"{mode:9s} batch {batch_size:4d} fill {settings[-1]['fill']:.2f}: unpacked/packed "
                    f"{settings[-1]['unpacked_over_packed']:.2f}",
                    file=sys.stderr,
                    flush=True,
                )
    result = {
        "benchmark": "lstm_paths",
        "environment": environment(torch.device("cpu")),
        "settings": {
            "max_length": args.max_length,
            "sentences_per_pass": args.sentences,
            "repeats": args.repeats,
            "encoder_input_size": input_size,
            "unpacked_min_fill": {
                "inference": modeling.UNPACKED_MIN_FILL,
                "training": modeling.UNPACKED_MIN_FILL_TRAINING,
            },
        },
        "results": settings,
        "end_to_end": time_end_to_end(args) if args.model_dir else None,
    }
    emit(result, args.output)
    return result


if __name__ == "__main__":
    main()
