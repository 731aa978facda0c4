#!/usr/bin/env python
"""How much int8 dynamic quantisation can speed this model up on CPU: an Amdahl account of fp32 inference.

    python benchmarks/int8_headroom.py --model_dir runs/compare/best_model --output benchmarks/results/int8_headroom.json

`quantize_dynamic` turns the matrix multiplications of the LSTMs and linear layers into int8 ones; everything
else (gate nonlinearities and per-step bookkeeping of the packed recurrences, syllable CNN, embeddings,
Viterbi) stays fp32. For each batch size this script

1. times `model.decode` over the test split in fp32 and in int8, as inference_speed.py does;
2. replays, in isolation but in the same order and shapes, every matrix multiplication of the fp32 decode:
   per LSTM layer and direction one input projection over all tokens and one `[active sentences, hidden]
   x [hidden, 4 hidden]` product per time step (the packed CPU recurrence of torch), and the tag classifiers;
   then the same products with torch's dynamic int8 linear kernel (`quantized::linear_dynamic`, the kernel
   the quantised LSTM calls), activations quantised on the fly as in the model;
3. reports the fp32 time spent in them, the speed-up bound if int8 made them free
   (`fp32 / (fp32 - fp32 matmuls)`), how much faster than fp32's the int8 products would have to be for
   the whole decode to reach `--target_speedup` (Amdahl), how much faster they are, and the int8 time
   predicted from the replays (`fp32 - fp32 matmuls + int8 matmuls`) against the measured one.

The replayed products are counted against the matrix-multiply calls of a profiled fp32 decode
(`replay_matches_profiler`), so the account covers the model's real work, no more, no less. torch runs a
packed batch whose sentences all have one length through oneDNN's fused LSTM, whose products cannot be
replayed apart; `batches_with_fused_lstm` counts them (0 on the KLP 2016 test split at batch 32 and up).

The account is of the packed fp32 path, the one the int8 model keeps: the script makes fp32 run packed too
(`UNPACKED_MIN_FILL` above 1), where the model otherwise runs its CPU inference unpacked through oneDNN's fused LSTM
(`benchmarks/lstm_paths.py` compares the two fp32 paths).
"""

import argparse
import math
import statistics
import time

import torch
from benchmark_common import (
    add_common_arguments,
    add_decoding_arguments,
    check_data_dir,
    check_decoding_arguments,
    emit,
    environment,
    load_corpus,
    setup_torch,
)
from inference_speed import encode_batches, time_decoding
from torch import nn
from torch.profiler import ProfilerActivity, profile

from modeling_mtl_bilstm import MTLBiLSTMForTokenClassification, MTLBiLSTMTokenizer
from modeling_mtl_bilstm import modeling_mtl_bilstm as modeling
from modeling_mtl_bilstm.inference.predictor import quantize_dynamic_int8


MATMUL_OPS = ("aten::addmm", "aten::mm")


def lstm_layers(model: MTLBiLSTMForTokenClassification) -> list[nn.LSTM]:
    """The model's LSTMs in the order decode runs them: shared, then each task head."""
    lstms = [model.shared_encoder.lstm]
    lstms += [head.encoder.lstm for head in model.heads.values() if head.encoder is not None]
    return lstms


def matmul_plan(
    model: MTLBiLSTMForTokenClassification, batch: dict
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(input, weight, bias) of every matrix product of one fp32 decode of `batch`, in order.

    Inputs are random (the kernels' cost does not depend on the values); shapes follow torch's packed
    LSTM on CPU: the input projection of all tokens at once, then one recurrent product per time step
    over the sentences still running (`batch_sizes` of the packed sequence). A batch whose sentences all
    have one length runs through oneDNN's fused LSTM instead, with no separate products to replay."""
    lengths = batch["attention_mask"].sum(dim=1)
    num_tokens = int(lengths.sum())
    steps = [int((lengths > step).sum()) for step in range(int(lengths.max()))]
    generator = torch.Generator().manual_seed(0)
    plan = []
    for lstm in [] if runs_fused_lstm(batch) else lstm_layers(model):
        for layer in range(lstm.num_layers):
            for suffix in ("", "_reverse") if lstm.bidirectional else ("",):
                weight_ih = getattr(lstm, f"weight_ih_l{layer}{suffix}").detach()
                weight_hh = getattr(lstm, f"weight_hh_l{layer}{suffix}").detach()
                bias_ih = getattr(lstm, f"bias_ih_l{layer}{suffix}").detach()
                bias_hh = getattr(lstm, f"bias_hh_l{layer}{suffix}").detach()
                plan.append((torch.randn(num_tokens, weight_ih.size(1), generator=generator), weight_ih, bias_ih))
                hidden = torch.randn(steps[0], lstm.hidden_size, generator=generator)
                for active in steps if not suffix else reversed(steps):
                    plan.append((hidden[:active], weight_hh, bias_hh))
    batch_size, seq_len = batch["input_ids"].shape
    for head in model.heads.values():
        classifier = head.classifier
        plan.append(
            (
                torch.randn(batch_size * seq_len, classifier.in_features, generator=generator),
                classifier.weight.detach(),
                classifier.bias.detach(),
            )
        )
    return plan


def runs_fused_lstm(batch: dict) -> bool:
    lengths = batch["attention_mask"].sum(dim=1)
    return bool(lengths.min() == lengths.max())


def int8_plans(plans: list[list]) -> list[list]:
    """The same products as dynamic int8 linear ops, each weight prepacked once as quantize_dynamic does."""
    packed = {}
    for plan in plans:
        for _, weight, bias in plan:
            key = (weight.data_ptr(), bias.data_ptr())
            if key not in packed:
                linear = nn.Linear(weight.size(1), weight.size(0))
                with torch.no_grad():
                    linear.weight.copy_(weight)
                    linear.bias.copy_(bias)
                packed[key] = quantize_dynamic_int8(nn.Sequential(linear))[0]
    return [
        [(inputs, packed[(weight.data_ptr(), bias.data_ptr())]) for inputs, weight, bias in plan] for plan in plans
    ]


def time_fp32_matmuls(plans: list[list], repeats: int) -> float:
    """Seconds for all fp32 products of all batches (median of repeats), as torch's `linear` runs them."""

    def run():
        for plan in plans:
            for inputs, weight, bias in plan:
                torch.addmm(bias, inputs, weight.t())

    return median_seconds(run, repeats)


def time_int8_matmuls(plans: list[list], repeats: int) -> float:
    def run():
        for plan in plans:
            for inputs, linear in plan:
                torch.ops.quantized.linear_dynamic(inputs, linear._packed_params._packed_params, reduce_range=True)

    return median_seconds(run, repeats)


def median_seconds(run, repeats: int) -> float:
    with torch.inference_mode():
        run()  # warm-up
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def profiled_matmul_calls(model, batches: list[dict]) -> int:
    with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU]) as profiler:
        for batch in batches:
            model.decode(**batch)
    return sum(event.count for event in profiler.key_averages() if event.key in MATMUL_OPS)


