"""Publishing on the Hugging Face Hub.

A trained model goes up as one self-contained folder: safetensors weights, config and tokenizer files
whose `auto_map` names the modeling code shipped beside them (so that it loads with
`trust_remote_code=True` where this package is not installed), the model card rendered for the target
repository and revision, the run's results (results.json, results.png), and a Hugging Face Inference
Endpoints handler (handler.py, with the requirements.txt that the endpoint installs). A corpus goes up as
Parquet files with a dataset card. Folders are built locally first, so that a dry run shows exactly
what an upload would send.
"""

import json
import logging
import shutil
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from huggingface_hub import CommitInfo, HfApi, get_token
from huggingface_hub.constants import DEFAULT_REVISION
from transformers.dynamic_module_utils import get_imports, get_relative_imports

from ..data import PathLike, export_to_parquet, load_korean_ner
from ..data_scripts.corpora import CORPORA
from ..evaluation import EVALUATION_JSON, read_evaluation
from ..modeling_mtl_bilstm import MTLBiLSTMForTokenClassification
from ..tokenization_mtl_bilstm import GAZETTEER_FILE
from ..training.run_info import (
    BEST_MODEL_DIR,
    REPORT_FILES,
    RESULTS_JSON,
    RESULTS_MD,
    RESULTS_PNG,
    RUN_INFO_JSON,
    RunInfo,
)
from .endpoint_handler import ONNX_FILES
from .model_card import as_run_info, render_model_card


logger = logging.getLogger(__name__)

CARD_FILE = "README.md"
# Files that hold the auto_map of the remote-code classes.
AUTO_MAP_FILES = ("config.json", "tokenizer_config.json")
# Pickle-based files: loading one can run arbitrary code; safetensors holds weights safely.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# Trainer.save_model pickles its TrainingArguments beside the model. Loading does not need them and
# the card lists the hyperparameters, so they are left out rather than refused.
TRAINING_ARGS_FILE = "training_args.bin"
PACKAGE_NAME = __name__.split(".")[0]
DISTRIBUTION_NAME = "mtl-bilstm-ner"
# The Inference Endpoints handler: this template, copied as the file the endpoint toolkit loads.
ENDPOINT_HANDLER_TEMPLATE = Path(__file__).with_name("endpoint_handler.py")
ENDPOINT_HANDLER_FILE = "handler.py"
REQUIREMENTS_FILE = "requirements.txt"


class RestrictedLicenseError(PermissionError):
    """The corpus's licence does not allow publishing it."""


