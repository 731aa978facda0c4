"""The training engine: one model, or the paper's comparison of multi-task and single-task models over seeds.

`run_experiment` trains every (model, seed) of the plan with `MTLBiLSTMTrainer`, scores each on the test split,
keeps the best model on the development split in `best_model/` (with its tokenizer and model card), and writes
the comparison report (results.json, run_info.json, results.md, results.png) into the output folder.
"""

import hashlib
import importlib.util
import json
import logging
import math
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import datasets
import torch
from transformers import EarlyStoppingCallback, TrainingArguments, set_seed
from transformers.trainer_utils import IntervalStrategy, get_last_checkpoint

from ..configuration_mtl_bilstm import MTLBiLSTMConfig
from ..data import load_korean_ner
from ..data_scripts import tag_schemes
from ..data_scripts.formats import read_gazette
from ..data_scripts.korean_ner import shared_label_names
from ..hub.model_card import BEST_MODEL_DIR, write_model_card
from ..inference.morphology import KOREAN_EXTRA_INSTALL
from ..modeling_mtl_bilstm import MTLBiLSTMForTokenClassification
from ..tokenization_mtl_bilstm import (
    NER_UNANNOTATED_TAGS,
    SINGLETON_MASK,
    DataCollatorForMTLBiLSTM,
    Gazetteer,
    MTLBiLSTMTokenizer,
)
from .arguments import (
    COMPARISON_SEEDS,
    MODEL_TASKS,
    DataArguments,
    ExperimentArguments,
    ModelArguments,
)
from .kiwi_embeddings import write_kiwi_vectors
from .local_vectors import LOCAL_VECTOR_METHODS, VECTORS_EXTRA_INSTALL, local_vectors_file
from .pretrained_embeddings import initialize_morpheme_embeddings, read_vector_words
from .reporting import TEST_SENTENCE_COUNTS, results_markdown, summarize_runs, write_results
from .significance import sentence_entity_counts
from .trainer import (
    LABEL_NAMES,
    MIXED_CORPUS_LABEL_NAMES,
    MTLBiLSTMTrainer,
    load_metric,
    make_compute_metrics,
    make_preprocess_logits_for_metrics,
    tag_sequences,
)
from .weight_averaging import WeightAveragingCallback


logger = logging.getLogger(__name__)
# The package each --morpheme_vectors choice needs, and how to install it.
VECTOR_PACKAGES = {
    "kiwi": ("kiwipiepy", KOREAN_EXTRA_INSTALL),
    **dict.fromkeys(LOCAL_VECTOR_METHODS, ("gensim", VECTORS_EXTRA_INSTALL)),
}

RUN_RESULT_FILE = "run_result.json"
# The column of a mixed corpus's sentences that lists the entity types their corpus annotates.
ANNOTATED_TYPES = "annotated_types"
# Dev metric each task is selected on; a plan with an NER model selects on NER.
SELECTION_METRICS = {"ner": "ner_f1", "pos": "pos_accuracy"}


class ArgumentError(ValueError):
    """The arguments contradict each other or miss something the run needs; the message says what."""


@dataclass(frozen=True)
class PlannedRun:
    key: str  # results key: mtl, ner, pos, or with _crf / _no_crf for the other CRF setting
    tasks: tuple[str, ...]
    use_crf: bool
    seed: int