def matmul_speedup_needed(matmul_share: float, target_speedup: float) -> float:
    """Amdahl: the speed-up the matmuls alone need for the whole to reach the target (inf: out of reach)."""
    other_share = 1 - matmul_share
    remaining = 1 / target_speedup - other_share
    return matmul_share / remaining if remaining > 0 else float("inf")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    add_decoding_arguments(parser, batch_sizes=[32, 64, 256], repeats=5)
    parser.add_argument(
        "--quantized_engine",
        choices=torch.backends.quantized.supported_engines,
        default=torch.backends.quantized.engine,
        help="torch.backends.quantized.engine for the int8 kernels (default: %(default)s).",
    )
    parser.add_argument("--target_speedup", type=float, default=1.5, help="int8 over fp32 target (default: 1.5).")
    args = parser.parse_args(argv)
    check_decoding_arguments(parser, args)
    check_data_dir(parser, args)
    if args.device != "cpu":
        parser.error(f"--device {args.device}: int8 dynamic quantisation runs on CPU only; expected cpu.")
    return args


def main(argv=None) -> dict:
    packed_only, modeling.UNPACKED_MIN_FILL = modeling.UNPACKED_MIN_FILL, math.inf
    try:
        return account(parse_args(argv))
    finally:
        modeling.UNPACKED_MIN_FILL = packed_only


def account(args: argparse.Namespace) -> dict:
    device = setup_torch(args)
    torch.backends.quantized.engine = args.quantized_engine
    model = MTLBiLSTMForTokenClassification.from_pretrained(args.model_dir).eval()
    tokenizer = MTLBiLSTMTokenizer.from_pretrained(args.model_dir)
    quantized = quantize_dynamic_int8(model)
    test = load_corpus(args)["test"]
    sentences = sorted(test["tokens"], key=len)

    per_batch_size = {}
    for batch_size in args.batch_sizes:
        batches = encode_batches(tokenizer, sentences, batch_size, device)
        rates = time_decoding({"fp32": model, "int8": quantized}, batches, len(sentences), args.repeats, device)
        fp32_seconds, int8_seconds = (len(sentences) / statistics.median(rates[name]) for name in ("fp32", "int8"))
        plans = [matmul_plan(model, batch) for batch in batches]
        quantized_plans = int8_plans(plans)
        fp32_matmul_seconds = time_fp32_matmuls(plans, args.repeats)
        int8_matmul_seconds = time_int8_matmuls(quantized_plans, args.repeats)
        replayed = sum(map(len, plans))
        profiled = profiled_matmul_calls(model, batches)
        predicted_int8 = fp32_seconds - fp32_matmul_seconds + int8_matmul_seconds
        per_batch_size[str(batch_size)] = {
            "fp32_ms": 1000 * fp32_seconds,
            "int8_ms": 1000 * int8_seconds,
            "int8_speedup_measured": fp32_seconds / int8_seconds,
            "matmuls_replayed": replayed,
            "matmuls_profiled": profiled,
            "replay_matches_profiler": replayed == profiled,
            # Their LSTM time counts as non-matmul time below, so the account is exact where this is 0.
            "batches_with_fused_lstm": sum(map(runs_fused_lstm, batches)),
            "fp32_matmul_ms": 1000 * fp32_matmul_seconds,
            "int8_matmul_ms": 1000 * int8_matmul_seconds,
            "int8_matmul_speedup": fp32_matmul_seconds / int8_matmul_seconds,
            "fp32_matmul_share": fp32_matmul_seconds / fp32_seconds,
            "speedup_bound_if_matmuls_were_free": fp32_seconds / max(fp32_seconds - fp32_matmul_seconds, 1e-9),
            "int8_matmul_speedup_needed_for_target": matmul_speedup_needed(
                fp32_matmul_seconds / fp32_seconds, args.target_speedup
            ),
            "int8_ms_predicted": 1000 * predicted_int8,
            "int8_speedup_predicted": fp32_seconds / predicted_int8,
        }

    result = {
        "benchmark": "int8_headroom",
        "environment": environment(device),
        "settings": {
            "model_dir": str(args.model_dir),
            "dataset": args.dataset,
            "test_sentences": len(sentences),
            "batch_sizes": args.batch_sizes,
            "repeats": args.repeats,
            "quantized_engine": torch.backends.quantized.engine,
            "target_speedup": args.target_speedup,
        },
        "batch_sizes": per_batch_size,
    }
    emit(result, args.output)
    return result


if __name__ == "__main__":
    main()
