#!/usr/bin/env python
"""Train the multi-task Bi-LSTM, or run the paper's comparison: multi-task (POS + NER) vs single-task.

    python examples/train.py --compare                       # bundled sample corpus, seeds 1 2 3
    python examples/train.py --task mtl --output_dir runs/mtl
    accelerate launch examples/train.py --compare --dataset klp2016 --data_dir ../shared/data/klp2016
    accelerate launch --config_file examples/accelerate_cpu_2proc.yaml examples/train.py --compare

Every run writes under --output_dir: results.json, results.md, results.png, and the best model
(best_model/, with its tokenizer and model card).
"""

import json
import logging
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import evaluate
import torch
import transformers
from transformers import EarlyStoppingCallback, HfArgumentParser, TrainingArguments, set_seed
from transformers.trainer_utils import IntervalStrategy, SaveStrategy, get_last_checkpoint

from modeling_mtl_bilstm import (
    DataCollatorForMTLBiLSTM,
    MTLBiLSTMConfig,
    MTLBiLSTMForTokenClassification,
    MTLBiLSTMTokenizer,
    load_korean_ner,
)
from modeling_mtl_bilstm.model_card import write_model_card
from modeling_mtl_bilstm.kiwi_embeddings import write_kiwi_vectors
from modeling_mtl_bilstm.pretrained_embeddings import initialize_morpheme_embeddings, read_vector_words
from modeling_mtl_bilstm.reporting import summarize_runs, write_results
from modeling_mtl_bilstm.trainer import (
    LABEL_NAMES,
    MTLBiLSTMTrainer,
    make_compute_metrics,
    make_preprocess_logits_for_metrics,
)

logger = logging.getLogger("train")
METRIC_PATH = Path(__file__).resolve().parents[1] / "metrics" / "korean_ner_pos"
MODEL_TASKS = {"mtl": ("pos", "ner"), "ner": ("ner",), "pos": ("pos",)}


@dataclass
class ExperimentArguments:
    task: str = field(
        default="mtl",
        metadata={"help": "Model to train: mtl (POS + NER), ner or pos (single-task).", "choices": ["mtl", "ner", "pos"]},
    )
    compare: bool = field(
        default=False, metadata={"help": "Run the paper's comparison: single-task NER, single-task POS and multi-task."}
    )
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3], metadata={"help": "Seeds (one run per model and seed)."})
    compare_crf: bool = field(
        default=False, metadata={"help": "With --compare: also train every model with the other CRF setting."}
    )
    early_stopping_patience: int = field(
        default=5, metadata={"help": "Stop after this many evaluations without dev improvement (0: never)."}
    )
    torch_num_threads: int | None = field(
        default=None, metadata={"help": "torch intra-op threads per process (default: torch's choice)."}
    )


@dataclass
class DataArguments:
    dataset: str = field(
        default="sample",
        metadata={"help": "Corpus: the bundled sample, klp2016 or your own conll files.", "choices": ["sample", "klp2016", "conll"]},
    )
    data_dir: str | None = field(default=None, metadata={"help": "Folder with the corpus files (klp2016)."})
    train_file: str | None = field(default=None, metadata={"help": "conll: training file."})
    validation_file: str | None = field(default=None, metadata={"help": "conll: validation file."})
    test_file: str | None = field(default=None, metadata={"help": "conll: test file."})
    min_frequency: int = field(default=1, metadata={"help": "Morphemes seen fewer times in train are unknown."})
    char_unit: str = field(default="syllable", metadata={"help": "Character features over syllables or jamo.", "choices": ["syllable", "jamo"]})


