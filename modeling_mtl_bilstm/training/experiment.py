"""The training engine: one model, or the paper's comparison of multi-task and single-task models over seeds.

`run_experiment` trains every (model, seed) of the plan with `MTLBiLSTMTrainer`, scores each on the test split,
keeps the best model on the development split in `best_model/` (with its tokenizer and model card), and writes
the comparison report (results.json, run_info.json, results.md, results.png) into the output folder, whose layout
`run_info` names.
"""

import importlib.util
import json
import logging
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from transformers import TrainingArguments

from ..configuration_mtl_bilstm import MTLBiLSTMConfig
from ..hub.model_card import write_model_card
from ..inference.morphology import KOREAN_EXTRA_INSTALL, KiwiMorphemeAnalyzer
from ..tokenization_mtl_bilstm import MTLBiLSTMTokenizer
from .arguments import DEPRECATED_ARGUMENTS, DataArguments, ExperimentArguments, ModelArguments
from .checks import check_arguments, check_feature_arguments
from .corpus import load_data, resolved_analyzer
from .features import build_gazetteers, build_tokenizer, encode_corpus, keep_saved_features, training_singletons
from .raw_text import RawTextEvaluator, RawTextSplit
from .reporting import results_markdown, summarize_runs, write_results
from .run_info import BEST_MODEL_DIR, RUN_RESULT_JSON, RunInfo, run_folder
from .runs import build_config, plan_selection_metric, run_plan, save_best_model, train_one
from .trainer import load_metric
from .vectors import pretrained_vectors


logger = logging.getLogger(__name__)
# The TrainingArguments a run records in run_info.json (and its model card lists).
RECORDED_TRAINING_ARGUMENTS = (
    "learning_rate",
    "num_train_epochs",
    "per_device_train_batch_size",
    "max_grad_norm",
    "train_sampling_strategy",
    "optim",
)


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
    # run_info.json and the card record what auto chose
    data_args = replace(data_args, analyzer=resolved_analyzer(data_args.dataset, data_args.analyzer))
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
    raw_text = raw_text_evaluators(corpus, tokenizer) if any("ner" in run.tasks for run in plan) else {}
    selection_metric = plan_selection_metric(plan, experiment.select_on == "raw" and "validation" in raw_text)

    started = time.time()
    per_seed, best = {}, None
    for run in plan:
        logger.info("Training %s (tasks=%s, NER CRF=%s), seed %d", run.key, run.tasks, run.ner_crf, run.seed)
        folder = run_folder(output_dir, run.key, run.seed)
        finished = folder / RUN_RESULT_JSON
        trainer = None
        if finished.exists() and training_args.resume_from_checkpoint == "last":
            logger.info("%s seed %d already finished: reusing %s", run.key, run.seed, finished)
            result = json.loads(finished.read_text())
        else:
            config = build_config(model_args, tokenizer, label_names, run.tasks, run.ner_crf)
            result, trainer = train_one(
                run,
                config,
                folder,
                experiment,
                model_args,
                training_args,
                tokenizer,
                encoded,
                metric,
                vectors_path,
                raw_text,
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
    run_info = RunInfo(
        dataset=data_args.dataset,
        command=command,
        wall_seconds=round(time.time() - started, 1),
        best_model=best,
        num_processes=training_args.world_size,
        device=str(training_args.device),
        arguments={
            "experiment": recorded_arguments(experiment),
            "data": recorded_arguments(data_args),
            "model": recorded_arguments(model_args),
            "training": {name: training_args.to_dict()[name] for name in RECORDED_TRAINING_ARGUMENTS},
        },
        corpus={split: corpus[split].num_rows for split in corpus},
    )
    run_info = write_results(output_dir, results, run_info)
    if best is not None:
        write_model_card(
            output_dir / BEST_MODEL_DIR,
            results=results,
            run_info=run_info,
            results_table=results_markdown(results, run_info),
        )
    return results


def recorded_arguments(arguments) -> dict:
    """An argument dataclass as run_info.json records it: every field by its current name, without the deprecated
    spellings (`DEPRECATED_ARGUMENTS`), whose values the current names already hold."""
    return {name: value for name, value in asdict(arguments).items() if name not in DEPRECATED_ARGUMENTS}


def raw_text_evaluators(corpus, tokenizer) -> dict[str, RawTextEvaluator]:
    """Split -> the scorer of a model from its raw text, for the validation and test splits whose sentences all have
    raw text and gold spans (`RawTextSplit.of`), where kiwipiepy can analyse them."""
    splits = {split: RawTextSplit.of(corpus[split]) for split in ("validation", "test") if split in corpus}
    splits = {split: raw for split, raw in splits.items() if raw is not None}
    if not splits:
        return {}
    if importlib.util.find_spec("kiwipiepy") is None:
        logger.warning(
            "Raw-text scores need kiwipiepy, which is not installed (%s): scoring on gold morphemes only.",
            KOREAN_EXTRA_INSTALL,
        )
        return {}
    analyzer = KiwiMorphemeAnalyzer()
    return {split: RawTextEvaluator(raw, tokenizer, analyzer) for split, raw in splits.items()}
