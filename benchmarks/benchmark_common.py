"""What the benchmark scripts share: corpus and device arguments, the environment record, RSS readings
and JSON output. Each script stays runnable on its own: `python benchmarks/<script>.py --help`."""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import transformers


REPO_ROOT = Path(__file__).resolve().parents[1]
# The KLP 2016 corpus may not be redistributed, so it lives beside the repository, never in it.
DEFAULT_KLP_DIR = REPO_ROOT.parent / "shared" / "data" / "klp2016"
KLP_FILES = ("train.txt", "dev.txt", "test.txt")
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
# A comparison as the README runs it: two gloo processes of one thread (`run_comparison` adds the models).
COMPARISON_FLAGS = ["--compare", "--per_device_train_batch_size", "16", "--torch_num_threads", "1"]


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        choices=["klp2016", "sample"],
        default="klp2016",
        help="klp2016 (read from --data_dir) or the sample corpus bundled with the package.",
    )
    parser.add_argument(
        "--data_dir",
        type=Path,
        default=DEFAULT_KLP_DIR,
        help=f"Folder with the KLP 2016 files {', '.join(KLP_FILES)} (default: {DEFAULT_KLP_DIR}).",
    )
    parser.add_argument(
        "--device",
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="torch device (default: cuda where available, else cpu).",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (torch.set_num_threads); default: torch's choice.",
    )
    parser.add_argument("--output", type=Path, default=None, help="Also write the JSON result to this file.")


# ModelArguments' size fields, by their names there.
MODEL_SIZE_ARGUMENTS = (
    "embedding_dim",
    "char_cnn_filters",
    "shared_hidden_size",
    "pos_hidden_size",
    "ner_hidden_size",
)


def add_model_size_arguments(parser: argparse.ArgumentParser) -> None:
    """Model size overrides for the training benchmarks; unset ones keep examples/train.py's defaults."""
    for name in MODEL_SIZE_ARGUMENTS:
        parser.add_argument(f"--{name}", type=int, default=None, help="Model size override (default: train.py's).")


def model_size_overrides(args: argparse.Namespace) -> dict[str, int]:
    """The model size options given on the command line, by name."""
    return {name: getattr(args, name) for name in MODEL_SIZE_ARGUMENTS if getattr(args, name) is not None}


def add_decoding_arguments(parser: argparse.ArgumentParser, batch_sizes: list[int], repeats: int) -> None:
    """--model_dir, --batch_sizes and --repeats, for the scripts that time a trained model's decoding."""
    parser.add_argument("--model_dir", required=True, help="A folder saved by examples/train.py (best_model/).")
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=batch_sizes)
    parser.add_argument("--repeats", type=int, default=repeats, help="Timed passes over the test split per setting.")


def check_decoding_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.repeats < 1 or min(args.batch_sizes) < 1:
        parser.error(f"--repeats and --batch_sizes: expected >= 1, received {args.repeats} and {args.batch_sizes}.")


def check_data_dir(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Fails at argument parsing, before any model is built, where --dataset klp2016 has no corpus."""
    if args.dataset != "klp2016":
        return
    missing = [name for name in KLP_FILES if not (args.data_dir / name).is_file()]
    if missing:
        parser.error(
            f"--data_dir {args.data_dir}: expected the KLP 2016 files {', '.join(KLP_FILES)}, missing "
            f"{', '.join(missing)}. Point --data_dir at the corpus, or use --dataset sample."
        )


def setup_torch(args: argparse.Namespace) -> torch.device:
    """Applies --threads and checks --device; returns the device."""
    if args.threads is not None:
        if args.threads < 1:
            raise SystemExit(f"--threads: expected a positive number, received {args.threads}.")
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: CUDA is not available on this machine; use --device cpu.")
    return device


def load_corpus(args: argparse.Namespace):
    """The corpus named by --dataset, as a DatasetDict (train / validation / test)."""
    import datasets

    from modeling_mtl_bilstm import load_korean_ner

    datasets.disable_progress_bars()  # stderr carries the benchmarks' own progress lines

    if args.dataset == "sample":
        return load_korean_ner("sample")
    missing = [name for name in KLP_FILES if not (args.data_dir / name).is_file()]
    if missing:
        raise SystemExit(
            f"--data_dir {args.data_dir}: expected the KLP 2016 files {', '.join(KLP_FILES)}, missing "
            f"{', '.join(missing)}. Point --data_dir at the corpus, or use --dataset sample."
        )
    return load_korean_ner("klp2016", data_dir=args.data_dir)


def environment(device: torch.device) -> dict:
    info = {
        "device": str(device),
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "python_version": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_available"] = len(os.sched_getaffinity(0))
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size so far (ru_maxrss: KiB on Linux, bytes on macOS), in MiB."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def current_rss_mb() -> float | None:
    """Resident set size now, in MiB, where psutil is installed (None otherwise)."""
    try:
        import psutil
    except ImportError:
        return None
    return psutil.Process().memory_info().rss / 2**20


def emit(result: dict, output: Path | None) -> None:
    """Prints the result as JSON and writes it to --output."""
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text + "\n", encoding="utf-8")


def run_comparison(arguments: list[str], output_dir: Path, models: Sequence[str] = ("mtl", "ner")) -> float:
    """Runs `examples/train.py` with `COMPARISON_FLAGS` (comparing `models`) and `arguments` into `output_dir` under
    the two-process accelerate config, resuming what an interrupted call left there (finished seeds are reused, an
    unfinished one goes on from its last checkpoint); returns its wall time in seconds."""
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--config_file",
        str(REPO_ROOT / "examples" / "accelerate_cpu_2proc.yaml"), str(REPO_ROOT / "examples" / "train.py"),
        *COMPARISON_FLAGS, "--compare_models", *models, *arguments, "--output_dir", str(output_dir),
        "--resume_from_checkpoint", "last",
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO_ROOT)
    return time.perf_counter() - started