@dataclass
class ModelArguments:
    embedding_dim: int = field(default=100)
    char_embedding_dim: int = field(default=30)
    char_cnn_filters: int = field(default=50, metadata={"help": "0 disables the syllable CNN."})
    shared_hidden_size: int = field(default=200)
    shared_num_layers: int = field(default=1)
    task_hidden_size: int = field(default=100, metadata={"help": "Hidden size per direction of each task Bi-LSTM."})
    task_num_layers: int = field(default=1)
    dropout: float = field(default=0.5)
    use_crf: bool = field(default=True, metadata={"help": "CRF on the NER head."})
    pos_crf: bool = field(default=False, metadata={"help": "CRF on the POS head."})
    pos_loss_weight: float = field(default=1.0, metadata={"help": "Weight of the POS loss in the joint loss."})
    ner_loss_weight: float = field(default=1.0, metadata={"help": "Weight of the NER loss in the joint loss."})
    pretrained_embeddings: str | None = field(
        default=None, metadata={"help": "word2vec/fastText/GloVe text file to initialise morpheme embeddings."}
    )
    kiwi_embeddings: bool = field(
        default=False,
        metadata={"help": "Initialise morpheme embeddings from Kiwi's CoNg model (kiwipiepy_model, offline)."},
    )
    extend_vocabulary: bool = field(
        default=False,
        metadata={"help": "Add every morpheme of the pretrained vectors to the vocabulary, not only those seen in train."},
    )
    pos_features_for_ner: bool = field(
        default=False, metadata={"help": "Multi-task models: feed the POS tag distribution to the NER Bi-LSTM."}
    )


@dataclass
class MTLTrainingArguments(TrainingArguments):
    """TrainingArguments with defaults that suit a small Bi-LSTM (the library's suit transformers)."""

    output_dir: str = field(default="runs/compare")
    learning_rate: float = field(default=5e-3)
    num_train_epochs: float = field(default=12)
    per_device_train_batch_size: int = field(default=32)
    per_device_eval_batch_size: int = field(default=128)
    max_grad_norm: float = field(default=5.0)
    eval_strategy: IntervalStrategy | str = field(default="epoch")
    save_strategy: SaveStrategy | str = field(default="epoch")
    logging_strategy: IntervalStrategy | str = field(default="epoch")
    save_total_limit: int | None = field(default=1)
    load_best_model_at_end: bool = field(default=True)
    train_sampling_strategy: str = field(default="group_by_length")
    report_to: None | str | list[str] = field(default="none")
    dataloader_drop_last: bool = field(default=False)
    # On a machine without CUDA, train on CPU; under `accelerate launch --multi_gpu` this also makes
    # the processes join one gloo group instead of each training alone.
    use_cpu: bool = field(default=not torch.cuda.is_available())


def parse_args(argv=None):
    parser = HfArgumentParser((ExperimentArguments, DataArguments, ModelArguments, MTLTrainingArguments))
    if argv is None and len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        return parser.parse_json_file(json_file=os.path.abspath(sys.argv[1]))
    return parser.parse_args_into_dataclasses(args=argv)


def check_arguments(experiment, data_args, training_args):
    if (training_args.fp16 or training_args.bf16) and not torch.cuda.is_available():
        raise SystemExit("--fp16/--bf16 need a CUDA GPU: none is available here. Drop the flag to train in fp32 on CPU.")
    if not experiment.seeds:
        raise SystemExit("--seeds: expected at least one seed.")
    if data_args.dataset == "klp2016" and data_args.data_dir is None:
        raise SystemExit("--dataset klp2016 needs --data_dir, a folder with train.txt, dev.txt and test.txt.")
    if data_args.dataset == "conll" and not data_args.train_file:
        raise SystemExit("--dataset conll needs --train_file (and --validation_file, --test_file where you have them).")
    resume = training_args.resume_from_checkpoint
    if resume and resume != "last":
        if not Path(resume).is_dir():
            raise SystemExit(f"--resume_from_checkpoint: expected 'last' or a checkpoint folder, received {resume!r}.")
        if experiment.compare or len(experiment.seeds) > 1:
            raise SystemExit("--resume_from_checkpoint PATH resumes one run: use 'last' with --compare or several seeds.")
    if experiment.compare and experiment.task != "mtl":
        raise SystemExit("--compare trains mtl, ner and pos itself: drop --task.")