def run_experiment(
    experiment: ExperimentArguments,
    data_args: DataArguments,
    model_args: ModelArguments,
    training_args: TrainingArguments,
    command: str | None = None,
) -> dict[str, dict]:
    """Trains every run of the plan and writes the report into `training_args.output_dir`.

    Returns:
        The per-model summaries written to results.json: `{model key: {"seeds", "mean", "std"}}`.

    Raises:
        ArgumentError: contradictory or incomplete arguments (checked before anything is trained).
    """
    check_arguments(experiment, data_args, training_args)
    check_feature_arguments(data_args, model_args)
    if experiment.torch_num_threads:
        torch.set_num_threads(experiment.torch_num_threads)
    output_dir = Path(training_args.output_dir)
    initial = MTLBiLSTMConfig.from_pretrained(model_args.init_from) if model_args.init_from else None
    initial_pos_labels = list(initial.pos_id2label.values()) if initial and initial.pos_id2label else None
    corpus = load_data(data_args, pos_labels=initial_pos_labels)
    label_names = {
        "pos": corpus["train"].features["pos_tags"].feature.names,
        "ner": corpus["train"].features["ner_tags"].feature.names,
    }
    # Under several processes one computes the vectors; the others then read its file.
    with training_args.main_process_first(desc="Pretrained vectors"):
        vectors_path = pretrained_vectors(model_args, output_dir, corpus["train"]["tokens"])
    if model_args.init_from:
        tokenizer = MTLBiLSTMTokenizer.from_pretrained(model_args.init_from)
        model_args = keep_saved_features(model_args, tokenizer)
        fold_gazetteers = None  # the saved gazetteer marks the training sentences too
    else:
        gazetteer, fold_gazetteers = build_gazetteers(corpus, data_args)
        tokenizer = build_tokenizer(
            corpus,
            data_args,
            vectors_path if model_args.extend_vocabulary else None,
            eojeol_features=model_args.use_eojeol_features,
            gazetteer=gazetteer,
        )
    encoded = encode_corpus(
        corpus,
        tokenizer,
        fold_gazetteers,
        singletons=training_singletons(corpus) if model_args.word_dropout else None,
        mark_training_sentences=data_args.unannotated_entity_types == "marginalize",
    )
    metric = load_metric()
    plan = run_plan(experiment, model_args, training_args.seed)
    selection_metric = plan_selection_metric(plan)

    started = time.time()
    per_seed, best = {}, None
    for run in plan:
        logger.info("Training %s (tasks=%s, crf=%s), seed %d", run.key, run.tasks, run.use_crf, run.seed)
        run_dir = output_dir / "runs" / run.key / f"seed{run.seed}"
        finished = run_dir / RUN_RESULT_FILE
        trainer = None
        if finished.exists() and training_args.resume_from_checkpoint == "last":
            logger.info("%s seed %d already finished: reusing %s", run.key, run.seed, finished)
            result = json.loads(finished.read_text())
        else:
            config = build_config(model_args, tokenizer, label_names, run.tasks, run.use_crf)
            result, trainer = train_one(
                run, config, run_dir, experiment, model_args, training_args, tokenizer, encoded, metric, vectors_path
            )
        per_seed.setdefault(run.key, {})[str(run.seed)] = result
        # best_model/ always holds the best of the runs whose result file exists: a new best is saved before
        # its result file is written, so a resumed comparison selects among finished runs exactly as an
        # uninterrupted one did, without saving them again.
        score = result.get(f"dev_{selection_metric}")
        if score is not None and (best is None or score > best["value"]):
            best = {"key": run.key, "seed": run.seed, "metric": f"dev_{selection_metric}", "value": score}
            if trainer is not None and trainer.is_world_process_zero():
                save_best_model(trainer, tokenizer, output_dir / BEST_MODEL_DIR)
        if trainer is not None and trainer.is_world_process_zero():
            finished.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")

    results = summarize_runs(per_seed)
    if training_args.process_index != 0:
        return results
    run_info = {
        "dataset": data_args.dataset,
        "command": command,
        "wall_seconds": round(time.time() - started, 1),
        "best_model": best,
        "num_processes": training_args.world_size,
        "device": str(training_args.device),
        "arguments": {
            "experiment": asdict(experiment),
            "data": asdict(data_args),
            "model": asdict(model_args),
            "training": {
                name: training_args.to_dict()[name]
                for name in (
                    "learning_rate",
                    "num_train_epochs",
                    "per_device_train_batch_size",
                    "max_grad_norm",
                    "train_sampling_strategy",
                    "optim",
                )
            },
        },
        "corpus": {split: corpus[split].num_rows for split in corpus},
    }
    write_results(output_dir, results, run_info)
    if best is not None:
        write_model_card(
            output_dir / BEST_MODEL_DIR,
            results=results,
            run_info=run_info,
            results_table=results_markdown(results, run_info),
        )
    return results


