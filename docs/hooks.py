"""MkDocs hooks of the manual (mkdocs.yml: `hooks: [docs/hooks.py]`).

* The training page's flag table is generated at build time from the argument dataclasses of
  `modeling_mtl_bilstm.training.arguments` (`dataclasses.fields`: name, default, help metadata), so it never drifts
  from the code: `<!-- training-flags -->` in docs/training.md is replaced by it.
* The files under benchmarks/results/ (and the demo's screenshot) join the site, so that the manual links the result
  files and shows their figures, and strict mode checks those links like any other.
* Links are written as repository paths, relative to the file that holds them (`../benchmarks/results/...` in
  docs/results.md, `../../docs/results.md` in benchmarks/results/README.md), so that they work when the files are
  read in the repository; the hook rewrites them to the site's layout, where docs/ is the root.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
FLAGS_MARKER = "<!-- training-flags -->"
# Repository folders and files outside docs/ that the site carries under the same paths.
EXTRA_FOLDERS = ("benchmarks/results",)
EXTRA_FILES = ("examples/space/screenshot.png",)

# Defaults that depend on the machine the table is built on.
MACHINE_DEFAULTS = {"use_cpu": "`True` where CUDA is not available"}
TRANSFORMERS_DOCS = "https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments"


def _argument_module():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from modeling_mtl_bilstm.training import arguments

    return arguments


def _own_fields(cls) -> list[dataclasses.Field]:
    """The fields a class defines itself (for a TrainingArguments subclass: the defaults the project sets)."""
    own = set(cls.__dict__.get("__annotations__", {}))
    return [field for field in dataclasses.fields(cls) if field.name in own]


def project_fields() -> dict[str, list[dataclasses.Field]]:
    """Each argument dataclass of the project and the fields the table lists for it."""
    from transformers import TrainingArguments

    classes = _argument_module().ARGUMENT_CLASSES
    return {
        cls.__name__: (_own_fields(cls) if issubclass(cls, TrainingArguments) else list(dataclasses.fields(cls)))
        for cls in classes
    }


def _default(field: dataclasses.Field) -> str:
    if field.name in MACHINE_DEFAULTS:
        return MACHINE_DEFAULTS[field.name]
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return "(required)"
    if value is None:
        return "none"
    if isinstance(value, list):
        return "`" + " ".join(str(item) for item in value) + "`" if value else "none"
    value = getattr(value, "value", value)  # enums
    return f"`{value}`"


def _help(field: dataclasses.Field, parent_fields: dict[str, dataclasses.Field]) -> str:
    text = field.metadata.get("help")
    if not text and field.name in parent_fields:
        text = parent_fields[field.name].metadata.get("help")
    text = " ".join((text or "See `python examples/train.py --help`.").split())
    choices = field.metadata.get("choices")
    if choices:
        text += " Choices: " + ", ".join(f"`{choice}`" for choice in choices) + "."
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _flag(field: dataclasses.Field) -> str:
    flag = f"`--{field.name}`"
    if field.type in (bool, "bool") and field.default is True:
        flag += f" / `--no_{field.name}`"
    return flag


TITLES = {
    "ExperimentArguments": "What to run",
    "DataArguments": "Data",
    "ModelArguments": "Model",
    "MTLTrainingArguments": "Trainer defaults the project sets",
}


def flag_table() -> str:
    """The markdown that replaces the marker: one table per argument dataclass."""
    from transformers import TrainingArguments

    parent_fields = {field.name: field for field in dataclasses.fields(TrainingArguments)}
    parts = []
    for name, fields in project_fields().items():
        title = TITLES.get(name, name)
        parts.append(f"### {title}\n")
        if name == "MTLTrainingArguments":
            parts.append(
                "`MTLTrainingArguments` subclasses transformers' `TrainingArguments`: every one of its flags works "
                f"([transformers' reference]({TRANSFORMERS_DOCS})). These are the ones whose default the project "
                "changes (the help is transformers'):\n"
            )
        else:
            parts.append(f"`{name}` (`modeling_mtl_bilstm/training/arguments.py`):\n")
        parts.append("| flag | default | what it does |\n|---|---|---|")
        parts.extend(f"| {_flag(field)} | {_default(field)} | {_help(field, parent_fields)} |" for field in fields)
        parts.append("")
    return "\n".join(parts)


# A markdown link or image target: `](target)` or `](target#anchor)`.
LINK = re.compile(r"(\]\()([^)\s#]+)([^)\s]*\))")


def _is_extra(repo_path: str) -> bool:
    return repo_path in EXTRA_FILES or any(repo_path.startswith(folder + "/") for folder in EXTRA_FOLDERS)


def site_links(markdown: str, src_uri: str) -> str:
    """Rewrites the repository-relative links of the page at `src_uri` (a site path) to site-relative ones."""
    repo_page = src_uri if _is_extra(src_uri) else f"docs/{src_uri}"
    page_dir = posixpath.dirname(repo_page)
    site_dir = posixpath.dirname(src_uri)

    def rewrite(match: re.Match) -> str:
        target = match.group(2)
        if "://" in target or target.startswith(("mailto:", "/")):
            return match.group(0)
        repo_path = posixpath.normpath(posixpath.join(page_dir, target))
        if repo_path.startswith("docs/"):
            site_path = repo_path[len("docs/") :]
        elif _is_extra(repo_path):
            site_path = repo_path
        else:
            return match.group(0)  # not part of the site: strict mode reports it
        return match.group(1) + posixpath.relpath(site_path, site_dir or ".") + match.group(3)

    return LINK.sub(rewrite, markdown)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if FLAGS_MARKER in markdown:
        markdown = markdown.replace(FLAGS_MARKER, flag_table())
    return site_links(markdown, page.file.src_uri)


def on_files(files, config):
    from mkdocs.structure.files import File

    paths = [path for folder in EXTRA_FOLDERS for path in sorted((ROOT / folder).rglob("*")) if path.is_file()] + [
        ROOT / name for name in EXTRA_FILES
    ]
    for path in paths:
        if "__pycache__" in path.parts:
            continue
        uri = path.relative_to(ROOT).as_posix()
        files.append(File(uri, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files