def load_data(data_args):
    data_files = None
    if data_args.dataset == "conll":
        data_files = {
            split: path
            for split, path in (
                ("train", data_args.train_file),
                ("validation", data_args.validation_file),
                ("test", data_args.test_file),
            )
            if path
        }
    corpus = load_korean_ner(data_args.dataset, data_dir=data_args.data_dir, data_files=data_files)
    if "validation" not in corpus:
        raise SystemExit(f"The {data_args.dataset} corpus has no validation split: best-on-dev selection needs one.")
    return corpus


def pretrained_vectors(model_args, output_dir: Path) -> Path | None:
    """The vector file that initialises morpheme embeddings: the user's, or Kiwi's (computed once
    into --output_dir)."""
    if model_args.pretrained_embeddings and model_args.kiwi_embeddings:
        raise SystemExit("Choose one of --pretrained_embeddings and --kiwi_embeddings.")
    if model_args.pretrained_embeddings:
        return Path(model_args.pretrained_embeddings)
    if not model_args.kiwi_embeddings:
        return None
    path = output_dir / f"kiwi_vectors_{model_args.embedding_dim}d.txt"
    if not path.exists():
        logger.info("Computing Kiwi CoNg morpheme vectors into %s", path)
        write_kiwi_vectors(path.with_suffix(".partial"), dim=model_args.embedding_dim).rename(path)
    return path


def build_tokenizer(corpus, data_args, vectors_path: Path | None) -> MTLBiLSTMTokenizer:
    """Vocabulary of the training split, plus (optionally) every morpheme of a pretrained vector file,
    so that morphemes unseen in training still get a meaningful embedding."""
    tokenizer = MTLBiLSTMTokenizer.build(
        corpus["train"]["tokens"], min_frequency=data_args.min_frequency, char_unit=data_args.char_unit
    )
    if vectors_path is None:
        return tokenizer
    pretrained = read_vector_words(vectors_path)
    extra = [word for word in pretrained if word not in tokenizer.morpheme_to_id]
    logger.info("Vocabulary: %d training morphemes + %d from %s", tokenizer.vocab_size - 2, len(extra), vectors_path)
    return MTLBiLSTMTokenizer(
        tokenizer.id_to_morpheme[2:] + extra,
        tokenizer.id_to_char[2:],
        char_unit=tokenizer.char_unit,
        max_chars_per_morpheme=tokenizer.max_chars_per_morpheme,
    )


def encode_corpus(corpus, tokenizer):
    def encode(example):
        return tokenizer.encode(example["tokens"], example["pos_tags"], example["ner_tags"])

    return corpus.map(encode, remove_columns=corpus["train"].column_names, desc="Encoding")


def build_config(model_args, tokenizer, label_names, tasks, use_crf):
    return MTLBiLSTMConfig(
        vocab_size=tokenizer.vocab_size,
        embedding_dim=model_args.embedding_dim,
        char_vocab_size=tokenizer.char_vocab_size if model_args.char_cnn_filters else 0,
        char_embedding_dim=model_args.char_embedding_dim,
        char_cnn_filters=model_args.char_cnn_filters or 1,
        shared_hidden_size=model_args.shared_hidden_size,
        shared_num_layers=model_args.shared_num_layers,
        pos_hidden_size=model_args.task_hidden_size,
        ner_hidden_size=model_args.task_hidden_size,
        task_num_layers=model_args.task_num_layers,
        dropout=model_args.dropout,
        tasks=tasks,
        pos_features_for_ner=model_args.pos_features_for_ner and tasks == MODEL_TASKS["mtl"],
        use_crf={"ner": use_crf, "pos": model_args.pos_crf},
        loss_weights={"pos": model_args.pos_loss_weight, "ner": model_args.ner_loss_weight},
        pos_id2label=dict(enumerate(label_names["pos"])),
        ner_id2label=dict(enumerate(label_names["ner"])),
    )


