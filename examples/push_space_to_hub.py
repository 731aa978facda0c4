#!/usr/bin/env python
"""Publish the Gradio demo (examples/space/) as a Hub Space that runs a published model, or write the folder
that would be published.

    python examples/push_space_to_hub.py --repo_id me/mtl-bilstm-ner-demo --model_repo_id me/mtl-bilstm-ner-ko \\
        --model_revision <commit sha> --dry_run --local_dir hub_space
    python examples/push_space_to_hub.py --repo_id me/mtl-bilstm-ner-demo --model_repo_id me/mtl-bilstm-ner-ko \\
        --model_revision <commit sha>

Publish the model first (examples/push_to_hub.py): it prints the commit to pass as --model_revision. The folder
holds app.py, requirements.txt and screenshot.png from examples/space/, its README.md (the Space card) linking
--model_repo_id, model.json naming the model and its revision (app.py loads it), and a copy of the
modeling_mtl_bilstm package, which the Space cannot pip install. The token comes from HF_TOKEN or
`hf auth login`.
"""

import argparse
import importlib
import json
import logging
import re
import shutil
import sys
import tempfile
from pathlib import Path

from huggingface_hub import CommitInfo, HfApi, SpaceCard, get_token
from huggingface_hub.utils import validate_repo_id

from modeling_mtl_bilstm.hub import folder_listing


logger = logging.getLogger(__name__)

SPACE_DIR = Path(__file__).resolve().with_name("space")
SPACE_FILES = ("app.py", "requirements.txt", "screenshot.png")
CARD_FILE = "README.md"
MODEL_FILE = "model.json"
# The model named in examples/space/README.md, replaced by --model_repo_id.
MODEL_PLACEHOLDER = "your-name/mtl-bilstm-ner-ko"
PACKAGE = "modeling_mtl_bilstm"
COMMIT_SHA = re.compile(r"[0-9a-f]{40}")


def build_space_folder(
    local_dir: str | Path, *, model_repo_id: str, model_revision: str, space_dir: str | Path = SPACE_DIR
) -> Path:
    """Writes the Space folder into `local_dir` (a new or empty folder) and returns it as a `Path`.

    Raises:
        FileExistsError: `local_dir` is not empty.
        FileNotFoundError: a file of `space_dir` is missing.
        ValueError: a bad repository id, or a card that is not a Gradio Space's.
    """
    validate_repo_id(model_repo_id)
    space_dir, local_dir = Path(space_dir), Path(local_dir)
    if local_dir.exists() and (not local_dir.is_dir() or any(local_dir.iterdir())):
        raise FileExistsError(f"{local_dir}: expected a new or empty folder, so that no stale file is uploaded")
    missing = [name for name in (*SPACE_FILES, CARD_FILE) if not (space_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{space_dir}: expected {[*SPACE_FILES, CARD_FILE]}; missing {missing}")

    card = SpaceCard((space_dir / CARD_FILE).read_text(encoding="utf-8").replace(MODEL_PLACEHOLDER, model_repo_id))
    if card.data.sdk != "gradio":
        raise ValueError(
            f"{space_dir / CARD_FILE}: expected `sdk: gradio` in its metadata, received {card.data.sdk!r}"
        )
    card.data.models = [model_repo_id]

    local_dir.mkdir(parents=True, exist_ok=True)
    for name in SPACE_FILES:
        shutil.copy2(space_dir / name, local_dir / name)
    card.save(local_dir / CARD_FILE)
    pinned = {"model": model_repo_id, "revision": model_revision}
    (local_dir / MODEL_FILE).write_text(json.dumps(pinned, indent=2) + "\n", encoding="utf-8")
    copy_package(local_dir / PACKAGE)
    return local_dir


def copy_package(destination: Path) -> None:
    """Copies the modeling_mtl_bilstm package, as imported, to `destination`: its folder, and the sub-packages
    that the installation maps from elsewhere (data_scripts/ at the top of the repository, for one)."""
    package = importlib.import_module(PACKAGE)
    root = Path(package.__file__).parent
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(root, destination, ignore=ignore)
    for name, module in sorted(sys.modules.items()):
        location = Path(module.__file__).parent if getattr(module, "__path__", None) and module.__file__ else None
        if name.startswith(f"{PACKAGE}.") and location is not None and not location.is_relative_to(root):
            target = destination.joinpath(*name.split(".")[1:])
            if not target.exists():
                shutil.copytree(location, target, ignore=ignore)


def push_space_folder(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool | None = None,
    commit_message: str = "Upload mtl-bilstm-ner demo",
    api: HfApi | None = None,
) -> CommitInfo:
    """Uploads a folder from `build_space_folder` to the Gradio Space `repo_id` (created if needed) in one
    commit on main. `private` applies to a new Space only; None keeps the account's default."""
    api = api or HfApi()
    if api.token is None and get_token() is None:
        raise PermissionError("No Hugging Face token: set HF_TOKEN or run `hf auth login`")
    url = api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    logger.info("Space %s", url)
    return api.upload_folder(folder_path=folder, repo_id=repo_id, repo_type="space", commit_message=commit_message)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo_id", required=True, help="The Space, e.g. your-name/mtl-bilstm-ner-demo.")
    parser.add_argument("--model_repo_id", required=True, help="The model it runs, e.g. your-name/mtl-bilstm-ner-ko.")
    parser.add_argument(
        "--model_revision", required=True, help="The model's commit (printed by push_to_hub.py), tag or branch."
    )
    parser.add_argument("--dry_run", action="store_true", help="Only write the folder to --local_dir and list it.")
    parser.add_argument("--local_dir", help="New or empty folder to build in (required with --dry_run).")
    parser.add_argument("--private", action="store_true", help="Create the Space private (a new Space only).")
    parser.add_argument("--commit_message", default="Upload mtl-bilstm-ner demo")
    args = parser.parse_args(argv)
    if args.dry_run and not args.local_dir:
        parser.error("--dry_run needs --local_dir, the folder to write")
    return args


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    if not COMMIT_SHA.fullmatch(args.model_revision):
        logger.warning(
            "--model_revision %r is not a commit: the Space loads whatever it points to when it starts. Pass the "
            "commit that push_to_hub.py printed to pin the model.",
            args.model_revision,
        )
    with tempfile.TemporaryDirectory(prefix="mtl-bilstm-space-") as scratch:
        try:
            validate_repo_id(args.repo_id)
            folder = build_space_folder(
                args.local_dir or scratch, model_repo_id=args.model_repo_id, model_revision=args.model_revision
            )
            print(folder_listing(folder))
            if args.dry_run:
                return
            commit = push_space_folder(
                folder, args.repo_id, private=args.private or None, commit_message=args.commit_message
            )
        # Bad folders, and Hub errors (HfHubHTTPError is an OSError): a message, not a traceback.
        except (OSError, ValueError) as error:
            raise SystemExit(f"push_space_to_hub.py: {error}") from error
    print(f"Uploaded to {commit.commit_url}")
    print(f"The Space: {commit.repo_url}")


if __name__ == "__main__":
    main()
