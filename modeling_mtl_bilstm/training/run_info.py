"""The training output folder: the names of the files a run writes there, and its run-info record (run_info.json).

    <output_dir>/
        results.json       per-model scores, mean and std over seeds (`reporting.write_results`)
        results.md         the comparison table
        results.png        the comparison figure
        run_info.json      `RunInfo`: dataset, command, arguments, corpus sizes, the selected model, the deltas
        best_model/        the selected model, its tokenizer and model card
        runs/<model>/seed<n>/run_result.json   one finished run's scores (`--resume_from_checkpoint last` reuses it)

This module imports nothing of the package: the publishing code (`hub`) and the benchmarks read a run's folder
through it without importing the training engine.
"""

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
RESULTS_PNG = "results.png"
RUN_INFO_JSON = "run_info.json"
BEST_MODEL_DIR = "best_model"
RUNS_DIR = "runs"
RUN_RESULT_JSON = "run_result.json"
# The files beside the models, each optional for a reader (the model card uses those it finds).
REPORT_FILES = (RESULTS_JSON, RUN_INFO_JSON, RESULTS_MD, RESULTS_PNG)

# Arguments renamed or moved, as run_info.json files of earlier versions store them:
# (group, old name) -> (group, new name). `task_hidden_size` set both task sizes.
RENAMED_ARGUMENTS = {
    ("model", "use_crf"): [("model", "ner_crf")],
    ("model", "task_hidden_size"): [("model", "pos_hidden_size"), ("model", "ner_hidden_size")],
    ("model", "pretrained_embeddings"): [("model", "morpheme_vectors_file")],
    ("model", "frozen_vectors"): [("model", "frozen_embedding")],
    ("experiment", "pos_loss_weight_final"): [("model", "pos_loss_weight_final")],
}


def run_folder(output_dir: str | Path, model_key: str, seed: int) -> Path:
    """The folder of one (model, seed) run of a comparison, with its checkpoints and run_result.json."""
    return Path(output_dir) / RUNS_DIR / model_key / f"seed{seed}"


def current_arguments(arguments: dict) -> dict:
    """`{group: {name: value}}` of a run, with the names of earlier versions (`RENAMED_ARGUMENTS`) replaced by
    today's; a name already present under its new spelling keeps its value."""
    arguments = {group: dict(values) for group, values in arguments.items()}
    for (old_group, old_name), targets in RENAMED_ARGUMENTS.items():
        if old_name not in arguments.get(old_group, {}):
            continue
        value = arguments[old_group].pop(old_name)
        for new_group, new_name in targets:
            arguments.setdefault(new_group, {}).setdefault(new_name, value)
    return arguments


@dataclass
class RunInfo:
    """What a training run records about itself in run_info.json, beside its results.

    Every field may be missing from a file of an earlier version (its default then applies); keys this version
    does not know are kept in `extra` and written back. `arguments` are stored as the run's version wrote them:
    `argument()` reads them by today's names.

    Args:
        dataset: `--dataset` (sample, klp2016, klue, conll).
        command: the command line that ran it.
        wall_seconds: the time the whole plan took.
        best_model: the run kept in best_model/: `{"key", "seed", "metric", "value"}` (None: none was selected).
        num_processes, device: where it ran.
        arguments: `{"experiment", "data", "model", "training": {name: value}}`.
        corpus: sentences per split.
        ner_f1_deltas, raw_ner_f1_deltas: multi-task minus single-task NER F1 (`reporting.ner_f1_deltas`).
    """

    dataset: str | None = None
    command: str | None = None
    wall_seconds: float | None = None
    best_model: dict | None = None
    num_processes: int | None = None
    device: str | None = None
    arguments: dict[str, dict] = field(default_factory=dict)
    corpus: dict[str, int] = field(default_factory=dict)
    ner_f1_deltas: dict = field(default_factory=dict)
    raw_ner_f1_deltas: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> "RunInfo":
        if not isinstance(data, dict):
            raise TypeError(f"run info: expected a JSON object, received {type(data).__name__}")
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(
            **{name: value for name, value in data.items() if name in known},
            extra={name: value for name, value in data.items() if name not in known},
        )

    @classmethod
    def read(cls, path: str | Path) -> "RunInfo":
        """The run info of a run_info.json file, or of the one in an output folder."""
        path = Path(path)
        if path.is_dir():
            path = path / RUN_INFO_JSON
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def read_if_present(cls, path: str | Path | None) -> "RunInfo | None":
        """`read(path)`, or None where there is no such file."""
        if path is None:
            return None
        path = Path(path)
        return cls.read(path) if (path / RUN_INFO_JSON if path.is_dir() else path).is_file() else None

    def to_dict(self) -> dict:
        data = asdict(self)
        return {**{name: value for name, value in data.items() if name != "extra"}, **self.extra}

    def write(self, output_dir: str | Path) -> Path:
        path = Path(output_dir) / RUN_INFO_JSON
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n", "utf-8")
        return path

    def argument(self, group: str, name: str, default=None):
        """The value of argument `name` (today's spelling) of `group` (experiment, data, model, training),
        whichever version wrote the file."""
        return current_arguments(self.arguments).get(group, {}).get(name, default)

    def training_corpora(self) -> list[str]:
        """The names of the corpora the run trained on: --dataset, then each of --extra_train_corpora."""
        names = [self.dataset] if self.dataset else []
        names += [entry.partition("=")[0] for entry in self.argument("data", "extra_train_corpora") or []]
        return list(dict.fromkeys(names))

    def hyperparameters(self) -> dict:
        """The model and training arguments by today's names, and the seeds: what a model card lists."""
        arguments = current_arguments(self.arguments)
        hyperparameters = {**arguments.get("model", {}), **arguments.get("training", {})}
        if hyperparameters:
            hyperparameters["seeds"] = arguments.get("experiment", {}).get("seeds")
        return hyperparameters


__all__ = [
    "BEST_MODEL_DIR",
    "REPORT_FILES",
    "RESULTS_JSON",
    "RESULTS_MD",
    "RESULTS_PNG",
    "RUNS_DIR",
    "RUN_INFO_JSON",
    "RUN_RESULT_JSON",
    "RunInfo",
    "current_arguments",
    "run_folder",
]
