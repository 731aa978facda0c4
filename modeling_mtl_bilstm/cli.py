"""The `mtl-bilstm-ner` command.

    mtl-bilstm-ner predict --model DIR [--input FILE] [--output FILE] [--batch_size N] [--max_length N] [--quantize]
                           [--backend torch|onnx]
    mtl-bilstm-ner export-onnx --model DIR [--output OUT] [--int8] [--tasks ner [pos]]
    mtl-bilstm-ner push --model_dir DIR --repo_id NAME [--dry_run --local_dir OUT] [--revision R] [--private]
    mtl-bilstm-ner push-dataset --dataset NAME [--data_dir DIR] --repo_id NAME [--dry_run --local_dir OUT]

`predict` reads one text per line (UTF-8, from FILE or standard input) and writes one JSON object per line (the
[`KoreanNERPredictor`] output: text, entities, tokens), in input order; a blank line gives a result with no
entities and no tokens. `export-onnx` writes `model.onnx` (and `model.int8.onnx`) for `predict --backend onnx`.
"""

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from tqdm import tqdm

from .hub.commands import add_push_dataset_arguments, add_push_model_arguments
from .inference.predictor import DEFAULT_BATCH_SIZE, DEFAULT_MAX_LENGTH, KoreanNERPredictor


PROGRAM = "mtl-bilstm-ner"
# Lines analysed and sorted by length together: more give fuller batches, fewer an earlier first output.
LINES_PER_CALL = 1024


class InputError(ValueError):
    """An input line cannot be decoded; the message names the file and the line."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.command(args)
    except (InputError, OSError, ImportError) as error:  # unreadable input, missing model, file or extra
        parser.exit(1, f"{PROGRAM}: error: {error}\n")


def predict(args: argparse.Namespace) -> int:
    predictor = KoreanNERPredictor.from_pretrained(
        args.model,
        quantize=args.quantize,
        batch_size=args.batch_size,
        max_length=args.max_length,
        backend=args.backend,
    )
    with contextlib.ExitStack() as stack:
        if args.input is None:
            source, name = sys.stdin.buffer, "<stdin>"
            progress = None
            # Typed lines are answered one by one rather than after LINES_PER_CALL of them.
            lines_per_call = 1 if sys.stdin.isatty() else LINES_PER_CALL
        else:
            source, name = stack.enter_context(open(args.input, "rb")), args.input
            progress = stack.enter_context(tqdm(total=_count_lines(args.input), unit="line", desc="predict"))
            lines_per_call = LINES_PER_CALL
        output = sys.stdout if args.output is None else stack.enter_context(open(args.output, "w", encoding="utf-8"))

        lines = _decoded_lines(source, name)
        while block := list(islice(lines, lines_per_call)):
            for result in predictor(block):
                output.write(json.dumps(result, ensure_ascii=False) + "\n")
            output.flush()
            if progress is not None:
                progress.update(len(block))
    return 0


def export_onnx(args: argparse.Namespace) -> int:
    from .inference.onnx_export import export_onnx_from_pretrained

    try:
        paths = export_onnx_from_pretrained(args.model, args.output, tasks=args.tasks, int8=args.int8)
    except (ImportError, ValueError) as error:  # no onnx extra, or a model that cannot be exported
        raise SystemExit(f"{PROGRAM} export-onnx: {error}") from error
    for path in paths.values():
        print(path)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="Korean named-entity recognition with a multi-task Bi-LSTM."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    predict_parser = commands.add_parser(
        "predict",
        help="tag the named entities of each line of a text file",
        description="Reads one text per line and writes one JSON object (text, entities, tokens) per line.",
    )
    predict_parser.add_argument(
        "--model", required=True, help="folder written by save_pretrained, or a Hub repository id"
    )
    predict_parser.add_argument(
        "--input", type=Path, help="UTF-8 text file, one text per line (default: standard input)"
    )
    predict_parser.add_argument("--output", type=Path, help="JSON lines file to write (default: standard output)")
    predict_parser.add_argument(
        "--batch_size",
        type=_positive_int,
        default=DEFAULT_BATCH_SIZE,
        help="sentences per forward pass (default: %(default)s)",
    )
    predict_parser.add_argument(
        "--max_length",
        type=_positive_int,
        default=DEFAULT_MAX_LENGTH,
        help="morphemes per forward pass; longer sentences are chunked (default: %(default)s)",
    )
    predict_parser.add_argument(
        "--quantize", action="store_true", help="int8: torch's dynamic quantization, or model.int8.onnx (CPU)"
    )
    predict_parser.add_argument(
        "--backend",
        choices=("torch", "onnx"),
        default="torch",
        help="run the model with torch, or with ONNX Runtime from the files of export-onnx (default: %(default)s)",
    )
    predict_parser.set_defaults(command=predict)
    export_parser = commands.add_parser(
        "export-onnx",
        help="write model.onnx (and model.int8.onnx) for predict --backend onnx",
        description="Exports a saved model to ONNX (dynamic batch and length; each Bi-LSTM one ONNX LSTM node with "
        "the sentence lengths) and, with --int8, its int8 quantisation for ONNX Runtime.",
    )
    export_parser.add_argument(
        "--model", required=True, help="folder written by save_pretrained, or a Hub repository id"
    )
    export_parser.add_argument(
        "--output", type=Path, help="folder to write to (default: the --model folder); gets config and tokenizer too"
    )
    export_parser.add_argument("--int8", action="store_true", help="also write model.int8.onnx (dynamic int8)")
    export_parser.add_argument(
        "--tasks",
        nargs="+",
        choices=("ner", "pos"),
        help="tasks whose tag scores the graph outputs (default: all of the model's; `ner` leaves POS out)",
    )
    export_parser.set_defaults(command=export_onnx)
    add_push_model_arguments(
        commands.add_parser(
            "push",
            help="publish a saved model on the Hugging Face Hub (or write the folder that would be published)",
            description="Builds a self-contained Hub folder (safetensors weights, config, tokenizer, modeling code, "
            "model card) and uploads it; the token comes from HF_TOKEN or `hf auth login`.",
        )
    )
    add_push_dataset_arguments(
        commands.add_parser(
            "push-dataset",
            help="publish a corpus on the Hub as Parquet with a dataset card",
            description="Writes the corpus as Parquet files with a dataset card and uploads them.",
        )
    )
    return parser


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {value!r}")
    return number


def _decoded_lines(source, name: str) -> Iterator[str]:
    """The lines of a binary stream without their line ending, decoded one by one so that a bad byte is
    reported at its line."""
    for number, raw in enumerate(source, start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # UTF-8 byte order mark
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError(
                f"{name}, line {number}: expected UTF-8 text, found byte {raw[error.start]:#04x}: {raw!r}"
            ) from None
        yield line.removesuffix("\n").removesuffix("\r")


def _count_lines(path: Path) -> int:
    with open(path, "rb") as file:
        return sum(1 for _ in file)


if __name__ == "__main__":
    sys.exit(main())
