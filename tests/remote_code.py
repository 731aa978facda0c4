"""Runs a Python snippet in a fresh process where `modeling_mtl_bilstm` cannot be imported, as on a
machine that only has transformers: what loading a Hub folder with trust_remote_code=True must survive."""

import os
import subprocess
import sys
import textwrap


BLOCK_PACKAGE = textwrap.dedent(
    """
    import importlib.abc, sys
    class BlockPackage(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "modeling_mtl_bilstm":
                raise ImportError("modeling_mtl_bilstm must not be importable here")
    sys.meta_path.insert(0, BlockPackage())
    """
)


def run_without_package(code: str, tmp_path) -> subprocess.CompletedProcess:
    """Runs `code` (dedented) offline, with a fresh dynamic-module cache under `tmp_path`."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    script = BLOCK_PACKAGE + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
