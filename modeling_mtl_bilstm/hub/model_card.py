"""Renders the model card of a saved model from the package's template, its config and, where a training run left
them, the run's results."""

from importlib.metadata import PackageNotFoundError, metadata
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..configuration_mtl_bilstm import MTLBiLSTMConfig
from ..data_scripts.corpora import CORPORA
from ..training.run_info import RunInfo


TEMPLATE_PATH = Path(__file__).with_name("model_card_template.md")
# (results key, task name, model-index metric type, metric name) of the measured scores in the card.
RAW_TEXT_METRIC = ("raw_ner_f1", "Named entity recognition", "f1", "NER F1 from raw text (strict character spans)")
MODEL_INDEX_METRICS = (
    ("ner_f1", "Named entity recognition", "f1", "NER F1 (entity, strict IOB2)"),
    RAW_TEXT_METRIC,
    ("pos_accuracy", "Part-of-speech tagging", "accuracy", "POS accuracy"),
)
METRIC_TITLES = {
    "dev_ner_f1": "dev NER F1",
    "dev_raw_ner_f1": "dev NER F1 from raw text",
    "dev_pos_accuracy": "dev POS accuracy",
}
DEFAULT_REPO_ID = "your-namespace/mtl-bilstm-ner-ko"
DISTRIBUTION_NAME = "mtl-bilstm-ner"
# The project's learning curve: where multi-task learning pays, by training-set size.
LEARNING_CURVE_PATH = "benchmarks/results/learning-curve.md"


def render_model_card(
    config: MTLBiLSTMConfig,
    num_parameters: int,
    *,
    results: dict | None = None,
    run_info: RunInfo | dict | None = None,
    results_table: str | None = None,
    repo_id: str = DEFAULT_REPO_ID,
    revision: str = "main",
    results_figure: str | None = None,
    evaluation: dict | None = None,
) -> ModelCard:
    """The card of a model: metadata, architecture and usage from its config; from its training run, where given,
    the corpus, hyperparameters, a model-index with the test scores of the checkpoint named in
    `run_info.best_model`, and the run's comparison table.

    Args:
        config, num_parameters: the model's.
        results: the run's results.json (`{model key: {"seeds": {seed: metrics}, ...}}`).
        run_info: the run's `RunInfo` (dataset, arguments, corpus sizes, best model), or run_info.json read as a
            dict.
        results_table: the run's comparison table (results.md), shown under "Results".
        repo_id, revision: go into the loading examples.
        results_figure: path, relative to the card, of the run's figure (results.png).
        evaluation: the model's evaluation.json (`mtl-bilstm-ner evaluate`): raw-text scores on corpus splits,
            shown in a table and added to the model-index, and the speed they were measured at.
    """
    results, run_info = results or {}, as_run_info(run_info)
    dataset = run_info.dataset
    corpora = training_corpora(run_info)
    # The licence of the first corpus whose terms restrict redistribution, else the main corpus's.
    corpus = next((terms for terms in corpora.values() if terms.redistribution_forbidden), None)
    corpus = corpus or (CORPORA.get(dataset, CORPORA["conll"]) if dataset else None)
    best = run_info.best_model or {}
    measured = results.get(best.get("key"), {}).get("seeds", {}).get(str(best.get("seed")), {})
    eval_results = [
        EvalResult(
            task_type="token-classification",
            task_name=task_name,
            dataset_type=dataset,
            dataset_name=dataset,
            dataset_split="test",
            metric_type=metric_type,
            metric_name=metric_name,
            metric_value=round(measured[key], 4),
        )
        for key, task_name, metric_type, metric_name in MODEL_INDEX_METRICS
        if key in measured
    ]
    evaluation = evaluation or {}
    eval_results += [
        EvalResult(
            task_type="token-classification",
            task_name=RAW_TEXT_METRIC[1],
            dataset_type=result["corpus"],
            dataset_name=result["corpus"],
            dataset_split=result["split"],
            metric_type=RAW_TEXT_METRIC[2],
            metric_name=RAW_TEXT_METRIC[3],
            metric_value=round(result["f1"], 4),
        )
        for result in evaluation.get("results", [])
        # The training run's own raw-text test score of that corpus is already there.
        if not (result["corpus"] == dataset and result["split"] == "test" and RAW_TEXT_METRIC[0] in measured)
    ]
    card_data = ModelCardData(
        language="ko",
        license=corpus.hub_license if corpus else None,
        license_name=corpus.hub_license_name if corpus else None,
        library_name="transformers",
        pipeline_tag="token-classification",
        tags=["ner", "pos", "multi-task-learning", "bilstm", "crf", "korean", "custom_code"],
        datasets=list(corpora) or None,
        metrics=["f1", "accuracy"],
        model_name=repo_id.split("/")[-1],
        eval_results=eval_results or None,
    )
    hyperparameters = run_info.hyperparameters()
    # A comparison (multi-task and single-task NER) links the measurement of where the difference comes from.
    comparison = {"mtl", "ner"} <= set(results)
    ner_labels = list(config.ner_id2label.values()) if config.ner_id2label else []
    return ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATE_PATH),
        model_name=repo_id.split("/")[-1],
        repo_id=repo_id,
        revision=revision,
        best_model=best or None,
        selection_metric=METRIC_TITLES.get(best.get("metric"), best.get("metric")),
        config=config,
        architecture_diagram=architecture_diagram(config),
        ner_labels=ner_labels,
        entity_types=sorted({label[2:] for label in ner_labels if label != "O"}),
        pos_count=len(config.pos_id2label or {}),
        num_parameters=num_parameters,
        dataset=dataset,
        corpus_names=list(corpora) or [dataset],
        dataset_description="\n\n".join(terms.description for terms in corpora.values()) or None,
        guidelines=[terms.guidelines for terms in corpora.values() if terms.guidelines],
        evaluation=evaluation or None,
        max_train_sentences=run_info.argument("data", "max_train_sentences"),
        analyzer=run_info.argument("data", "analyzer"),
        extra_corpora_analyzer=run_info.argument("data", "extra_corpora_analyzer"),
        corpus_sizes=", ".join(f"{split} {count:,} sentences" for split, count in run_info.corpus.items()),
        hyperparameters=hyperparameters,
        results_table=results_table,
        results_figure=results_figure,
        comparison=comparison,
        learning_curve=repository_link(LEARNING_CURVE_PATH) if comparison else None,
    )


