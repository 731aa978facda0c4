#!/usr/bin/env python
"""Publish a trained model on the Hugging Face Hub, or write the folder that would be published.

    python examples/push_to_hub.py --model_dir runs/compare --repo_id me/mtl-bilstm-ner-ko --dry_run --local_dir hub_model
    python examples/push_to_hub.py --model_dir runs/compare --repo_id me/mtl-bilstm-ner-ko --revision v1 --private

--model_dir is a training --output_dir (with best_model/) or a saved model folder. The folder holds the
safetensors weights, config and tokenizer with their modeling code (it loads with trust_remote_code=True
without this package), the model card rendered for --repo_id and --revision, results.json and results.png.
The token comes from HF_TOKEN or `hf auth login`.
"""

import argparse
import logging
import tempfile

from modeling_mtl_bilstm.hub import build_hub_folder, folder_listing, push_model_folder


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", required=True, help="Training --output_dir (with best_model/) or a saved model folder.")
    parser.add_argument("--repo_id", required=True, help="Hub repository, e.g. your-name/mtl-bilstm-ner-ko.")
    parser.add_argument("--dry_run", action="store_true", help="Only write the folder to --local_dir and list it.")
    parser.add_argument("--local_dir", help="New or empty folder to build in (required with --dry_run; a temporary one otherwise).")
    parser.add_argument("--private", action="store_true", help="Create the repository private (a new repository only).")
    parser.add_argument("--revision", default="main", help="Branch to upload to, created from main if needed; pinned in the card.")
    parser.add_argument("--commit_message", default="Upload mtl-bilstm-ner model")
    args = parser.parse_args(argv)
    if args.dry_run and not args.local_dir:
        parser.error("--dry_run needs --local_dir, the folder to write")
    return args


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    with tempfile.TemporaryDirectory(prefix="mtl-bilstm-hub-") as scratch:
        try:
            folder = build_hub_folder(args.model_dir, args.local_dir or scratch, repo_id=args.repo_id, revision=args.revision)
            print(folder_listing(folder))
            if args.dry_run:
                return
            commit = push_model_folder(
                folder, args.repo_id, revision=args.revision, private=args.private or None,
                commit_message=args.commit_message,
            )
        # Bad folders, and Hub errors (HfHubHTTPError is an OSError): a message, not a traceback.
        except (OSError, ValueError) as error:
            raise SystemExit(f"push_to_hub.py: {error}") from error
    print(f"Uploaded to {commit.commit_url}")
    print(f"Pin this commit to load it: revision={commit.oid!r}")


if __name__ == "__main__":
    main()
