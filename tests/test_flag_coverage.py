"""Every flag of the project's argument dataclasses (training/arguments.py: `ExperimentArguments`, `DataArguments`,
`ModelArguments`; not transformers' `TrainingArguments`) is passed in some test under tests/ other than this one."""

import ast
import dataclasses
import re
from pathlib import Path

from modeling_mtl_bilstm.training.arguments import DataArguments, ExperimentArguments, ModelArguments


TESTS = Path(__file__).resolve().parent
PROJECT_ARGUMENT_CLASSES = (ExperimentArguments, DataArguments, ModelArguments)


def _test_strings(path: Path) -> str:
    """The string literals of a test file, docstrings and comments left out: a flag must be passed, not mentioned."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }
    return "\n".join(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    )


def test_every_flag_of_the_argument_dataclasses_appears_in_a_test():
    tested = "\n".join(_test_strings(path) for path in sorted(TESTS.glob("*.py")) if path != Path(__file__))
    untested = [
        f"{cls.__name__}.{field.name} (--{field.name})"
        for cls in PROJECT_ARGUMENT_CLASSES
        for field in dataclasses.fields(cls)
        if not re.search(rf"--(no_)?{field.name}\b", tested)
    ]
    assert not untested, (
        f"expected every flag in some test under tests/ (as a string passed), found none for: {untested}"
    )
