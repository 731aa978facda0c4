"""The multi-task Bi-LSTM tagger: morpheme (+ syllable) embeddings -> shared Bi-LSTM -> POS and NER heads."""

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_mtl_bilstm import MTLBiLSTMConfig
from .crf import ConditionalRandomField

IGNORE_INDEX = -100


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
        hidden_states (`torch.FloatTensor` of shape `(batch_size, sequence_length, 2 * shared_hidden_size)`,
            *optional*, returned with `output_hidden_states=True`): output of the shared Bi-LSTM.
    """

    loss: torch.FloatTensor | None = None
    ner_loss: torch.FloatTensor | None = None
    pos_loss: torch.FloatTensor | None = None
    ner_logits: torch.FloatTensor | None = None
    pos_logits: torch.FloatTensor | None = None
    hidden_states: torch.FloatTensor | None = None


class MTLBiLSTMSyllableEncoder(nn.Module):
    """A CNN over the syllables of each morpheme, max-pooled into one vector per morpheme."""

    def __init__(self, config: MTLBiLSTMConfig):
        super().__init__()
        self.pad_id = config.pad_token_id
        self.embeddings = nn.Embedding(config.char_vocab_size, config.char_embedding_dim, padding_idx=config.pad_token_id)
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
    """Morpheme embeddings, concatenated with syllable-CNN features when `char_vocab_size > 0`."""

    def __init__(self, config: MTLBiLSTMConfig):
        super().__init__()
        self.morpheme_embeddings = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id)
        self.syllable_encoder = MTLBiLSTMSyllableEncoder(config) if config.char_vocab_size else None
        self.dropout = nn.Dropout(config.dropout)
        self.output_size = config.embedding_dim + (config.char_cnn_filters if config.char_vocab_size else 0)

    def forward(self, input_ids: torch.LongTensor, char_ids: torch.LongTensor | None) -> torch.FloatTensor:
        embedded = self.morpheme_embeddings(input_ids)
        if self.syllable_encoder is not None:
            embedded = torch.cat([embedded, self.syllable_encoder(char_ids)], dim=-1)
        return self.dropout(embedded)


class MTLBiLSTMEncoder(nn.Module):
    """A Bi-LSTM over packed sequences: padding never reaches the recurrence, so a sentence's output
    does not depend on the other sentences of its batch."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dropout: float):
        super().__init__()
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=True,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.output_dropout = nn.Dropout(dropout)
        self.output_size = 2 * hidden_size

    def forward(self, inputs: torch.FloatTensor, lengths: torch.LongTensor) -> torch.FloatTensor:
        packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, _ = self.lstm(packed)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=inputs.size(1))
        return self.output_dropout(outputs)


class MTLBiLSTMTaskHead(nn.Module):
    """One task's Bi-LSTM, its linear tag scorer, and (optionally) a CRF over the tag scores."""

    def __init__(self, config: MTLBiLSTMConfig, task: str, input_size: int):
        super().__init__()
        hidden_size = config.pos_hidden_size if task == "pos" else config.ner_hidden_size
        self.encoder = (
            MTLBiLSTMEncoder(input_size, hidden_size, config.task_num_layers, config.dropout)
            if config.task_num_layers
            else None
        )
        num_tags = config.num_tags(task)
        self.classifier = nn.Linear(self.encoder.output_size if self.encoder else input_size, num_tags)
        self.crf = ConditionalRandomField(num_tags) if config.use_crf[task] else None

    def forward(self, shared_states: torch.FloatTensor, lengths: torch.LongTensor) -> torch.FloatTensor:
        states = self.encoder(shared_states, lengths) if self.encoder is not None else shared_states
        return self.classifier(states)

    def loss(self, logits: torch.FloatTensor, labels: torch.LongTensor, mask: torch.BoolTensor) -> torch.FloatTensor:
        if self.crf is None:
            return nn.functional.cross_entropy(
                logits.reshape(-1, logits.size(-1)).float(), labels.reshape(-1), ignore_index=IGNORE_INDEX
            )
        unlabeled = mask & (labels == IGNORE_INDEX)
        if unlabeled.any():
            raise ValueError(
                "A CRF head needs a label at every non-padding position: received -100 at "
                f"{int(unlabeled.sum())} position(s) where attention_mask is 1."
            )
        # Per-token scale, like cross-entropy, so that loss weights mean the same with or without CRF.
        return self.crf(logits, labels, mask, reduction="token_mean")

    def decode(self, logits: torch.FloatTensor, mask: torch.BoolTensor) -> torch.LongTensor:
        if self.crf is not None:
            return self.crf.decode(logits, mask, pad_tag_id=IGNORE_INDEX)
        return logits.argmax(dim=-1).masked_fill(~mask, IGNORE_INDEX)


