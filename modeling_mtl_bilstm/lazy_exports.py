"""Package namespaces whose public names load their submodule on first use (PEP 562), so that importing a package
stays cheap and pulls in torch or transformers only where a name needs them."""

import importlib
import sys


def lazy_exports(package: str, exports: dict[str, str]):
    """Module-level `__getattr__`, `__dir__` and `__all__` for `package`, whose public names are `exports`:
    name -> the submodule that defines it, relative to `package` (e.g. `".predictor"`).

    Use in the package's `__init__.py`: `__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)`.
    """

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name], package), name)
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__, sorted(exports)
