"""The output of [`MTLBiLSTMForTokenClassification`] (a remote-code module)."""

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput


@dataclass
class MTLBiLSTMTokenClassifierOutput(ModelOutput):
    """
    Output of [`MTLBiLSTMForTokenClassification`]. Fields of tasks the model does not train are `None`.

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when labels are given):
            joint loss, the `loss_weights`-weighted sum of the task losses whose labels were given.
        ner_loss (`torch.FloatTensor` of shape `()`, *optional*): NER loss (per-token cross-entropy,
            or the CRF negative log-likelihood divided by the number of tokens).
        pos_loss (`torch.FloatTensor` of shape `()`, *optional*): POS loss, likewise.
        ner_logits (`torch.FloatTensor` of shape `(batch_size, sequence_length, num_ner_tags)`):
            NER tag scores (CRF emission scores where the NER head uses a CRF).
        pos_logits (`torch.FloatTensor` of shape `(batch_size, sequence_length, num_pos_tags)`):
            POS tag scores, likewise.
        hidden_states (`tuple[torch.FloatTensor, ...]`, *optional*, returned with `output_hidden_states=True`
            or `config.output_hidden_states=True`): `config.num_hidden_layers + 1` tensors, as in transformers'
            encoders: first the embeddings output (morpheme embeddings, concatenated with the frozen morpheme
            vectors when `frozen_embedding_dim > 0`, the syllable-CNN features when `char_vocab_size > 0`, the
            eojeol-position embeddings when `use_eojeol_features` and the gazetteer flags when `gazetteer_types` is
            set, after dropout), of shape `(batch_size, sequence_length, embedding_dim [+ frozen_embedding_dim]
            [+ char_cnn_filters] [+ eojeol_embedding_dim] [+ 2 * len(gazetteer_types)])`; then the output of each
            layer of the shared Bi-LSTM (after dropout), of shape `(batch_size, sequence_length,
            2 * shared_hidden_size)`, forward and backward directions concatenated, zero at padding.
            `hidden_states[-1]` is what both task branches read. The per-task Bi-LSTMs are not included. Each entry
            is the tensor the forward pass went on with, so `retain_grad()` on it sees the loss's gradient.
    """

    loss: torch.FloatTensor | None = None
    ner_loss: torch.FloatTensor | None = None
    pos_loss: torch.FloatTensor | None = None
    ner_logits: torch.FloatTensor | None = None
    pos_logits: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None


__all__ = ["MTLBiLSTMTokenClassifierOutput"]