def check_arguments(experiment: ExperimentArguments, data_args: DataArguments, training_args: TrainingArguments):
    if (training_args.fp16 or training_args.bf16) and not torch.cuda.is_available():
        raise ArgumentError(
            "--fp16/--bf16 need a CUDA GPU: none is available here. Drop the flag to train in fp32 on CPU."
        )
    if experiment.seeds is not None and not experiment.seeds:
        raise ArgumentError("--seeds: expected at least one seed.")
    if data_args.dataset == "klp2016" and data_args.data_dir is None:
        raise ArgumentError("--dataset klp2016 needs --data_dir, a folder with train.txt, dev.txt and test.txt.")
    if data_args.dataset == "klue" and data_args.data_dir is None:
        raise ArgumentError(
            "--dataset klue needs --data_dir, a folder with klue-ner-v1.1_dev.tsv (or a part of it, "
            "klue-ner-v1.1_dev.part.tsv) and, where you have it, klue-ner-v1.1_train.tsv."
        )
    if data_args.dataset == "conll" and not data_args.train_file:
        raise ArgumentError(
            "--dataset conll needs --train_file (and --validation_file, --test_file where you have them)."
        )
    resume = training_args.resume_from_checkpoint
    if resume and resume != "last":
        if not Path(resume).is_dir():
            raise ArgumentError(
                f"--resume_from_checkpoint: expected 'last' or a checkpoint folder, received {resume!r}."
            )
        if experiment.compare or (experiment.seeds and len(experiment.seeds) > 1):
            raise ArgumentError(
                "--resume_from_checkpoint PATH resumes one run: use 'last' with --compare or several seeds."
            )
    if not 0.0 <= experiment.ema_decay < 1.0:
        raise ArgumentError(f"--ema_decay: expected a value in [0, 1) (0: off), received {experiment.ema_decay}.")
    if experiment.ema_decay and training_args.eval_strategy != IntervalStrategy.EPOCH:
        raise ArgumentError(
            "--ema_decay puts the average in place at epoch ends, where it is evaluated: expected --eval_strategy "
            f"epoch, received {training_args.eval_strategy.value}."
        )
    if not experiment.pos_loss_weight_final >= 0:
        raise ArgumentError(
            f"--pos_loss_weight_final: expected a weight >= 0, received {experiment.pos_loss_weight_final}."
        )
    if experiment.compare and experiment.task != "mtl":
        raise ArgumentError("--compare trains mtl, ner and pos itself (--compare_models): drop --task.")
    unknown = sorted(set(experiment.compare_models) - set(MODEL_TASKS))
    if unknown or not experiment.compare_models:
        raise ArgumentError(
            f"--compare_models: expected some of {', '.join(MODEL_TASKS)}, received {experiment.compare_models}."
        )


def check_feature_arguments(data_args: DataArguments, model_args: ModelArguments):
    if model_args.init_from and data_args.gazetteer:
        raise ArgumentError(
            "--init_from keeps the saved model's input features (its eojeol features and gazetteer): drop --gazetteer."
        )
    if model_args.init_from and model_args.pretrained_embeddings:
        raise ArgumentError(
            "--init_from keeps the saved model's trained morpheme embeddings: drop --pretrained_embeddings."
        )
    if model_args.init_from and model_args.frozen_vectors:
        raise ArgumentError("--init_from keeps the saved model's embeddings and sizes: drop --frozen_vectors.")
    if model_args.frozen_vectors and not vectors_wanted(model_args):
        raise ArgumentError(
            "--frozen_vectors: expected vectors to freeze (--morpheme_vectors or --pretrained_embeddings), received "
            "--morpheme_vectors none."
        )
    if data_args.gazetteer_from_training and data_args.gazetteer_folds < 2:
        raise ArgumentError(
            f"--gazetteer_folds: expected at least 2 folds (a sentence's gazetteer comes from the other folds), "
            f"received {data_args.gazetteer_folds}."
        )
    needs = VECTOR_PACKAGES.get(model_args.morpheme_vectors)
    if needs and vectors_wanted(model_args) and not model_args.pretrained_embeddings:
        package, install = needs
        if importlib.util.find_spec(package) is None:
            raise ArgumentError(
                f"--morpheme_vectors {model_args.morpheme_vectors} needs {package}, which is not installed: "
                f"{install}, or pass --morpheme_vectors none."
            )
    if not 0.0 <= model_args.word_dropout <= 1.0:
        raise ArgumentError(f"--word_dropout: expected a probability in [0, 1], received {model_args.word_dropout}.")


def keep_saved_features(model_args: ModelArguments, tokenizer: MTLBiLSTMTokenizer) -> ModelArguments:
    """`--init_from` fine-tunes the saved model with its own input features: its eojeol setting and gazetteer
    (saved with its tokenizer) replace those the arguments ask for new models, which the log says."""
    if model_args.use_eojeol_features != tokenizer.eojeol_features:
        logger.warning(
            "--init_from %s: keeping the saved model's eojeol features (%s); --use_eojeol_features=%s applies to new "
            "models only.",
            model_args.init_from,
            "on" if tokenizer.eojeol_features else "off",
            model_args.use_eojeol_features,
        )
    return replace(model_args, use_eojeol_features=tokenizer.eojeol_features)