def build_hub_folder(
    model_dir: PathLike,
    local_dir: PathLike,
    *,
    repo_id: str,
    revision: str = DEFAULT_REVISION,
    with_onnx: bool = False,
    allow_restricted_license: bool = False,
) -> Path:
    """Writes the Hub-ready folder of a saved model into `local_dir`.

    Args:
        model_dir: a saved model folder (`save_pretrained` of the model and its tokenizer), or a training output
            folder with `best_model/` inside. Where a training run left `results.json`, `run_info.json`,
            `results.md` or `results.png` in the model folder or its parent, they enrich the card (scores,
            corpus, hyperparameters, comparison table and figure); none is required. The model folder's
            evaluation.json (`mtl-bilstm-ner evaluate`) is published with it and shown in the card.
        local_dir: a new or empty folder, so that no stale file is uploaded with the model.
        repo_id: the Hub repository, named in the card's loading examples.
        revision: the branch the folder goes to, pinned in the card's loading examples.
        with_onnx: also write `model.onnx` and `model.int8.onnx` (`export_onnx`, the `onnx` extra), so that the
            published model runs with ONNX Runtime (`KoreanNERPredictor.from_pretrained(repo_id, backend="onnx")`).
        allow_restricted_license: publish a model whose gazetteer holds entries of a corpus or dictionary that
            may not be redistributed anyway, for when you hold the rights to.

    Returns:
        `local_dir` as a `Path`, holding the model's safetensors weights, config and tokenizer files, modeling
        code, `README.md` (the card), `handler.py` and `requirements.txt` (see `write_endpoint_handler`) and, where
        the run left them, `results.json` and `results.png`.

    Raises:
        FileNotFoundError: no model, weights or modeling code where expected.
        FileExistsError: `local_dir` is not empty.
        ValueError: pickle weights, or modeling code that does not load without this package.
    """
    model_path = locate_model(model_dir)
    model_files = [
        path
        for path in sorted(model_path.iterdir())
        # Run files that may sit in the model folder: the hub folder takes only results.json and results.png.
        if path.is_file() and path.name not in (CARD_FILE, TRAINING_ARGS_FILE, *REPORT_FILES)
    ]
    check_no_pickle(model_files, model_path)
    if not any(path.suffix == ".safetensors" for path in model_files):
        raise FileNotFoundError(
            f"{model_path}: expected safetensors weights (model.safetensors); found {[p.name for p in model_files]}"
        )
    check_self_contained(model_path)
    run_files = find_run_files(model_path)
    if not allow_restricted_license:
        check_gazetteer_terms(model_path, RunInfo.read_if_present(run_files.get(RUN_INFO_JSON)))
    local_dir = _empty_folder(local_dir)
    for path in model_files:
        shutil.copy2(path, local_dir / path.name)
    for name in (RESULTS_JSON, RESULTS_PNG):
        if name in run_files:
            shutil.copy2(run_files[name], local_dir / name)
    model = MTLBiLSTMForTokenClassification.from_pretrained(local_dir)
    card = render_model_card(
        model.config,
        model.num_parameters(),
        results=_read_json(run_files.get(RESULTS_JSON)),
        run_info=RunInfo.read_if_present(run_files.get(RUN_INFO_JSON)),
        results_table=run_files[RESULTS_MD].read_text(encoding="utf-8") if RESULTS_MD in run_files else None,
        repo_id=repo_id,
        revision=revision,
        results_figure=RESULTS_PNG if RESULTS_PNG in run_files else None,
        evaluation=read_evaluation(model_path / EVALUATION_JSON),
    )
    card.save(local_dir / CARD_FILE)
    if with_onnx:
        from ..inference.onnx_export import export_onnx
        from ..tokenization_mtl_bilstm import MTLBiLSTMTokenizer

        # Exported from the folder's own files, so the ONNX files match what is published.
        export_onnx(model.eval(), MTLBiLSTMTokenizer.from_pretrained(local_dir), local_dir, int8=True)
    write_endpoint_handler(local_dir)
    return local_dir


def write_endpoint_handler(folder: Path) -> None:
    """Writes the Hugging Face Inference Endpoints handler into a Hub folder: `handler.py` (`EndpointHandler`, from
    `endpoint_handler.py`) and the `requirements.txt` the endpoint installs before loading it, this package at this
    version with the extras the handler needs (`korean` for Kiwi, `onnx` for ONNX Runtime where the folder has the
    ONNX files that the handler then serves)."""
    shutil.copyfile(ENDPOINT_HANDLER_TEMPLATE, folder / ENDPOINT_HANDLER_FILE)
    has_onnx = any((folder / name).is_file() for name, _ in ONNX_FILES)
    extras = "korean,onnx" if has_onnx else "korean"
    try:
        pin = f"=={version(DISTRIBUTION_NAME)}"
    except PackageNotFoundError:  # run from a checkout that is not installed
        pin = ""
    (folder / REQUIREMENTS_FILE).write_text(f"{DISTRIBUTION_NAME}[{extras}]{pin}\n", encoding="utf-8")


