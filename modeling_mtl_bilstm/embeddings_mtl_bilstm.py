"""The input layer of the tagger: morpheme embeddings and the optional per-morpheme features (a remote-code module)."""

import torch
from torch import nn

from .configuration_mtl_bilstm import MTLBiLSTMConfig
from .features_mtl_bilstm import EOJEOL_UNKNOWN_ID, NUM_EOJEOL_IDS, gazetteer_flag_count


class MTLBiLSTMSyllableEncoder(nn.Module):
    """A CNN over the syllables of each morpheme, max-pooled into one vector per morpheme."""

    def __init__(self, config: MTLBiLSTMConfig):
        super().__init__()
        self.pad_id = config.pad_token_id
        self.embeddings = nn.Embedding(
            config.char_vocab_size, config.char_embedding_dim, padding_idx=config.pad_token_id
        )
        self.conv = nn.Conv1d(
            config.char_embedding_dim,
            config.char_cnn_filters,
            kernel_size=config.char_cnn_kernel_size,
            padding=config.char_cnn_kernel_size // 2,
        )

    def forward(self, char_ids: torch.LongTensor) -> torch.FloatTensor:
        """char_ids: (batch, seq_len, max_chars) -> (batch, seq_len, char_cnn_filters)."""
        batch_size, seq_len, max_chars = char_ids.shape
        flat_ids = char_ids.reshape(batch_size * seq_len, max_chars)
        embedded = self.embeddings(flat_ids).transpose(1, 2)  # (B*T, dim, chars)
        features = self.conv(embedded)[:, :, :max_chars].transpose(1, 2)  # (B*T, chars, filters)
        # Max over the real syllables only, so a morpheme's vector ignores how wide the batch is padded.
        is_pad = (flat_ids == self.pad_id).unsqueeze(-1)
        pooled = features.masked_fill(is_pad, float("-inf")).max(dim=1).values
        pooled = pooled.masked_fill(is_pad.all(dim=1), 0.0)
        return pooled.reshape(batch_size, seq_len, -1)


class MTLBiLSTMEmbeddings(nn.Module):
    """Morpheme embeddings, concatenated with the optional features: frozen morpheme vectors when
    `frozen_embedding_dim > 0`, syllable-CNN features when `char_vocab_size > 0`, eojeol-position embeddings when
    `use_eojeol_features`, gazetteer flags when `gazetteer_types` is set. One dropout covers them all."""

    def __init__(self, config: MTLBiLSTMConfig):
        super().__init__()
        self.morpheme_embeddings = nn.Embedding(
            config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id
        )
        # A buffer rather than a parameter: saved and loaded with the weights, but never trained nor handed to an
        # optimizer (loading a checkpoint would make a parameter trainable again).
        self.register_buffer(
            "frozen_morpheme_vectors",
            torch.zeros(config.vocab_size, config.frozen_embedding_dim) if config.frozen_embedding_dim else None,
        )
        self.syllable_encoder = MTLBiLSTMSyllableEncoder(config) if config.char_vocab_size else None
        # Unknown position (no eojeol index) and padding share the zero vector.
        self.eojeol_embeddings = (
            nn.Embedding(NUM_EOJEOL_IDS, config.eojeol_embedding_dim, padding_idx=EOJEOL_UNKNOWN_ID)
            if config.use_eojeol_features
            else None
        )
        self.dropout = nn.Dropout(config.dropout)
        self.output_size = (
            config.embedding_dim
            + config.frozen_embedding_dim
            + (config.char_cnn_filters if config.char_vocab_size else 0)
            + (config.eojeol_embedding_dim if config.use_eojeol_features else 0)
            + gazetteer_flag_count(config.gazetteer_types)
        )

    def forward(
        self,
        input_ids: torch.LongTensor,
        char_ids: torch.LongTensor | None,
        eojeol_ids: torch.LongTensor | None = None,
        gazetteer_flags: torch.Tensor | None = None,
    ) -> torch.FloatTensor:
        embedded = self.morpheme_embeddings(input_ids)
        parts = [embedded]
        if self.frozen_morpheme_vectors is not None:
            parts.append(nn.functional.embedding(input_ids, self.frozen_morpheme_vectors))
        if self.syllable_encoder is not None:
            parts.append(self.syllable_encoder(char_ids))
        if self.eojeol_embeddings is not None:
            parts.append(self.eojeol_embeddings(eojeol_ids))
        if gazetteer_flags is not None:
            parts.append(gazetteer_flags.to(embedded.dtype))
        return self.dropout(torch.cat(parts, dim=-1) if len(parts) > 1 else embedded)


__all__ = ["MTLBiLSTMEmbeddings", "MTLBiLSTMSyllableEncoder"]