class MTLBiLSTMPreTrainedModel(PreTrainedModel):
    config_class = MTLBiLSTMConfig
    base_model_prefix = "mtl_bilstm"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False

    @torch.no_grad()
    def _init_weights(self, module):
        # Whole-tensor `init.*` calls only: they skip tensors already loaded from a checkpoint, which an
        # in-place write to a slice would not.
        if isinstance(module, nn.Embedding):
            weight = torch.empty_like(module.weight).uniform_(-self.config.initializer_range, self.config.initializer_range)
            if module.padding_idx is not None:
                weight[module.padding_idx] = 0.0
            init.copy_(module.weight, weight)
        elif isinstance(module, (nn.Linear, nn.Conv1d)):
            init.xavier_uniform_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, nn.LSTM):
            for name, param in module.named_parameters():
                if name.startswith("weight_ih"):
                    init.xavier_uniform_(param)
                elif name.startswith("weight_hh"):
                    init.orthogonal_(param)
                else:
                    # Forget-gate bias 1 (split across the two bias vectors): the usual LSTM remedy
                    # for vanishing gradients early in training.
                    bias = torch.zeros_like(param)
                    hidden = param.size(0) // 4
                    bias[hidden : 2 * hidden] = 0.5
                    init.copy_(param, bias)
        elif isinstance(module, ConditionalRandomField):
            for param in (module.start_transitions, module.end_transitions, module.transitions):
                init.uniform_(param, -0.1, 0.1)