def run_plan(experiment, model_args):
    """(model key, tasks, use_crf) for every model to train."""
    keys = ["ner", "pos", "mtl"] if experiment.compare else [experiment.task]
    plan = [(key, MODEL_TASKS[key], model_args.use_crf) for key in keys]
    if experiment.compare and experiment.compare_crf:
        other = "no_crf" if model_args.use_crf else "crf"
        plan += [(f"{key}_{other}", MODEL_TASKS[key], not model_args.use_crf) for key in keys if key != "pos"]
    return plan


def resume_checkpoint(resume_from_checkpoint: str | None, run_dir: Path) -> str | None:
    """`--resume_from_checkpoint PATH` resumes from PATH; `--resume_from_checkpoint last` from each
    run's latest checkpoint under --output_dir (what an interrupted --compare needs)."""
    if not resume_from_checkpoint:
        return None
    if resume_from_checkpoint != "last":
        return resume_from_checkpoint
    return get_last_checkpoint(str(run_dir)) if run_dir.exists() else None


def train_one(
    key, tasks, use_crf, seed, experiment, model_args, training_args, tokenizer, encoded, label_names, metric, vectors_path
):
    """Trains one model with one seed; returns its test metrics, dev curve and the trainer."""
    run_dir = Path(training_args.output_dir) / "runs" / key / f"seed{seed}"
    finished = run_dir / "run_result.json"
    if finished.exists() and training_args.resume_from_checkpoint == "last":
        logger.info("%s seed %d already finished: reusing %s", key, seed, finished)
        return json.loads(finished.read_text()), None

    set_seed(seed)
    config = build_config(model_args, tokenizer, label_names, tasks, use_crf)
    model = MTLBiLSTMForTokenClassification(config)
    if vectors_path:
        initialize_morpheme_embeddings(model, tokenizer, vectors_path)
    best_metric = "ner_f1" if "ner" in tasks else "pos_accuracy"
    # A plain TrainingArguments: Trainer pickles it into checkpoints, and this script's subclass
    # may not be importable where the checkpoint is read.
    args = {f.name: getattr(training_args, f.name) for f in fields(TrainingArguments) if f.init}
    args.update(
        output_dir=str(run_dir),
        seed=seed,
        data_seed=seed,
        label_names=LABEL_NAMES,
        metric_for_best_model=best_metric,
        greater_is_better=True,
        resume_from_checkpoint=None,
    )
    args = TrainingArguments(**args)
    callbacks = [EarlyStoppingCallback(experiment.early_stopping_patience)] if experiment.early_stopping_patience else []
    trainer = MTLBiLSTMTrainer(
        model=model,
        args=args,
        train_dataset=encoded["train"],
        eval_dataset=encoded["validation"],
        data_collator=DataCollatorForMTLBiLSTM(tokenizer),
        processing_class=tokenizer,
        compute_metrics=make_compute_metrics(model, metric),
        preprocess_logits_for_metrics=make_preprocess_logits_for_metrics(model),
        callbacks=callbacks,
    )
    checkpoint = resume_checkpoint(training_args.resume_from_checkpoint, run_dir)
    if checkpoint:
        logger.info("%s seed %d: resuming from %s", key, seed, checkpoint)
    train_output = trainer.train(resume_from_checkpoint=checkpoint)

    result = {}
    if "test" in encoded:
        test_metrics = trainer.evaluate(encoded["test"], metric_key_prefix="test")
        result.update({k.removeprefix("test_"): v for k, v in test_metrics.items() if not k.startswith("test_runtime")})
        for name in ("loss", "samples_per_second", "steps_per_second"):
            result.pop(name, None)
    dev_metrics = trainer.evaluate(encoded["validation"], metric_key_prefix="dev")
    result[f"dev_{best_metric}"] = dev_metrics[f"dev_{best_metric}"]
    epochs_run = trainer.state.epoch or args.num_train_epochs
    train_tokens = sum(len(ids) for ids in encoded["train"]["input_ids"])
    result["train_seconds"] = train_output.metrics["train_runtime"]
    result["train_tokens_per_second"] = train_tokens * epochs_run / train_output.metrics["train_runtime"]
    result["epochs"] = epochs_run
    result["dev_curve"] = [
        {"epoch": entry["epoch"], best_metric: entry[f"eval_{best_metric}"]}
        for entry in trainer.state.log_history
        if f"eval_{best_metric}" in entry
    ]
    if trainer.is_world_process_zero():
        finished.write_text(json.dumps(result, indent=2) + "\n")
    return result, trainer


