"""Publishing on the Hugging Face Hub: self-contained model folders, dataset folders, and the model card.

Names are imported on first use (huggingface_hub, transformers and torch with them), so that importing
`modeling_mtl_bilstm.hub.commands` to build the command-line parser needs none of them."""

import importlib


_MODULE_OF = {
    "architecture_diagram": "model_card",
    "render_model_card": "model_card",
    "write_model_card": "model_card",
    "RestrictedLicenseError": "publish",
    "build_dataset_folder": "publish",
    "build_hub_folder": "publish",
    "check_no_pickle": "publish",
    "check_self_contained": "publish",
    "folder_listing": "publish",
    "push_dataset_folder": "publish",
    "push_model_folder": "publish",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
