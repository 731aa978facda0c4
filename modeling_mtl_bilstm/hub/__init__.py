"""Publishing on the Hugging Face Hub: self-contained model folders, dataset folders, and the model card."""

from .model_card import architecture_diagram, render_model_card, write_model_card
from .publish import (
    RestrictedLicenseError,
    build_dataset_folder,
    build_hub_folder,
    check_no_pickle,
    check_self_contained,
    folder_listing,
    push_dataset_folder,
    push_model_folder,
)


__all__ = [
    "RestrictedLicenseError",
    "architecture_diagram",
    "build_dataset_folder",
    "build_hub_folder",
    "check_no_pickle",
    "check_self_contained",
    "folder_listing",
    "push_dataset_folder",
    "push_model_folder",
    "render_model_card",
    "write_model_card",
]
