"""Checks of the tensors [`MTLBiLSTMForTokenClassification`] takes, against its config, with errors that say what
was expected and what was received (a remote-code module)."""

import torch

from .configuration_mtl_bilstm import MTLBiLSTMConfig
from .features_mtl_bilstm import gazetteer_flag_count


def checked_attention_mask(
    config: MTLBiLSTMConfig, input_ids: torch.LongTensor, attention_mask: torch.Tensor | None
) -> torch.BoolTensor:
    """The bool mask `(batch_size, sequence_length)` of real positions: `attention_mask`, or `input_ids !=
    config.pad_token_id` where it is None. Sequences must be left-aligned and non-empty."""
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids: expected shape (batch, seq_len), received {tuple(input_ids.shape)}.")
    if attention_mask is None:
        attention_mask = input_ids != config.pad_token_id
    elif attention_mask.shape != input_ids.shape:
        raise ValueError(
            f"attention_mask: expected shape {tuple(input_ids.shape)} like input_ids, "
            f"received {tuple(attention_mask.shape)}."
        )
    attention_mask = attention_mask.bool()
    # A branch on tensor values cannot be traced; traced callers are trusted with their masks.
    if not torch.compiler.is_compiling() and not attention_mask[:, 0].all():
        raise ValueError(
            "attention_mask: expected every sequence to start with a real token (left-aligned, non-empty)."
        )
    return attention_mask


def check_char_ids(config: MTLBiLSTMConfig, input_ids: torch.LongTensor, char_ids: torch.LongTensor | None) -> None:
    """`char_ids` of shape `(batch_size, sequence_length, max_syllables)` exactly when `config.char_vocab_size > 0`."""
    if config.char_vocab_size and char_ids is None:
        raise ValueError(
            f"char_ids: expected a tensor of shape {tuple(input_ids.shape)} + (max_syllables,) since "
            f"config.char_vocab_size={config.char_vocab_size}, received None."
        )
    if not config.char_vocab_size and char_ids is not None:
        raise ValueError("char_ids: expected None since config.char_vocab_size=0 (no syllable features).")
    if char_ids is not None and (char_ids.dim() != 3 or char_ids.shape[:2] != input_ids.shape):
        raise ValueError(
            f"char_ids: expected shape {tuple(input_ids.shape)} + (max_syllables,), received {tuple(char_ids.shape)}."
        )


def check_features(
    config: MTLBiLSTMConfig,
    input_ids: torch.LongTensor,
    eojeol_ids: torch.LongTensor | None,
    gazetteer_flags: torch.Tensor | None,
) -> None:
    """`eojeol_ids` of shape `(batch_size, sequence_length)` exactly when `config.use_eojeol_features`, and
    `gazetteer_flags` of shape `(batch_size, sequence_length, 2 * len(config.gazetteer_types))` exactly when
    `config.gazetteer_types` is set."""
    features = (
        ("eojeol_ids", eojeol_ids, tuple(input_ids.shape), f"use_eojeol_features={config.use_eojeol_features}"),
        (
            "gazetteer_flags",
            gazetteer_flags,
            (*input_ids.shape, gazetteer_flag_count(config.gazetteer_types)),
            f"gazetteer_types={config.gazetteer_types}",
        ),
    )
    for (name, value, shape, setting), used in zip(features, (config.use_eojeol_features, config.gazetteer_types)):
        if not used and value is not None:
            raise ValueError(f"{name}: expected None since config.{setting}, received a tensor.")
        if used and (value is None or tuple(value.shape) != shape):
            received = "None" if value is None else f"shape {tuple(value.shape)}"
            raise ValueError(f"{name}: expected shape {shape} since config.{setting}, received {received}.")


__all__ = ["check_char_ids", "check_features", "checked_attention_mask"]
