#!/usr/bin/env python
"""Publish a trained model on the Hugging Face Hub, or write the folder that would be published.

    python examples/push_to_hub.py --model_dir runs/compare --repo_id me/mtl-bilstm-ner-ko --dry_run --local_dir hub_model
    python examples/push_to_hub.py --model_dir runs/compare --repo_id me/mtl-bilstm-ner-ko --revision v1 --private

--model_dir is a saved model folder or a training --output_dir (with best_model/). The folder holds the safetensors
weights, config and tokenizer with their modeling code (it loads with trust_remote_code=True without this package),
the model card rendered for --repo_id and --revision and, where the training run left them, results.json and
results.png. The token comes from HF_TOKEN or `hf auth login`. Same as `mtl-bilstm-ner push`.
"""

import argparse

from modeling_mtl_bilstm.hub.commands import add_push_model_arguments


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_push_model_arguments(parser)
    args = parser.parse_args()
    args.command(args)
