"""Renders the model card (the repository's `model_card.md` template) from a run's results and config."""

from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .configuration_mtl_bilstm import MTLBiLSTMConfig
from .reporting import results_markdown

TEMPLATE_PATH = Path(__file__).with_name("model_card_template.md")
# (results key, task name, model-index metric type, metric name) of the measured scores in the card.
MODEL_INDEX_METRICS = (
    ("ner_f1", "Named entity recognition", "f1", "NER F1 (entity, strict IOB2)"),
    ("pos_accuracy", "Part-of-speech tagging", "accuracy", "POS accuracy"),
)
DEFAULT_REPO_ID = "your-namespace/mtl-bilstm-ner-ko"
DATASETS = {
    "sample": {
        "license": "apache-2.0",
        "description": "The Korean traditional-culture sample corpus bundled with mtl-bilstm-ner (sentences written "
        "by the project team, analysed with Kiwi into Sejong-tagged morphemes, entities annotated by hand).",
    },
    "klp2016": {
        "license": "other",
        "license_name": "klp2016-non-commercial",
        "description": "The KLP 2016 (Klpexpo 2016) Korean NER corpus: morphemes with Sejong POS tags and PS/LC/OG/DT/TI "
        "entities. Its licence allows non-commercial use only, and so does the licence of models trained on it.",
    },
    "conll": {"license": "other", "description": "A user-supplied corpus in CoNLL format (token, POS, NER columns)."},
}


def render_model_card(
    results: dict, run_info: dict, config: MTLBiLSTMConfig, num_parameters: int,
    repo_id: str = DEFAULT_REPO_ID, revision: str = "main", results_figure: str | None = None,
) -> ModelCard:
    """The card of the model in `run_info["best_model"]`: metadata with a model-index holding that
    checkpoint's measured test scores, and the comparison table of the whole run.

    `repo_id` and `revision` go into the loading examples; `results_figure` is the path, relative to the
    card, of the run's results figure (`results.png`), shown under the table when given."""
    dataset = run_info.get("dataset", "conll")
    dataset_info = DATASETS.get(dataset, DATASETS["conll"])
    best = run_info.get("best_model") or {}
    measured = results.get(best.get("key"), {}).get("seeds", {}).get(str(best.get("seed")), {})
    eval_results = [
        EvalResult(
            task_type="token-classification", task_name=task_name,
            dataset_type=dataset, dataset_name=dataset, dataset_split="test",
            metric_type=metric_type, metric_name=metric_name, metric_value=round(measured[key], 4),
        )
        for key, task_name, metric_type, metric_name in MODEL_INDEX_METRICS
        if key in measured
    ]
    card_data = ModelCardData(
        language="ko",
        license=dataset_info["license"],
        license_name=dataset_info.get("license_name"),
        library_name="transformers",
        pipeline_tag="token-classification",
        tags=["ner", "pos", "multi-task-learning", "bilstm", "crf", "korean", "custom_code"],
        datasets=[dataset],
        metrics=["f1", "accuracy"],
        model_name=repo_id.split("/")[-1],
        eval_results=eval_results or None,
    )
    arguments = run_info.get("arguments", {})
    hyperparameters = {**arguments.get("model", {}), **arguments.get("training", {})}
    hyperparameters["seeds"] = arguments.get("experiment", {}).get("seeds")
    corpus = run_info.get("corpus", {})
    ner_labels = list(config.ner_id2label.values()) if config.ner_id2label else []
    return ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATE_PATH),
        model_name=repo_id.split("/")[-1],
        repo_id=repo_id,
        revision=revision,
        best_model=best or None,
        config=config,
        architecture_diagram=architecture_diagram(config),
        ner_labels=ner_labels,
        entity_types=sorted({label[2:] for label in ner_labels if label != "O"}),
        pos_count=len(config.pos_id2label or {}),
        num_parameters=num_parameters,
        dataset=dataset,
        dataset_description=dataset_info["description"],
        corpus_sizes=", ".join(f"{split} {count:,} sentences" for split, count in corpus.items()),
        hyperparameters=hyperparameters,
        results_table=results_markdown(results, run_info),
        results_figure=results_figure,
    )


def architecture_diagram(config: MTLBiLSTMConfig) -> str:
    """The network of `config` as monospace text: inputs, shared Bi-LSTM, then one branch per task."""
    if config.char_vocab_size:
        lines = ["morpheme ids ─► embedding ────┐", "syllable ids ─► syllable CNN ─┴─► shared Bi-LSTM"]
    else:
        lines = ["morpheme ids ─► embedding ─► shared Bi-LSTM"]
    branches = []
    for task in config.tasks:
        head = f"{task.upper()} head ({'CRF' if config.use_crf[task] else 'softmax'})"
        # task_num_layers == 0: the heads read the shared Bi-LSTM directly.
        branches.append(f"{task.upper()} Bi-LSTM ─► {head}" if config.task_num_layers else head)
    if len(branches) == 1:
        lines[-1] += f" ─► {branches[0]}"
        return "\n".join(lines)
    # The branches hang off the fork drawn right after the shared Bi-LSTM.
    fork_column = len(lines[-1]) + 2
    lines[-1] += f" ─┬─► {branches[0]}"
    lines += [" " * fork_column + f"├─► {branch}" for branch in branches[1:-1]]
    lines.append(" " * fork_column + f"└─► {branches[-1]}")
    return "\n".join(lines)


def write_model_card(model_dir: str | Path, results: dict, run_info: dict, **kwargs) -> Path:
    """Renders the card of the model saved in `model_dir` and writes it there as README.md."""
    from .modeling_mtl_bilstm import MTLBiLSTMForTokenClassification

    model_dir = Path(model_dir)
    model = MTLBiLSTMForTokenClassification.from_pretrained(model_dir)
    card = render_model_card(results, run_info, model.config, model.num_parameters(), **kwargs)
    path = model_dir / "README.md"
    card.save(path)
    return path
