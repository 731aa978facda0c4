#!/usr/bin/env python
"""Train the multi-task Bi-LSTM, or run the paper's comparison: multi-task (POS + NER) vs single-task.

    python examples/train.py --compare                       # bundled sample corpus, seeds 1 2 3
    python examples/train.py --task mtl --output_dir runs/mtl  # one model, one seed (--seed, default 1)
    accelerate launch examples/train.py --compare --dataset klp2016 --data_dir ../shared/data/klp2016
    accelerate launch --config_file examples/accelerate_cpu_2proc.yaml examples/train.py --compare

Every run writes under --output_dir: results.json, run_info.json, results.md, results.png, and the best model
on the development split (best_model/, with its tokenizer and model card); modeling_mtl_bilstm/training/run_info.py
names them. Every `TrainingArguments` flag works;
`python examples/train.py --help` lists them all. The arguments may also come from one JSON file.
"""

import logging
import os
import sys

import transformers
from transformers import HfArgumentParser

from modeling_mtl_bilstm.training import ARGUMENT_CLASSES, ArgumentError, run_experiment
from modeling_mtl_bilstm.training.run_info import RESULTS_MD


def main(argv: list[str] | None = None) -> None:
    parser = HfArgumentParser(ARGUMENT_CLASSES)
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) == 1 and arguments[0].endswith(".json"):
        experiment, data_args, model_args, training_args = parser.parse_json_file(os.path.abspath(arguments[0]))
    else:
        experiment, data_args, model_args, training_args = parser.parse_args_into_dataclasses(args=arguments)

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity_warning()
    command = " ".join(["python", "examples/train.py", *arguments])
    try:
        run_experiment(experiment, data_args, model_args, training_args, command=command)
    except ArgumentError as error:
        parser.error(str(error))
    if training_args.process_index == 0:
        print(open(os.path.join(training_args.output_dir, RESULTS_MD), encoding="utf-8").read())


if __name__ == "__main__":
    main()
