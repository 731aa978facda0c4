#!/usr/bin/env python
"""Publish a Korean NER corpus on the Hugging Face Hub as Parquet files with a dataset card.

    python examples/push_dataset_to_hub.py --dataset sample --repo_id me/korean-ner-sample --dry_run --local_dir hub_data
    python examples/push_dataset_to_hub.py --dataset conll --data_dir my_corpus --repo_id me/my-korean-ner --private

The bundled sample corpus is ours (Apache-2.0) and may be published. KLP 2016's licence does not allow
redistribution: it is refused unless --allow_restricted_license says you hold the right. The token comes
from HF_TOKEN or `hf auth login`.
"""

import argparse
import logging
import tempfile

from modeling_mtl_bilstm.hub import build_dataset_folder, folder_listing, push_dataset_folder


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, choices=["sample", "klp2016", "conll"])
    parser.add_argument("--data_dir", help="Corpus folder with train.txt, dev.txt, test.txt (klp2016, conll).")
    parser.add_argument("--repo_id", required=True, help="Hub dataset repository, e.g. your-name/korean-ner-sample.")
    parser.add_argument("--dry_run", action="store_true", help="Only write the folder to --local_dir and list it.")
    parser.add_argument("--local_dir", help="New or empty folder to build in (required with --dry_run; a temporary one otherwise).")
    parser.add_argument("--private", action="store_true", help="Create the repository private (a new repository only).")
    parser.add_argument(
        "--allow_restricted_license", action="store_true",
        help="Publish a corpus whose licence restricts redistribution (klp2016): only if you hold the right to.",
    )
    parser.add_argument("--commit_message", default="Upload Korean NER corpus")
    args = parser.parse_args(argv)
    if args.dry_run and not args.local_dir:
        parser.error("--dry_run needs --local_dir, the folder to write")
    if args.dataset != "sample" and not args.data_dir:
        parser.error(f"--dataset {args.dataset} needs --data_dir, a folder with train.txt, dev.txt and test.txt")
    return args


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    with tempfile.TemporaryDirectory(prefix="mtl-bilstm-hub-") as scratch:
        try:
            folder = build_dataset_folder(
                args.dataset, args.local_dir or scratch, repo_id=args.repo_id, data_dir=args.data_dir,
                allow_restricted_license=args.allow_restricted_license,
            )
            print(folder_listing(folder))
            if args.dry_run:
                return
            commit = push_dataset_folder(folder, args.repo_id, private=args.private or None, commit_message=args.commit_message)
        # Refusals, bad corpora and Hub errors (HfHubHTTPError is an OSError): a message, not a traceback.
        except (OSError, ValueError) as error:
            raise SystemExit(f"push_dataset_to_hub.py: {error}") from error
    print(f"Uploaded to {commit.commit_url}")


if __name__ == "__main__":
    main()
