"""Runs a Python snippet in a fresh process where `modeling_mtl_bilstm` cannot be imported, as on a
machine that only has transformers: what loading a Hub folder with trust_remote_code=True must survive."""

import os
import subprocess
import sys
import textwrap


def block_imports(*names: str) -> str:
    """Python source that, run before anything else, makes the top-level packages `names` unimportable in that
    process, as on a machine where they are not installed. The snippet leaves `sys` imported."""
    return textwrap.dedent(
        f"""
        import importlib.abc, sys
        class _Blocked(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {names!r}:
                    raise ImportError(f"{{name}} is blocked here")
        sys.meta_path.insert(0, _Blocked())
        """
    )


BLOCK_PACKAGE = block_imports("modeling_mtl_bilstm")


def run_without_package(code: str, tmp_path) -> subprocess.CompletedProcess:
    """Runs `code` (dedented) offline, with a fresh dynamic-module cache under `tmp_path`."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    script = BLOCK_PACKAGE + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