def run_plan(experiment: ExperimentArguments, model_args: ModelArguments, default_seed: int) -> list[PlannedRun]:
    """Every (model, seed) to train, in order: one model with one seed (--seed) unless --compare or --seeds."""
    seeds = experiment.seeds or (COMPARISON_SEEDS if experiment.compare else [default_seed])
    keys = list(dict.fromkeys(experiment.compare_models)) if experiment.compare else [experiment.task]
    models = [(key, MODEL_TASKS[key], model_args.use_crf) for key in keys]
    if experiment.compare and experiment.compare_crf:
        other = "no_crf" if model_args.use_crf else "crf"
        models += [(f"{key}_{other}", MODEL_TASKS[key], not model_args.use_crf) for key in keys if key != "pos"]
    return [PlannedRun(key, tasks, use_crf, seed) for key, tasks, use_crf in models for seed in seeds]


def plan_selection_metric(plan: list[PlannedRun]) -> str:
    """The dev metric that picks the best model: NER F1 where the plan trains NER, POS accuracy otherwise."""
    return SELECTION_METRICS["ner" if any("ner" in run.tasks for run in plan) else "pos"]


def load_data(data_args: DataArguments, pos_labels: list[str] | None = None):
    """The corpus of --dataset, with Kiwi's analysis of its training sentences (--analyzer) and the
    --extra_train_corpora, all under one set of label names (POS labels `pos_labels` where given: a fine-tuned model
    keeps its tag ids), entity types limited to --ner_types.

    An extra corpus with a test split of its own (klp2016, klue, sample) lends its training split to training and
    its validation split to model selection, and keeps its test split unseen; one without (ner2016) is training
    data whole. Where the corpora annotate different entity types (QT only in KLUE), every sentence carries the
    types its corpus annotates (`ANNOTATED_TYPES`): the loss does not teach `O` for the others (see
    --unannotated_entity_types) and scores leave them out."""
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

    def load(name=data_args.dataset, data_dir=data_args.data_dir, files=data_files, **kwargs):
        return load_korean_ner(name, data_dir=data_dir, data_files=files, **kwargs)

    sources = [{}]  # keyword arguments of each load of --dataset whose training split is used
    if data_args.analyzer in ("kiwi", "both"):
        sources = [{"analyzer": "kiwi"}] if data_args.analyzer == "kiwi" else [{}, {"analyzer": "kiwi"}]
    extras = [parse_corpus_argument(argument) for argument in data_args.extra_train_corpora]
    fixed = {"pos_labels": pos_labels} if pos_labels else {}
    if len(sources) == 1 and sources[0] == {} and not extras:
        corpus = load(**fixed)
        if data_args.max_train_sentences is not None:
            corpus["train"] = nested_subset([corpus["train"]], data_args.max_train_sentences)
    else:
        main_first = [load(**kwargs) for kwargs in sources]
        extras_first = [load(name, path, None) for name, path in extras]
        labels = {**shared_label_names(*main_first, *extras_first), **fixed}
        types = [corpus_entity_types(first) for first in main_first[:1] + extras_first]
        mark = (lambda dataset, _: dataset) if len(set(types)) == 1 else with_annotated_types
        corpus = datasets.DatasetDict({split: mark(d, types[0]) for split, d in load(**labels).items()})
        train = [mark(load(**kwargs, **labels)["train"], types[0]) for kwargs in sources]
        validation = [corpus["validation"]] if "validation" in corpus else []
        for (name, path), extra_types in zip(extras, types[1:]):
            extra = load(name, path, None, **labels)
            if "test" in extra:
                train.append(mark(extra["train"], extra_types))
                validation += [mark(extra["validation"], extra_types)] if "validation" in extra else []
            else:
                train += [mark(split, extra_types) for split in extra.values()]
        corpus["train"] = (
            datasets.concatenate_datasets(train)
            if data_args.max_train_sentences is None
            else nested_subset(train, data_args.max_train_sentences)
        )
        if validation:
            corpus["validation"] = datasets.concatenate_datasets(validation)
    if "validation" not in corpus:
        raise ArgumentError(
            f"The {data_args.dataset} corpus has no validation split: best-on-dev selection needs one."
        )
    if data_args.ner_types:
        corpus = keep_entity_types(corpus, data_args.ner_types)
    return corpus


