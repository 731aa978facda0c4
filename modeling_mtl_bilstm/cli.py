"""The `mtl-bilstm-ner` command.

    mtl-bilstm-ner predict --model DIR [--input FILE] [--output FILE] [--batch_size N] [--max_length N] [--quantize]
                           [--backend torch|onnx] [--input_format text|jsonl|parquet] [--text_field NAME]
                           [--resume] [--num_workers N]
    mtl-bilstm-ner export-onnx --model DIR [--output OUT] [--int8] [--tasks ner [pos]]
    mtl-bilstm-ner evaluate --model DIR --corpora NAME[=DIR] ... [--split test|validation] [--output FILE]
                            [--batch_size N] [--backend torch|onnx] [--quantize]
    mtl-bilstm-ner push --model_dir DIR --repo_id NAME [--dry_run --local_dir OUT] [--revision R] [--private]
    mtl-bilstm-ner push-dataset --dataset NAME [--data_dir DIR] --repo_id NAME [--dry_run --local_dir OUT]

`predict` reads texts (UTF-8 lines from FILE or standard input, the `--text_field` of each line of a JSON lines file,
or that column of a Parquet file) and writes one JSON object per text (the [`KoreanNERPredictor`] output: text,
entities, tokens), in input order; a blank text gives a result with no entities and no tokens. It streams: memory
does not grow with the input. `export-onnx` writes `model.onnx` (and `model.int8.onnx`) for `predict --backend onnx`.
`evaluate` scores a model from the raw sentences of corpora (strict character spans, see `evaluation`) and writes
evaluation.json beside it, which `push` shows in the model card.

Modules that need torch or transformers are imported by the commands that use them, so that `predict --backend onnx`
runs without them.
"""

import argparse
import contextlib
import sys
from pathlib import Path

from .hub.commands import add_push_dataset_arguments, add_push_model_arguments
from .streaming import (
    DEFAULT_TEXT_FIELD,
    INPUT_FORMATS,
    InputError,
    blocks,
    count_texts,
    input_format,
    read_texts,
    resume_output,
    skip_texts,
    tag_blocks,
)


PROGRAM = "mtl-bilstm-ner"
# Texts analysed and sorted by length together: more give fuller batches, fewer an earlier first output.
LINES_PER_CALL = 1024


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "resume", False) and args.output is None:
        parser.error("--resume: expected an --output file to continue, received none (standard output)")
    if getattr(args, "input_format", None) == "parquet" and args.input is None:
        parser.error("--input_format parquet: expected an --input file, received none (standard input)")
    try:
        return args.command(args)
    except (InputError, OSError, ImportError) as error:  # unreadable input, missing model, file or extra
        parser.exit(1, f"{PROGRAM}: error: {error}\n")


def predict(args: argparse.Namespace) -> int:
    """Tags the texts of the input in blocks of `LINES_PER_CALL` and writes each block's JSON lines at once, flushed,
    so that an interrupted output ends with complete lines (but for a last one that `--resume` truncates)."""
    file_format = input_format(args.input, args.input_format)
    predictor_kwargs = {
        name: getattr(args, name)
        for name in ("batch_size", "max_length", "quantize", "backend")
        if getattr(args, name) is not None
    }
    with contextlib.ExitStack() as stack:
        if args.input is None:
            source, name, total = sys.stdin.buffer, "<stdin>", None
            # Typed lines are answered one by one rather than after LINES_PER_CALL of them.
            lines_per_call = 1 if sys.stdin.isatty() else LINES_PER_CALL
        else:
            # Parquet is read from its path (record batches of one column), the line formats from a byte stream.
            source = args.input if file_format == "parquet" else stack.enter_context(open(args.input, "rb"))
            name, total = str(args.input), count_texts(args.input, file_format)
            lines_per_call = LINES_PER_CALL
        done = resume_output(args.output) if args.resume else 0
        texts = skip_texts(read_texts(source, name, file_format, args.text_field), done, name)
        if args.output is None:
            output = sys.stdout
        else:
            output = stack.enter_context(open(args.output, "a" if args.resume else "w", encoding="utf-8"))
        progress = None if total is None else stack.enter_context(_progress_bar(total, done))
        for count, lines in tag_blocks(
            blocks(texts, lines_per_call), args.model, args.num_workers, **predictor_kwargs
        ):
            output.write(lines)
            output.flush()
            if progress is not None:
                progress.update(count)
    return 0


