#!/usr/bin/env python
"""Publish a Korean NER corpus on the Hugging Face Hub as Parquet files with a dataset card.

    python examples/push_dataset_to_hub.py --dataset sample --repo_id me/korean-ner-sample --dry_run --local_dir hub_data
    python examples/push_dataset_to_hub.py --dataset conll --data_dir my_corpus --repo_id me/my-korean-ner --private

The bundled sample corpus is ours (Apache-2.0) and may be published. KLP 2016's licence does not allow
redistribution: it is refused unless --allow_restricted_license says you hold the right. The token comes
from HF_TOKEN or `hf auth login`. Same as `mtl-bilstm-ner push-dataset`.
"""

import argparse

from modeling_mtl_bilstm.hub.commands import add_push_dataset_arguments


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_push_dataset_arguments(parser)
    args = parser.parse_args()
    args.command(args)