def nested_subset(parts: list[datasets.Dataset], size: int) -> datasets.Dataset:
    """`size` training sentences drawn from `parts` (one per corpus) in proportion to their sizes, the same for every
    seed and model, and nested: the subset of 250 sentences lies inside the subset of 500.

    Each sentence gets a fixed place in [0, 1): its rank within its part, in the order of a hash of its text (its
    morphemes where it has none), scaled by the part's size. Taking the `size` lowest places takes each part's
    lowest-ranked sentences, and about `size * len(part) / total` of them."""
    total = sum(part.num_rows for part in parts)
    if not 0 < size <= total:
        raise ArgumentError(f"--max_train_sentences: expected 1 to {total} (the training sentences), received {size}.")
    places = []
    for part_index, part in enumerate(parts):
        keys = [
            hashlib.sha256((text or " ".join(tokens)).encode("utf-8")).digest()
            for text, tokens in zip(part["text"], part["tokens"])
        ]
        ranked = sorted(range(part.num_rows), key=lambda row: (keys[row], row))
        places += [((rank + 0.5) / part.num_rows, part_index, row) for rank, row in enumerate(ranked)]
    chosen = sorted(places)[:size]
    return datasets.concatenate_datasets(
        [
            part.select(sorted(row for _, index, row in chosen if index == part_index))
            for part_index, part in enumerate(parts)
            if any(index == part_index for _, index, _ in chosen)
        ]
    )


def corpus_entity_types(corpus: datasets.DatasetDict) -> tuple[str, ...]:
    """The entity types a corpus annotates, from its NER label names."""
    names = next(iter(corpus.values())).features["ner_tags"].feature.names
    return tuple(sorted({tag_schemes.entity_type(name) for name in names if name != tag_schemes.OUTSIDE}))


def with_annotated_types(dataset: datasets.Dataset, entity_types: tuple[str, ...]) -> datasets.Dataset:
    """`dataset` with the column `ANNOTATED_TYPES`: the entity types its corpus annotates, on every sentence."""
    return dataset.add_column(
        ANNOTATED_TYPES,
        [list(entity_types)] * dataset.num_rows,
        feature=datasets.List(datasets.Value("string")),
    )


def unannotated_tags(label_names: list[str], annotated_types) -> list[int]:
    """0/1 per NER label, 1 for the labels of entity types outside `annotated_types` (the model's
    `ner_unannotated_tags`)."""
    annotated = set(annotated_types)
    return [
        int(name != tag_schemes.OUTSIDE and tag_schemes.entity_type(name) not in annotated) for name in label_names
    ]


def keep_entity_types(corpus: datasets.DatasetDict, entity_types: list[str]) -> datasets.DatasetDict:
    """The corpus with the NER tags of the other entity types turned into O, and the NER labels of `entity_types`."""
    names = corpus["train"].features["ner_tags"].feature.names
    present = {tag_schemes.entity_type(name) for name in names if name != tag_schemes.OUTSIDE}
    unknown = sorted(set(entity_types) - present)
    if unknown:
        raise ArgumentError(f"--ner_types: expected types of the corpus {sorted(present)}, received {unknown}.")
    kept = tag_schemes.iob2_label_names(entity_types)
    new_id = [kept.index(name) if name in kept else kept.index(tag_schemes.OUTSIDE) for name in names]
    features = corpus["train"].features.copy()
    features["ner_tags"] = datasets.Sequence(datasets.ClassLabel(names=kept))
    return corpus.map(
        lambda example: {"ner_tags": [new_id[tag] for tag in example["ner_tags"]]},
        features=features,
        desc="Keeping entity types",
    )


def parse_corpus_argument(argument: str) -> tuple[str, str | None]:
    """`NAME=DIR` of --extra_train_corpora -> (NAME, DIR); the bundled `sample` needs no folder."""
    name, separator, path = argument.partition("=")
    if argument == "sample":
        return name, None
    if not separator or not name or not path:
        raise ArgumentError(
            f"--extra_train_corpora: expected NAME=DIR (e.g. ner2016=../shared/data/ner2016-competition) or sample, "
            f"received {argument!r}."
        )
    return name, path


def vectors_wanted(model_args: ModelArguments) -> bool:
    """Whether a new model's morpheme embeddings start from vectors (a fine-tuned one keeps its trained ones)."""
    return not model_args.init_from and bool(model_args.pretrained_embeddings or model_args.morpheme_vectors != "none")