def check_gazetteer_terms(model_path: Path, run_info: RunInfo | dict | None) -> None:
    """Raises `RestrictedLicenseError` where the model's gazetteer (published verbatim with it) may hold entries
    that may not be redistributed: entities of a restricted training corpus (`--gazetteer_from_training`), a
    dictionary file (`--gazetteer`, whose terms are unknown here), or unknown sources (no run_info.json)."""
    if not (model_path / GAZETTEER_FILE).is_file():
        return
    if run_info is None:
        sources = ["sources unknown: no run_info.json beside the model says where its entries come from"]
    else:
        run_info = as_run_info(run_info)
        dictionary = run_info.argument("data", "gazetteer")
        sources = [f"the dictionary {dictionary}"] if dictionary else []
        if run_info.argument("data", "gazetteer_from_training"):
            corpora = run_info.training_corpora() if run_info.dataset else ["conll", *run_info.training_corpora()]
            sources += [
                f"entities of {name} ({CORPORA[name].redistribution_forbidden})"
                for name in corpora
                if name in CORPORA and CORPORA[name].redistribution_forbidden
            ]
    if sources:
        raise RestrictedLicenseError(
            f"{model_path / GAZETTEER_FILE}: the model's gazetteer is published with it, and its entries come from "
            f"{'; '.join(sources)}. Pass --allow_restricted_license (allow_restricted_license=True) only if you "
            "may redistribute them."
        )


def locate_model(model_dir: PathLike) -> Path:
    """The model folder: `model_dir` itself, or its `best_model/` where `model_dir` is a training output folder."""
    model_dir = Path(model_dir)
    if (model_dir / BEST_MODEL_DIR / "config.json").is_file():
        return model_dir / BEST_MODEL_DIR
    if (model_dir / "config.json").is_file():
        return model_dir
    raise FileNotFoundError(
        f"{model_dir}: expected a saved model folder (with config.json) or a training output folder (with "
        f"{BEST_MODEL_DIR}/config.json); found neither"
    )


def find_run_files(model_path: Path) -> dict[str, Path]:
    """The run files (results.json, run_info.json, results.md, results.png) of the training run that saved
    `model_path`: those in the model folder, else those in its parent (a training output folder). The card's
    scores must come from one run, so the files are not mixed across the two folders."""
    for folder in (model_path, model_path.parent):
        found = {name: folder / name for name in REPORT_FILES if (folder / name).is_file()}
        if found:
            return found
    return {}


def _read_json(path: Path | None) -> dict | None:
    return None if path is None else json.loads(path.read_text(encoding="utf-8"))


def check_no_pickle(paths: list[Path], folder: Path) -> None:
    """Raises ValueError naming the pickle-based files among `paths` (files of `folder`)."""
    pickled = [path.name for path in paths if path.suffix in PICKLE_SUFFIXES]
    if pickled:
        raise ValueError(
            f"{folder} holds pickle files {pickled}: expected safetensors weights only. Save the model with "
            "`model.save_pretrained(folder)` (safetensors by default) and point at that folder, not at a "
            "Trainer checkpoint."
        )


def check_self_contained(folder: PathLike) -> None:
    """Raises unless `folder` loads with `trust_remote_code=True` where this package is not installed:
    every module named in the `auto_map` of config.json and tokenizer_config.json, and every module
    those import relatively (as transformers resolves them), is a file of `folder`, and none imports
    this package by name."""
    folder = Path(folder)
    pending = []
    for name in AUTO_MAP_FILES:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{folder}: expected {name}, written by save_pretrained; not found")
        auto_map = json.loads(path.read_text(encoding="utf-8")).get("auto_map")
        if not auto_map:
            raise ValueError(
                f"{path}: expected an `auto_map` naming the modeling code; found none. Import "
                f"{PACKAGE_NAME} before saving: it registers the classes for the Auto classes' remote code."
            )
        for references in auto_map.values():
            for reference in references if isinstance(references, list) else [references]:
                if reference:
                    pending.append((reference.rsplit(".", 1)[0], path.name))

    checked = set()
    while pending:
        module, needed_by = pending.pop()
        if module in checked:
            continue
        checked.add(module)
        module_file = folder / f"{module}.py"
        if not module_file.is_file():
            raise FileNotFoundError(f"{folder}: {needed_by} needs the module {module}.py, which is not in the folder")
        if PACKAGE_NAME in get_imports(module_file):
            raise ValueError(f"{module_file} imports {PACKAGE_NAME}: expected relative imports only")
        pending += [(imported, module_file.name) for imported in get_relative_imports(module_file)]


