"""The README stays a front page, every result file is cited, the manual's flag table covers every flag, and the
manual builds in strict mode (where mkdocs is installed: the `docs` extra)."""

import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
INDEX = RESULTS / "README.md"
MAX_README_LINES = 200
# A markdown link or image target, without its #anchor.
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)\s]*)?\)")


def linked_files(markdown_file: Path) -> set[Path]:
    """The local files a markdown file links to, as resolved paths."""
    text = markdown_file.read_text(encoding="utf-8")
    return {
        (markdown_file.parent / target).resolve()
        for target in LINK.findall(text)
        if "://" not in target and not target.startswith("mailto:")
    }


def load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", REPO / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_is_a_front_page():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; the manual (docs/) holds the rest"


def test_every_result_file_is_cited():
    cited = linked_files(INDEX)
    for page in (REPO / "docs").rglob("*.md"):
        cited |= linked_files(page)
    files = {path.resolve() for path in RESULTS.rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    uncited = sorted(str(path.relative_to(REPO)) for path in files - cited - {INDEX.resolve()})
    assert not uncited, f"not linked from benchmarks/results/README.md or the manual: {uncited}"


def test_result_links_point_at_files():
    missing = sorted(str(path) for path in linked_files(INDEX) if not path.exists())
    assert not missing, f"benchmarks/results/README.md links files that do not exist: {missing}"


def test_flag_table_lists_every_field():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import TrainingArguments

    from modeling_mtl_bilstm.training.arguments import ARGUMENT_CLASSES

    table = load_hooks().flag_table()
    for cls in ARGUMENT_CLASSES:
        fields = dataclasses.fields(cls)
        if issubclass(cls, TrainingArguments):  # the defaults the project sets; transformers documents the rest
            own = set(cls.__dict__.get("__annotations__", {}))
            fields = [field for field in fields if field.name in own]
        assert fields, cls
        for field in fields:
            assert f"`--{field.name}`" in table, f"{cls.__name__}.{field.name} is missing from the flag table"


def test_manual_builds_in_strict_mode(tmp_path):
    missing = [
        name for name in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers") if not _installed(name)
    ]
    if missing:
        pytest.skip(f"the manual's tools are not installed ({', '.join(missing)}): pip install -e '.[docs]'")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-8000:]
    assert (tmp_path / "site" / "training" / "index.html").is_file()
    assert (tmp_path / "site" / "benchmarks" / "results" / "index.html").is_file()


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