def _progress_bar(total: int, done: int):
    """A tqdm bar over the input's texts, counted as sentences (one per input line or row), from `done`; a no-op
    where tqdm is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        return contextlib.nullcontext()
    return tqdm(total=total, initial=done, unit="sentence", desc="predict", smoothing=0.1)


def export_onnx(args: argparse.Namespace) -> int:
    from .inference.onnx_export import export_onnx_from_pretrained

    try:
        paths = export_onnx_from_pretrained(args.model, args.output, tasks=args.tasks, int8=args.int8)
    except (ImportError, ValueError) as error:  # no onnx extra, or a model that cannot be exported
        raise SystemExit(f"{PROGRAM} export-onnx: {error}") from error
    for path in paths.values():
        print(path)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from .evaluation import EVALUATION_JSON, EvaluationError, evaluate_predictor, write_evaluation
    from .hub.publish import locate_model
    from .inference.predictor import KoreanNERPredictor
    from .training.checks import ArgumentError
    from .training.corpus import parse_corpus_argument

    try:
        corpora = [parse_corpus_argument(argument, "--corpora") for argument in args.corpora]
    except ArgumentError as error:
        raise SystemExit(f"{PROGRAM} evaluate: {error}") from error
    model_path = locate_model(args.model)
    predictor_kwargs = {"batch_size": args.batch_size} if args.batch_size else {}
    predictor = KoreanNERPredictor.from_pretrained(
        model_path, backend=args.backend, quantize=args.quantize, **predictor_kwargs
    )
    try:
        results = evaluate_predictor(predictor, corpora, split=args.split)
    except EvaluationError as error:
        raise SystemExit(f"{PROGRAM} evaluate: {error}") from error
    setting = {"backend": args.backend, "quantize": args.quantize, "batch_size": predictor.batch_size}
    if args.backend == "torch":
        import torch

        setting["torch_threads"] = torch.get_num_threads()
    path = write_evaluation(results, args.output or model_path / EVALUATION_JSON, setting=setting)
    for result in results:
        print(
            f"{result.corpus} {result.split}: F1 {100 * result.f1:.2f} (P {100 * result.precision:.2f}, "
            f"R {100 * result.recall:.2f}) over {', '.join(result.entity_types)}; "
            f"{result.sentences_per_second:.0f} sentences/s"
        )
    print(path)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="Korean named-entity recognition with a multi-task Bi-LSTM."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    predict_parser = commands.add_parser(
        "predict",
        help="tag the named entities of each text of a file (text lines, JSON lines or Parquet)",
        description="Reads texts and writes one JSON object (text, entities, tokens) per text, in input order.",
    )
    _add_predict_arguments(predict_parser)
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
    _add_evaluate_arguments(
        commands.add_parser(
            "evaluate",
            help="score a model from the raw sentences of corpora and write evaluation.json for its model card",
            description="Runs the predictor on the raw sentences of a split of each corpus and scores its entities "
            "by strict character span over the types the corpus annotates and the model knows.",
        )
    )
    add_push_model_arguments(
        commands.add_parser(
            "push",
            help="publish a saved model on the Hugging Face Hub (or write the folder that would be published)",
            description="Builds a self-contained Hub folder (safetensors weights, config, tokenizer, modeling code, "
            "model card, Inference Endpoints handler) and uploads it; the token comes from HF_TOKEN or "
            "`hf auth login`.",
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


def _add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="folder written by save_pretrained, or a Hub repository id")
    parser.add_argument(
        "--input",
        type=Path,
        help="file of texts: UTF-8 lines (.txt or any other suffix), JSON lines (.jsonl) or Parquet (.parquet) "
        "(default: text lines from standard input)",
    )
    parser.add_argument(
        "--input_format",
        choices=sorted(set(INPUT_FORMATS.values())),
        help="read --input as this format whatever its suffix",
    )
    parser.add_argument(
        "--text_field",
        default=DEFAULT_TEXT_FIELD,
        help="the field of each JSON line, or the Parquet column, that holds the text (default: %(default)s)",
    )
    parser.add_argument("--output", type=Path, help="JSON lines file to write (default: standard output)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted --output: keep its complete lines, drop a half-written last one, and tag the "
        "inputs after those it has",
    )
    parser.add_argument(
        "--num_workers",
        type=_positive_int,
        default=1,
        help="processes tagging blocks of texts, each with its own model on its share of the cores; the output "
        "keeps the input order (default: %(default)s)",
    )
    parser.add_argument(
        "--batch_size", type=_positive_int, help="sentences per forward pass (default: the predictor's)"
    )
    parser.add_argument(
        "--max_length",
        type=_positive_int,
        help="morphemes per forward pass; longer sentences are chunked (default: the predictor's)",
    )
    parser.add_argument(
        "--quantize", action="store_true", help="int8: torch's dynamic quantization, or model.int8.onnx (CPU)"
    )
    parser.add_argument(
        "--backend",
        choices=("torch", "onnx"),
        default="torch",
        help="run the model with torch, or with ONNX Runtime from the files of export-onnx (default: %(default)s)",
    )


def _add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", required=True, help="saved model folder, or a training --output_dir (with best_model/)"
    )
    parser.add_argument(
        "--corpora",
        nargs="+",
        required=True,
        metavar="NAME[=DIR]",
        help="corpora with raw text, as NAME=DIR (klp2016, klue) or sample, e.g. klue=../shared/data/klue-ner",
    )
    parser.add_argument("--split", choices=("test", "validation"), default="test")
    parser.add_argument("--output", type=Path, help="file to write (default: evaluation.json in the model)")
    parser.add_argument("--batch_size", type=_positive_int, help="sentences per forward pass")
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    parser.add_argument("--quantize", action="store_true", help="int8, as predict --quantize")
    parser.set_defaults(command=evaluate)


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {value!r}")
    return number


if __name__ == "__main__":
    sys.exit(main())
