"""Streaming a large corpus through `mtl-bilstm-ner predict`: time, sentences per second and peak memory.

Writes an input of `--sentences` lines (the KLUE-NER dev sentences, entity marks removed, repeated in order; or the
lines of `--source_text`) as text lines, JSON lines or Parquet, runs the command on it in a child process, and reports
the wall time, sentences per second, the peak RSS of the largest process (`getrusage` of the children) and of all
its processes together (sampled from /proc), and checks that the output has one line per input, in order.

    python benchmarks/streaming.py --model DIR --sentences 1000000 --output benchmarks/results/serving-streaming.json
"""

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from benchmark_common import REPO_ROOT, peak_rss_mb
from serving_common import DEFAULT_KLUE_FILE, read_klue_sentences


# KLUE-NER's sentence lines: `## <id>\t<sentence with <surface:TYPE> marks>`.
RSS_SAMPLE_SECONDS = 0.5


def main(argv: list[str] | None = None) -> dict:
    args = _parser().parse_args(argv)
    sentences = load_sentences(args)
    with tempfile.TemporaryDirectory(prefix="streaming-benchmark-", dir=args.work_dir) as work_dir:
        suffix = {"text": ".txt", "jsonl": ".jsonl", "parquet": ".parquet"}[args.input_format]
        input_path = Path(work_dir) / f"input{suffix}"
        output_path = Path(work_dir) / "output.jsonl"
        started = time.perf_counter()
        write_input(input_path, itertools.islice(itertools.cycle(sentences), args.sentences), args.input_format)
        print(f"input written in {time.perf_counter() - started:.1f} s: {input_path}", file=sys.stderr)
        command = [
            sys.executable, "-m", "modeling_mtl_bilstm.cli", "predict", "--model", str(args.model),
            "--input", str(input_path), "--output", str(output_path), "--backend", args.backend,
            "--num_workers", str(args.num_workers),
        ]  # fmt: skip
        if args.quantize:
            command.append("--quantize")
        if args.batch_size:
            command += ["--batch_size", str(args.batch_size)]
        run = run_measured(command)
        lines, in_order = check_output(output_path, itertools.islice(itertools.cycle(sentences), args.sentences))
        result = {
            "command": " ".join(["python", "benchmarks/streaming.py", *(argv if argv is not None else sys.argv[1:])]),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "settings": {
                "model": str(args.model),
                "sentences": args.sentences,
                "distinct_sentences": len(sentences),
                "source": str(args.source_text or args.klue_file),
                "input_format": args.input_format,
                "input_bytes": input_path.stat().st_size,
                "backend": args.backend,
                "quantize": args.quantize,
                "num_workers": args.num_workers,
                "batch_size": args.batch_size,
                "predict_command": " ".join(command[1:]),
            },
            "seconds": round(run["seconds"], 2),
            "sentences_per_second": round(args.sentences / run["seconds"], 1),
            "peak_rss_mb_largest_process": round(run["peak_rss_mb_largest_process"], 1),
            "peak_rss_mb_all_processes": round(run["peak_rss_mb_all_processes"], 1),
            "output_lines": lines,
            "output_bytes": output_path.stat().st_size,
            "output_in_input_order": in_order,
            "returncode": run["returncode"],
            "environment": {
                "python_version": sys.version.split()[0],
                "cpu_count": os.cpu_count(),
                "cpus_available": len(os.sched_getaffinity(0)),
                "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            },
        }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n", encoding="utf-8")
    if run["returncode"] != 0 or lines != args.sentences or not in_order:
        raise SystemExit(f"predict failed or lost sentences: returncode {run['returncode']}, {lines} output lines")
    return result


def load_sentences(args: argparse.Namespace) -> list[str]:
    """The distinct sentences to repeat: the non-blank lines of --source_text, or KLUE-NER's dev sentences."""
    if args.source_text is not None:
        sentences = [line for line in args.source_text.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        sentences = read_klue_sentences(args.klue_file)
    if not sentences:
        raise SystemExit("expected sentences to repeat, found none")
    return sentences


def write_input(path: Path, texts: Iterator[str], input_format: str) -> None:
    """Writes the texts as one file of the format, streaming (Parquet in row groups of 100,000)."""
    if input_format == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([("text", pa.string())])
        with pq.ParquetWriter(path, schema) as writer:
            while chunk := list(itertools.islice(texts, 100_000)):
                writer.write_table(pa.table({"text": chunk}, schema=schema))
        return
    with open(path, "w", encoding="utf-8") as file:
        for text in texts:
            file.write((json.dumps({"text": text}, ensure_ascii=False) if input_format == "jsonl" else text) + "\n")


def run_measured(command: list[str]) -> dict:
    """Runs the command; its wall time, exit code, the peak RSS of its largest process (`ru_maxrss` of the waited
    children) and the peak of the summed RSS of it and its descendants (sampled)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT)
    peak_total = [0.0]

    def sample() -> None:
        while process.poll() is None:
            peak_total[0] = max(peak_total[0], tree_rss_mb(process.pid))
            time.sleep(RSS_SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    returncode = process.wait()
    seconds = time.perf_counter() - started
    sampler.join()
    return {
        "seconds": seconds,
        "returncode": returncode,
        "peak_rss_mb_largest_process": peak_rss_mb(resource.RUSAGE_CHILDREN),
        "peak_rss_mb_all_processes": peak_total[0],
    }


def tree_rss_mb(root: int) -> float:
    """The summed RSS of process `root` and its descendants, from /proc, in MiB."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as file:
                    # The fields after the command name (which may hold spaces) start with the state, then the ppid.
                    parents[int(entry)] = int(file.read().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree.update(children)
        frontier = children
    total_kib = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status", encoding="utf-8") as file:
                total_kib += next((int(line.split()[1]) for line in file if line.startswith("VmRSS:")), 0)
        except OSError:
            continue
    return total_kib / 1024


def check_output(path: Path, expected_texts: Iterator[str]) -> tuple[int, bool]:
    """The number of output lines and whether each one's text is the input's at its position."""
    lines, in_order = 0, True
    with open(path, encoding="utf-8") as file:
        for line, expected in itertools.zip_longest(file, expected_texts):
            if line is None or expected is None:
                in_order = False
                lines += line is not None
                continue
            lines += 1
            in_order = in_order and json.loads(line)["text"] == expected
    return lines, in_order


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="A saved model folder (with model.onnx for onnx).")
    parser.add_argument("--sentences", type=int, default=1_000_000, help="Input lines (default: %(default)s).")
    parser.add_argument("--klue_file", type=Path, default=DEFAULT_KLUE_FILE, help="KLUE-NER dev file to draw from.")
    parser.add_argument("--source_text", type=Path, help="Draw the sentences from this text file's lines instead.")
    parser.add_argument("--input_format", choices=("text", "jsonl", "parquet"), default="text")
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    parser.add_argument("--quantize", action="store_true", help="int8 (torch dynamic, or model.int8.onnx).")
    parser.add_argument("--num_workers", type=int, default=1, help="predict's --num_workers (default: 1).")
    parser.add_argument("--batch_size", type=int, help="predict's --batch_size (default: the predictor's).")
    parser.add_argument("--work_dir", type=Path, help="Where the input and output files go (default: a temp dir).")
    parser.add_argument("--output", type=Path, help="Also write the JSON result to this file.")
    return parser


if __name__ == "__main__":
    main()