def build_dataset_folder(
    dataset: str,
    local_dir: PathLike,
    *,
    repo_id: str,
    data_dir: PathLike | None = None,
    allow_restricted_license: bool = False,
) -> Path:
    """Writes a corpus as Parquet files with a dataset card into `local_dir` (see `export_to_parquet`).

    Args:
        dataset: `"sample"`, `"klp2016"`, `"ner2016"`, `"klue"` or `"conll"`, as in `load_korean_ner`; the card
            gives the corpus's description and licence from the licence table (KLUE's attribution and CC BY-SA 4.0).
        local_dir: a new or empty folder.
        repo_id: the Hub repository; its name titles the card.
        data_dir: the corpus folder (`klp2016`, `ner2016`, `klue`, `conll`; the bundled sample by default).
        allow_restricted_license: publish a corpus whose licence restricts redistribution anyway,
            for when you hold the rights to (a private repository, say).

    Raises:
        RestrictedLicenseError: the corpus's licence does not allow redistribution and
            `allow_restricted_license` is False.
    """
    terms = CORPORA[dataset]
    if terms.redistribution_forbidden and not allow_restricted_license:
        raise RestrictedLicenseError(
            f"Refusing to publish {dataset!r}: {terms.redistribution_forbidden}. Pass --allow_restricted_license "
            "(allow_restricted_license=True) only if you have the right to redistribute it."
        )
    corpus = load_korean_ner(dataset, data_dir=data_dir)
    return export_to_parquet(
        corpus,
        _empty_folder(local_dir),
        dataset_name=repo_id.split("/")[-1],
        license=terms.hub_license,
        description=terms.description,
    )


def push_model_folder(
    folder: PathLike,
    repo_id: str,
    *,
    revision: str = DEFAULT_REVISION,
    private: bool | None = None,
    commit_message: str = "Upload mtl-bilstm-ner model",
    api: HfApi | None = None,
) -> CommitInfo:
    """Uploads a folder from `build_hub_folder` to the model repository `repo_id` (created if needed)
    on branch `revision` (created from main if needed), in one commit.

    `private` applies to a new repository only; None keeps the account's default. `api` defaults to
    `HfApi()`, whose token comes from `HF_TOKEN` or `hf auth login`."""
    folder = Path(folder)
    check_no_pickle([path for path in folder.rglob("*") if path.is_file()], folder)
    check_self_contained(folder)
    return _push_folder(folder, repo_id, "model", revision, private, commit_message, api)


def push_dataset_folder(
    folder: PathLike,
    repo_id: str,
    *,
    private: bool | None = None,
    commit_message: str = "Upload Korean NER corpus",
    api: HfApi | None = None,
) -> CommitInfo:
    """Uploads a folder from `build_dataset_folder` to the dataset repository `repo_id` (created if
    needed) in one commit on main."""
    return _push_folder(Path(folder), repo_id, "dataset", DEFAULT_REVISION, private, commit_message, api)


def folder_listing(folder: PathLike) -> str:
    """`folder:` then one line per file under it, sorted: its relative path and size in bytes."""
    folder = Path(folder)
    files = sorted((p.relative_to(folder).as_posix(), p.stat().st_size) for p in folder.rglob("*") if p.is_file())
    return "\n".join([f"{folder}:", *(f"  {path}  ({size:,} bytes)" for path, size in files)])


def _push_folder(
    folder: Path,
    repo_id: str,
    repo_type: str,
    revision: str,
    private: bool | None,
    commit_message: str,
    api: HfApi | None,
) -> CommitInfo:
    api = api or HfApi()
    if api.token is None and get_token() is None:
        raise PermissionError("No Hugging Face token: set HF_TOKEN or run `hf auth login`")
    url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
    logger.info("Repository %s", url)
    if revision != DEFAULT_REVISION:
        api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)
    return api.upload_folder(
        folder_path=folder, repo_id=repo_id, repo_type=repo_type, revision=revision, commit_message=commit_message
    )


def _empty_folder(path: PathLike) -> Path:
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(f"{path}: expected a new or empty folder, so that no stale file is uploaded")
    path.mkdir(parents=True, exist_ok=True)
    return path