def as_run_info(run_info: RunInfo | dict | None) -> RunInfo:
    """A `RunInfo`, from run_info.json read as a dict where need be (an empty one for None)."""
    if isinstance(run_info, RunInfo):
        return run_info
    return RunInfo() if run_info is None else RunInfo.from_dict(run_info)


def training_corpora(run_info: RunInfo | dict | None) -> dict:
    """Name -> `CorpusTerms` of every corpus a run trained on: --dataset, then each of --extra_train_corpora."""
    return {name: CORPORA.get(name, CORPORA["conll"]) for name in as_run_info(run_info).training_corpora()}


def repository_link(path: str) -> str:
    """A link to a file of the project's repository: under the repository URL of the package metadata
    (`[project.urls]`), or the path itself, relative to the repository, where the metadata names none."""
    try:
        urls = metadata(DISTRIBUTION_NAME).get_all("Project-URL") or []
    except PackageNotFoundError:  # run from a checkout that is not installed
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("repository", "source", "source code", "homepage") and "github.com" in url:
            return f"{url.strip().rstrip('/')}/blob/main/{path}"
    return path


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


def write_model_card(model_dir: str | Path, **kwargs) -> Path:
    """Renders the card of the model saved in `model_dir` (keyword arguments as in `render_model_card`) and writes
    it there as README.md."""
    from ..modeling_mtl_bilstm import MTLBiLSTMForTokenClassification

    model_dir = Path(model_dir)
    model = MTLBiLSTMForTokenClassification.from_pretrained(model_dir)
    card = render_model_card(model.config, model.num_parameters(), **kwargs)
    path = model_dir / "README.md"
    card.save(path)
    return path
