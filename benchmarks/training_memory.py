#!/usr/bin/env python
"""Peak memory (RSS) of a training run through examples/train.py, against a target (2 GB by default).

    python benchmarks/training_memory.py --output benchmarks/results/training_memory.json
    python benchmarks/training_memory.py --dataset sample --max_steps 5 --embedding_dim 16 ...

Runs `examples/train.py --task mtl --seeds 1 --max_steps N` (the default-size model, its evaluation
every epoch, checkpoints, best-model reload, test evaluation and saving) in a child process, and reads
the child's peak resident set size from the kernel (`wait4` rusage, the high-water mark), plus psutil
samples every --sample_interval seconds where psutil is installed. A second child that only imports
torch, transformers, datasets and the package gives the baseline every run pays before training.
On CUDA this is host memory only.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


try:
    import psutil
except ImportError:  # optional: the kernel's peak RSS does not need it
    psutil = None

from benchmark_common import (
    REPO_ROOT,
    add_common_arguments,
    add_model_size_arguments,
    check_data_dir,
    emit,
    environment,
    model_size_overrides,
    setup_torch,
)


IMPORTS_ONLY = "import torch, transformers, datasets, evaluate, modeling_mtl_bilstm"


def run_measured(command: list[str], log_path: Path, sample_interval: float) -> dict:
    """Runs `command`, returns its exit code, wall time, kernel peak RSS and psutil's sampled peak (MiB)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    samples = []
    with open(log_path, "w", encoding="utf-8") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=env)
        sampler = threading.Thread(target=_sample_rss, args=(process.pid, sample_interval, samples), daemon=True)
        sampler.start()
        # wait4 rather than Popen.wait: it returns this child's own rusage, ru_maxrss included.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        sampler.join()
    if process.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(command)} exited with {process.returncode}; end of {log_path}:\n{tail}")
    return {
        "peak_rss_mb": usage.ru_maxrss / 2**10,  # KiB on Linux
        "sampled_peak_rss_mb": max(samples) / 2**20 if samples else None,
        "rss_samples": len(samples),
        "wall_seconds": seconds,
    }


def _sample_rss(pid: int, interval: float, samples: list[int]) -> None:
    if psutil is None:
        return
    try:
        process = psutil.Process(pid)
        while process.status() != psutil.STATUS_ZOMBIE:
            samples.append(process.memory_info().rss)
            time.sleep(interval)
    except psutil.Error:  # the child has exited and been reaped
        return


def train_command(args: argparse.Namespace, output_dir: Path) -> list[str]:
    command = [
        sys.executable,
        "examples/train.py",  # run from the repository root
        "--task",
        "mtl",
        "--seeds",
        str(args.seed),
        "--max_steps",
        str(args.max_steps),
        "--output_dir",
        str(output_dir),
        "--disable_tqdm",
        "true",
        "--use_cpu",
        "true" if args.device == "cpu" else "false",
    ]
    if args.dataset == "klp2016":
        command += ["--dataset", "klp2016", "--data_dir", str(args.data_dir)]
    if args.threads:
        command += ["--torch_num_threads", str(args.threads)]
    for name, value in model_size_overrides(args).items():
        command += [f"--{name}", str(value)]
    return command


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--max_steps", type=int, default=300, help="Optimiser steps of the training run.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target_mb", type=float, default=2048.0, help="Peak RSS the run should stay under.")
    parser.add_argument("--sample_interval", type=float, default=0.1, help="Seconds between psutil samples.")
    parser.add_argument(
        "--train_output_dir",
        type=Path,
        default=None,
        help="Keep examples/train.py's output (results, best_model/, train.log) here; default: a temporary folder, removed.",
    )
    add_model_size_arguments(parser)
    args = parser.parse_args(argv)
    if args.max_steps < 1:
        parser.error(f"--max_steps: expected >= 1, received {args.max_steps}.")
    check_data_dir(parser, args)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = setup_torch(args)
    output_dir = args.train_output_dir or Path(tempfile.mkdtemp(prefix="training_memory_"))
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        command = train_command(args, output_dir)
        training = run_measured(command, output_dir / "train.log", args.sample_interval)
        imports = run_measured([sys.executable, "-c", IMPORTS_ONLY], output_dir / "imports.log", args.sample_interval)
    finally:
        if args.train_output_dir is None:
            shutil.rmtree(output_dir, ignore_errors=True)
    result = {
        "benchmark": "training_memory",
        "environment": environment(device),
        "settings": {
            "dataset": args.dataset,
            "max_steps": args.max_steps,
            "seed": args.seed,
            "command": " ".join(["python", *command[1:]]),
        },
        "training": training,
        "imports_only": imports,
        "training_over_imports_mb": training["peak_rss_mb"] - imports["peak_rss_mb"],
        "target_mb": args.target_mb,
        "under_target": training["peak_rss_mb"] < args.target_mb,
    }
    emit(result, args.output)
    return result


if __name__ == "__main__":
    main()