def save_best_model(trainer, tokenizer, directory: Path):
    """Model (safetensors + code) and tokenizer only: no pickled training_args.bin beside them."""
    shutil.rmtree(directory, ignore_errors=True)
    trainer.accelerator.unwrap_model(trainer.model).save_pretrained(directory)
    tokenizer.save_pretrained(directory)


def main(argv=None):
    experiment, data_args, model_args, training_args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity_warning()
    check_arguments(experiment, data_args, training_args)
    if experiment.torch_num_threads:
        torch.set_num_threads(experiment.torch_num_threads)

    corpus = load_data(data_args)
    label_names = {
        "pos": corpus["train"].features["pos_tags"].feature.names,
        "ner": corpus["train"].features["ner_tags"].feature.names,
    }
    vectors_path = pretrained_vectors(model_args, Path(training_args.output_dir))
    tokenizer = build_tokenizer(corpus, data_args, vectors_path if model_args.extend_vocabulary else None)
    encoded = encode_corpus(corpus, tokenizer)
    metric = evaluate.load(str(METRIC_PATH))
    output_dir = Path(training_args.output_dir)

    started = time.time()
    per_seed, best = {}, None
    for key, tasks, use_crf in run_plan(experiment, model_args):
        for seed in experiment.seeds:
            logger.info("Training %s (tasks=%s, crf=%s), seed %d", key, tasks, use_crf, seed)
            result, trainer = train_one(
                key, tasks, use_crf, seed, experiment, model_args, training_args, tokenizer, encoded, label_names, metric,
                vectors_path,
            )
            per_seed.setdefault(key, {})[str(seed)] = result
            score = result.get("dev_ner_f1", -math.inf)
            if trainer is not None and (best is None or score > best[0]):
                best = (score, key, seed)
                if trainer.is_world_process_zero():
                    save_best_model(trainer, tokenizer, output_dir / "best_model")
    if training_args.process_index != 0:
        return
    results = summarize_runs(per_seed)
    run_info = {
        "dataset": data_args.dataset,
        "command": " ".join(["python", *sys.argv]) if argv is None else " ".join(argv),
        "wall_seconds": round(time.time() - started, 1),
        "best_model": None if best is None else {"key": best[1], "seed": best[2], "dev_ner_f1": best[0]},
        "num_processes": training_args.world_size,
        "device": str(training_args.device),
        "arguments": {
            "experiment": asdict(experiment),
            "data": asdict(data_args),
            "model": asdict(model_args),
            "training": {k: training_args.to_dict()[k] for k in ("learning_rate", "num_train_epochs", "per_device_train_batch_size", "max_grad_norm", "train_sampling_strategy", "optim")},
        },
        "corpus": {split: corpus[split].num_rows for split in corpus},
    }
    write_results(output_dir, results, run_info)
    if best is not None:
        write_model_card(output_dir / "best_model", results, run_info)
    logger.info("Wrote %s", output_dir / "results.md")
    print((output_dir / "results.md").read_text())


if __name__ == "__main__":
    main()