class MTLBiLSTMForTokenClassification(MTLBiLSTMPreTrainedModel):
    """
    The multi-task Bi-LSTM of the paper: embeddings -> shared Bi-LSTM -> (POS Bi-LSTM -> POS head) and
    (NER Bi-LSTM -> NER head). A single-task config (`tasks=("ner",)`) builds only its own head, so no
    parameter goes unused under DDP.
    """

    def __init__(self, config: MTLBiLSTMConfig):
        super().__init__(config)
        self.embeddings = MTLBiLSTMEmbeddings(config)
        self.shared_encoder = MTLBiLSTMEncoder(
            self.embeddings.output_size, config.shared_hidden_size, config.shared_num_layers, config.dropout
        )
        shared_size = self.shared_encoder.output_size
        pos_feature_size = config.num_tags("pos") if config.pos_features_for_ner else 0
        input_sizes = {"pos": shared_size, "ner": shared_size + pos_feature_size}
        self.heads = nn.ModuleDict({task: MTLBiLSTMTaskHead(config, task, input_sizes[task]) for task in config.tasks})
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.morpheme_embeddings

    def set_input_embeddings(self, value: nn.Embedding):
        self.embeddings.morpheme_embeddings = value

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        char_ids: torch.LongTensor | None = None,
        pos_labels: torch.LongTensor | None = None,
        ner_labels: torch.LongTensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> MTLBiLSTMTokenClassifierOutput | tuple:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`): morpheme ids.
            attention_mask (`torch.Tensor` of shape `(batch_size, sequence_length)`, *optional*): 1 for
                morphemes, 0 for padding; sequences must be left-aligned. Defaults to `input_ids != pad_token_id`.
            char_ids (`torch.LongTensor` of shape `(batch_size, sequence_length, max_syllables)`): syllable
                ids of each morpheme, required when `config.char_vocab_size > 0`.
            pos_labels / ner_labels (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*):
                gold tag ids; -100 marks positions to ignore (padding).
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        attention_mask = self._checked_mask(input_ids, attention_mask)
        self._check_char_ids(input_ids, char_ids)
        lengths = attention_mask.sum(dim=1)

        embedded = self.embeddings(input_ids, char_ids)
        shared_states = self.shared_encoder(embedded, lengths)

        labels = {"pos": pos_labels, "ner": ner_labels}
        logits, losses = {}, {}
        for task, head in self.heads.items():  # POS first: the NER head may read its tag distribution
            inputs = shared_states
            if task == "ner" and self.config.pos_features_for_ner:
                inputs = torch.cat([shared_states, logits["pos"].softmax(dim=-1)], dim=-1)
            logits[task] = head(inputs, lengths)
            if labels[task] is not None:
                losses[task] = head.loss(logits[task], labels[task], attention_mask)
        loss = sum(self.config.loss_weights[task] * task_loss for task, task_loss in losses.items()) if losses else None

        output = MTLBiLSTMTokenClassifierOutput(
            loss=loss,
            ner_loss=losses.get("ner"),
            pos_loss=losses.get("pos"),
            ner_logits=logits.get("ner"),
            pos_logits=logits.get("pos"),
            hidden_states=shared_states if output_hidden_states else None,
        )
        return output if return_dict else output.to_tuple()

    @torch.no_grad()
    def decode(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        char_ids: torch.LongTensor | None = None,
    ) -> dict[str, torch.LongTensor]:
        """Best tag ids per task, `{"pos": (batch, seq_len), "ner": (batch, seq_len)}`: Viterbi where the
        task uses a CRF, argmax otherwise; padding positions hold -100."""
        attention_mask = self._checked_mask(input_ids, attention_mask)
        output = self.forward(input_ids, attention_mask=attention_mask, char_ids=char_ids, return_dict=True)
        return {task: self.decode_logits(task, output[f"{task}_logits"], attention_mask) for task in self.heads}

    def decode_logits(self, task: str, logits: torch.FloatTensor, mask: torch.Tensor) -> torch.LongTensor:
        """Tag ids from one task's logits (as returned by `forward`) and a mask of real positions."""
        if task not in self.heads:
            raise ValueError(f"This model has no {task!r} head: expected one of {tuple(self.heads)}.")
        return self.heads[task].decode(logits, mask.bool())

    def _checked_mask(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor | None) -> torch.BoolTensor:
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids: expected shape (batch, seq_len), received {tuple(input_ids.shape)}.")
        if attention_mask is None:
            attention_mask = input_ids != self.config.pad_token_id
        elif attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"attention_mask: expected shape {tuple(input_ids.shape)} like input_ids, "
                f"received {tuple(attention_mask.shape)}."
            )
        attention_mask = attention_mask.bool()
        if not attention_mask[:, 0].all():
            raise ValueError("attention_mask: expected every sequence to start with a real token (left-aligned, non-empty).")
        return attention_mask

    def _check_char_ids(self, input_ids: torch.LongTensor, char_ids: torch.LongTensor | None):
        if self.config.char_vocab_size and char_ids is None:
            raise ValueError(
                f"char_ids: expected a tensor of shape {tuple(input_ids.shape)} + (max_syllables,) since "
                f"config.char_vocab_size={self.config.char_vocab_size}, received None."
            )
        if not self.config.char_vocab_size and char_ids is not None:
            raise ValueError("char_ids: expected None since config.char_vocab_size=0 (no syllable features).")
        if char_ids is not None and (char_ids.dim() != 3 or char_ids.shape[:2] != input_ids.shape):
            raise ValueError(
                f"char_ids: expected shape {tuple(input_ids.shape)} + (max_syllables,), received {tuple(char_ids.shape)}."
            )


__all__ = ["MTLBiLSTMForTokenClassification", "MTLBiLSTMPreTrainedModel", "MTLBiLSTMTokenClassifierOutput"]