def pretrained_vectors(model_args: ModelArguments, output_dir: Path, training_sentences) -> Path | None:
    """The vector file that initialises the morpheme embeddings of a new model: the user's
    (`--pretrained_embeddings`), or those of `--morpheme_vectors`: gensim's trained on `training_sentences`, or
    Kiwi's, computed once into the output folder. None for `--morpheme_vectors none` and for a fine-tuned model
    (`--init_from`), whose trained embeddings stay."""
    if model_args.init_from:
        if model_args.morpheme_vectors != "none":
            logger.info("--init_from %s: keeping its trained morpheme embeddings.", model_args.init_from)
        return None
    if model_args.pretrained_embeddings:
        return Path(model_args.pretrained_embeddings)
    if model_args.morpheme_vectors == "none":
        return None
    if model_args.morpheme_vectors != "kiwi":
        return local_vectors_file(
            training_sentences, model_args.morpheme_vectors, model_args.embedding_dim, output_dir
        )
    path = output_dir / f"kiwi_vectors_{model_args.embedding_dim}d.txt"
    if not path.exists():
        logger.info("Computing Kiwi CoNg morpheme vectors into %s", path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_kiwi_vectors(path.with_suffix(".partial"), dim=model_args.embedding_dim).rename(path)
    return path


def build_tokenizer(
    corpus,
    data_args: DataArguments,
    vectors_path: Path | None,
    eojeol_features: bool = False,
    gazetteer: Gazetteer | None = None,
) -> MTLBiLSTMTokenizer:
    """Vocabulary of the training split, plus (optionally) every morpheme of a pretrained vector file, so that
    morphemes unseen in training still get a meaningful embedding; with the input features the model will take."""
    features = {"eojeol_features": eojeol_features, "gazetteer": gazetteer}
    tokenizer = MTLBiLSTMTokenizer.build(
        corpus["train"]["tokens"], min_frequency=data_args.min_frequency, char_unit=data_args.char_unit, **features
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
        **features,
    )


def encode_corpus(
    corpus,
    tokenizer: MTLBiLSTMTokenizer,
    fold_gazetteers: list[Gazetteer] | None = None,
    singletons: set[str] | None = None,
    mark_training_sentences: bool = True,
):
    """Every split as model inputs and labels (`input_ids`, `char_ids`, the tokenizer's features from `word_ids`
    and its gazetteer, `pos_labels`, `ner_labels`). Training sentences take the gazetteer of their fold where
    `fold_gazetteers` are given (see `build_gazetteers`), and with `singletons` a `singleton_mask` (1 where the
    morpheme is one of them), which word dropout reads. Sentences of a split with `ANNOTATED_TYPES` get
    `ner_unannotated_tags`, except training sentences with `mark_training_sentences=False` (whose `O` then
    teaches `O` for every type)."""

    def encode(example, training=False, unannotated=None):
        gazetteer = None
        if training and fold_gazetteers is not None:
            gazetteer = fold_gazetteers[gazetteer_fold(example["text"], example["tokens"], len(fold_gazetteers))]
        encoded = tokenizer.encode(
            example["tokens"], example["pos_tags"], example["ner_tags"], example.get("word_ids"), gazetteer
        )
        if training and singletons is not None:
            encoded[SINGLETON_MASK] = [int(token in singletons) for token in example["tokens"]]
        if unannotated is not None:
            encoded[NER_UNANNOTATED_TAGS] = unannotated(example[ANNOTATED_TYPES])
        return encoded

    def unannotated_of(split: str, dataset: datasets.Dataset):
        if ANNOTATED_TYPES not in dataset.column_names or (split == "train" and not mark_training_sentences):
            return None
        names = dataset.features["ner_tags"].feature.names
        return lambda annotated_types: unannotated_tags(names, annotated_types)

    return datasets.DatasetDict(
        {
            split: dataset.map(
                encode,
                fn_kwargs={"training": split == "train", "unannotated": unannotated_of(split, dataset)},
                remove_columns=dataset.column_names,
                desc=f"Encoding {split}",
            )
            for split, dataset in corpus.items()
        }
    )


def training_singletons(corpus) -> set[str]:
    """The morphemes seen exactly once in the training split: those word dropout replaces."""
    counts = Counter(token for tokens in corpus["train"]["tokens"] for token in tokens)
    return {token for token, count in counts.items() if count == 1}


def build_gazetteers(corpus, data_args: DataArguments) -> tuple[Gazetteer | None, list[Gazetteer] | None]:
    """The gazetteer the model keeps (--gazetteer's entries and, with --gazetteer_from_training, the entities of
    every training sentence) and, with --gazetteer_from_training, one per fold for the training sentences: fold k's
    holds the entities of the sentences of the other folds only (and --gazetteer's). `(None, None)` without a
    gazetteer. Its types are the corpus's entity types; dictionary entries of other types are left out (logged).
    A training entity's surface is its morphemes' forms, concatenated, which is what the gazetteer matches."""
    if not data_args.gazetteer and not data_args.gazetteer_from_training:
        return None, None
    names = corpus["train"].features["ner_tags"].feature.names
    types = sorted({tag_schemes.entity_type(name) for name in names if name != tag_schemes.OUTSIDE})
    if not types:
        raise ArgumentError("--gazetteer / --gazetteer_from_training: the training split has no entity type.")
    entries = []
    if data_args.gazetteer:
        read = read_gazette(data_args.gazetteer)
        entries = [(entry.surface, entry.type) for entry in read if entry.type in types]
        left_out = Counter(entry.type for entry in read if entry.type not in types)
        logger.info(
            "Gazetteer %s: %d entries of the types %s, %d of other types left out %s",
            data_args.gazetteer,
            len(entries),
            types,
            len(read) - len(entries),
            dict(left_out),
        )
    if not data_args.gazetteer_from_training:
        return Gazetteer(types, entries), None
    folds = data_args.gazetteer_folds
    by_fold = [[] for _ in range(folds)]
    train = corpus["train"]
    for text, tokens, tags in zip(train["text"], train["tokens"], train["ner_tags"]):
        by_fold[gazetteer_fold(text, tokens, folds)] += sentence_entities(tokens, [names[tag] for tag in tags])
    fold_gazetteers = [
        Gazetteer(types, entries + [entry for other in range(folds) if other != fold for entry in by_fold[other]])
        for fold in range(folds)
    ]
    return Gazetteer(types, entries + [entry for fold_entries in by_fold for entry in fold_entries]), fold_gazetteers


def gazetteer_fold(text: str, tokens: list[str], folds: int) -> int:
    """The fold of a training sentence, from its text (its morphemes where it has none): copies of a sentence, such
    as its corpus and its Kiwi analyses (--analyzer both), share a fold, so none lends its entities to another."""
    key = text or " ".join(tokens)
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % folds


def sentence_entities(tokens: list[str], tags: list[str]) -> list[tuple[str, str]]:
    """`(surface, type)` of the entities of a sentence with IOB2 tags (read as the metric and the predictor read
    them), the surface being the forms concatenated."""
    return [("".join(tokens[first:last]), entity_type) for entity_type, first, last in tag_schemes.iob2_spans(tags)]


def build_config(model_args: ModelArguments, tokenizer, label_names, tasks, use_crf) -> MTLBiLSTMConfig:
    return MTLBiLSTMConfig(
        vocab_size=tokenizer.vocab_size,
        embedding_dim=model_args.embedding_dim,
        frozen_embedding_dim=model_args.embedding_dim if model_args.frozen_vectors else 0,
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
        # The input features are the tokenizer's: the model takes what it produces.
        use_eojeol_features=tokenizer.eojeol_features,
        eojeol_embedding_dim=model_args.eojeol_embedding_dim,
        gazetteer_types=tokenizer.gazetteer.types if tokenizer.gazetteer is not None else None,
        use_crf={"ner": use_crf, "pos": model_args.pos_crf},
        loss_weights={"pos": model_args.pos_loss_weight, "ner": model_args.ner_loss_weight},
        pos_id2label=dict(enumerate(label_names["pos"])),
        ner_id2label=dict(enumerate(label_names["ner"])),
    )


def resume_checkpoint(resume_from_checkpoint: str | None, run_dir: Path) -> str | None:
    """`--resume_from_checkpoint PATH` resumes from PATH; `--resume_from_checkpoint last` from each run's latest
    checkpoint under the output folder (what an interrupted comparison needs)."""
    if not resume_from_checkpoint:
        return None
    if resume_from_checkpoint != "last":
        return resume_from_checkpoint
    return get_last_checkpoint(str(run_dir)) if run_dir.exists() else None


def train_one(
    run: PlannedRun,
    config: MTLBiLSTMConfig,
    run_dir: Path,
    experiment: ExperimentArguments,
    model_args: ModelArguments,
    training_args: TrainingArguments,
    tokenizer: MTLBiLSTMTokenizer,
    encoded,
    metric,
    vectors_path: Path | None,
) -> tuple[dict, MTLBiLSTMTrainer]:
    """Trains one model with one seed; returns its test and dev metrics, dev curve and timing, and the trainer
    (holding the best epoch's weights)."""
    set_seed(run.seed)
    if model_args.init_from:
        # Heads whose tags differ from the training data's are rebuilt (new tags, new sizes); the rest is loaded.
        model = MTLBiLSTMForTokenClassification.from_pretrained(
            model_args.init_from,
            tasks=run.tasks,
            pos_id2label=config.pos_id2label,
            ner_id2label=config.ner_id2label,
            ignore_mismatched_sizes=True,
        )
    else:
        model = MTLBiLSTMForTokenClassification(config)
    if vectors_path:
        initialize_morpheme_embeddings(model, tokenizer, vectors_path)
    best_metric = SELECTION_METRICS["ner" if "ner" in run.tasks else "pos"]
    # A plain TrainingArguments: Trainer pickles it into checkpoints, and a subclass may not be importable where
    # the checkpoint is read.
    args = {f.name: getattr(training_args, f.name) for f in fields(TrainingArguments) if f.init}
    args.update(
        output_dir=str(run_dir),
        seed=run.seed,
        data_seed=run.seed,
        label_names=MIXED_CORPUS_LABEL_NAMES
        if NER_UNANNOTATED_TAGS in encoded["validation"].column_names
        else LABEL_NAMES,
        metric_for_best_model=best_metric,
        greater_is_better=True,
        resume_from_checkpoint=None,
    )
    if model_args.word_dropout:
        # The collator reads the training split's singleton_mask, a column the model does not take.
        args["remove_unused_columns"] = False
    args = TrainingArguments(**args)
    patience = experiment.early_stopping_patience
    trainer = MTLBiLSTMTrainer(
        model=model,
        args=args,
        train_dataset=encoded["train"],
        eval_dataset=encoded["validation"],
        data_collator=DataCollatorForMTLBiLSTM(tokenizer, word_dropout=model_args.word_dropout),
        processing_class=tokenizer,
        compute_metrics=make_compute_metrics(model, metric),
        preprocess_logits_for_metrics=make_preprocess_logits_for_metrics(model),
        callbacks=[EarlyStoppingCallback(patience)] if patience else [],
        # The single-task models of a comparison have one loss: nothing to move between tasks.
        pos_loss_weight_final=experiment.pos_loss_weight_final if set(run.tasks) == {"pos", "ner"} else None,
    )
    if experiment.ema_decay:
        trainer.add_callback(WeightAveragingCallback(experiment.ema_decay))
    checkpoint = resume_checkpoint(training_args.resume_from_checkpoint, run_dir)
    if checkpoint:
        logger.info("%s seed %d: resuming from %s", run.key, run.seed, checkpoint)
    train_output = trainer.train(resume_from_checkpoint=checkpoint)
    # Early stopping reads eval_* metrics; without this, the dev_* evaluation below logs that it is disabled.
    trainer.remove_callback(EarlyStoppingCallback)

    result = {}
    if "test" in encoded:
        test = trainer.predict(encoded["test"], metric_key_prefix="test")
        result.update(
            {k.removeprefix("test_"): v for k, v in test.metrics.items() if not k.startswith("test_runtime")}
        )
        for name in ("loss", "samples_per_second", "steps_per_second"):
            result.pop(name, None)
        if "ner" in run.tasks:
            # Per-sentence entity counts: what the paired significance test of two models resamples.
            predicted, gold = tag_sequences(trainer.model, test)["ner"]
            result[TEST_SENTENCE_COUNTS] = sentence_entity_counts(predicted, gold)
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
    if not all(math.isfinite(v) for v in result.values() if isinstance(v, float)):
        raise FloatingPointError(f"{run.key} seed {run.seed}: non-finite metrics {result}")
    return result, trainer


def save_best_model(trainer: MTLBiLSTMTrainer, tokenizer: MTLBiLSTMTokenizer, directory: Path) -> None:
    """Model (safetensors + code) and tokenizer only: no pickled training_args.bin beside them."""
    shutil.rmtree(directory, ignore_errors=True)
    trainer.accelerator.unwrap_model(trainer.model).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
