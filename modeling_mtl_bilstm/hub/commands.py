"""The publishing commands (`mtl-bilstm-ner push`, `mtl-bilstm-ner push-dataset`, and the example scripts
examples/push_to_hub.py and examples/push_dataset_to_hub.py): their arguments and what they run.

The publishing code (huggingface_hub, transformers, torch) is imported when a command runs, so that the
`mtl-bilstm-ner` parser builds without them."""

import argparse
import logging
import tempfile


DATASETS = ("sample", "klp2016", "ner2016", "klue", "conll")


def add_push_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model_dir", required=True, help="A saved model folder, or a training --output_dir (with best_model/)."
    )
    _add_common_arguments(parser, repo_help="Hub repository, e.g. your-name/mtl-bilstm-ner-ko.")
    parser.add_argument(
        "--revision", default="main", help="Branch to upload to, created from main if needed; pinned in the card."
    )
    parser.add_argument("--commit_message", default="Upload mtl-bilstm-ner model")
    parser.add_argument(
        "--with_onnx",
        action="store_true",
        help="Also publish model.onnx and model.int8.onnx, for ONNX Runtime (needs the onnx extra).",
    )
    _add_restricted_license_argument(parser, "a model whose gazetteer holds entries of a restricted corpus")
    parser.set_defaults(command=push_model)


def add_push_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument(
        "--data_dir", help="Corpus folder: train.txt, dev.txt, test.txt (klp2016, conll); klue-ner-v1.1_*.tsv (klue)."
    )
    _add_common_arguments(parser, repo_help="Hub dataset repository, e.g. your-name/korean-ner-sample.")
    _add_restricted_license_argument(parser, "a corpus whose licence restricts redistribution (klp2016)")
    parser.add_argument("--commit_message", default="Upload Korean NER corpus")
    parser.set_defaults(command=push_dataset)


def _add_restricted_license_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--allow_restricted_license", action="store_true", help=f"Publish {what}: only if you hold the right to."
    )


def _add_common_arguments(parser: argparse.ArgumentParser, repo_help: str) -> None:
    parser.add_argument("--repo_id", required=True, help=repo_help)
    parser.add_argument("--dry_run", action="store_true", help="Only write the folder to --local_dir and list it.")
    parser.add_argument(
        "--local_dir", help="New or empty folder to build in (required with --dry_run; a temporary one otherwise)."
    )
    parser.add_argument(
        "--private", action="store_true", help="Create the repository private (a new repository only)."
    )


def push_model(args: argparse.Namespace) -> int:
    """Builds the model's Hub folder, lists it, and (unless --dry_run) uploads it."""
    from .publish import build_hub_folder, folder_listing, push_model_folder

    _check_dry_run(args)
    with tempfile.TemporaryDirectory(prefix="mtl-bilstm-hub-") as scratch:
        try:
            folder = build_hub_folder(
                args.model_dir,
                args.local_dir or scratch,
                repo_id=args.repo_id,
                revision=args.revision,
                with_onnx=args.with_onnx,
                allow_restricted_license=args.allow_restricted_license,
            )
            print(folder_listing(folder))
            if args.dry_run:
                return 0
            commit = push_model_folder(
                folder,
                args.repo_id,
                revision=args.revision,
                private=args.private or None,
                commit_message=args.commit_message,
            )
        # Bad folders, Hub errors (HfHubHTTPError is an OSError), --with_onnx without the onnx extra: a message.
        except (OSError, ValueError, ImportError) as error:
            raise SystemExit(f"push: {error}") from error
    print(f"Uploaded to {commit.commit_url}")
    print(f"Pin this commit to load it: revision={commit.oid!r}")
    return 0


def push_dataset(args: argparse.Namespace) -> int:
    """Writes the corpus as Parquet with a dataset card, lists it, and (unless --dry_run) uploads it."""
    from .publish import build_dataset_folder, folder_listing, push_dataset_folder

    _check_dry_run(args)
    if args.dataset != "sample" and not args.data_dir:
        raise SystemExit(f"push-dataset: --dataset {args.dataset} needs --data_dir, the folder of the corpus files")
    with tempfile.TemporaryDirectory(prefix="mtl-bilstm-hub-") as scratch:
        try:
            folder = build_dataset_folder(
                args.dataset,
                args.local_dir or scratch,
                repo_id=args.repo_id,
                data_dir=args.data_dir,
                allow_restricted_license=args.allow_restricted_license,
            )
            print(folder_listing(folder))
            if args.dry_run:
                return 0
            commit = push_dataset_folder(
                folder, args.repo_id, private=args.private or None, commit_message=args.commit_message
            )
        # Refusals, bad corpora and Hub errors (HfHubHTTPError is an OSError): a message, not a traceback.
        except (OSError, ValueError) as error:
            raise SystemExit(f"push-dataset: {error}") from error
    print(f"Uploaded to {commit.commit_url}")
    return 0


def _check_dry_run(args: argparse.Namespace) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    if args.dry_run and not args.local_dir:
        raise SystemExit("--dry_run needs --local_dir, the folder to write")
