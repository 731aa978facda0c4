"""The multi-task Bi-LSTM tagger: morpheme (+ syllable) embeddings -> shared Bi-LSTM -> POS and NER heads.

The encoder, the task heads and the model live here; the output class, the embeddings and the input checks in
their own remote-code modules (`outputs_mtl_bilstm`, `embeddings_mtl_bilstm`, `inputs_mtl_bilstm`), whose public
names are re-exported.
"""

from collections.abc import Mapping

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer

from .configuration_mtl_bilstm import MTLBiLSTMConfig
from .crf import ConditionalRandomField, TransitionConstraints, allowed_transitions, viterbi_decode
from .embeddings_mtl_bilstm import MTLBiLSTMEmbeddings, MTLBiLSTMSyllableEncoder
from .inputs_mtl_bilstm import check_char_ids, check_features, checked_attention_mask
from .outputs_mtl_bilstm import MTLBiLSTMTokenClassifierOutput
from .tags_mtl_bilstm import IGNORE_INDEX, OUTSIDE_TAG


# The least share of real (unpadded) positions at which the LSTMs run unpacked on CPU, in inference and in training
# (forward and backward gain more, at examples/train.py's batch sizes): below it, packing saves more than oneDNN's
# padded kernel gains (`benchmarks/lstm_paths.py`).
UNPACKED_MIN_FILL = 0.5
UNPACKED_MIN_FILL_TRAINING = 0.25


class MTLBiLSTMEncoder(GradientCheckpointingLayer):
    """
    A Bi-LSTM whose output at a sentence's positions does not depend on the other sentences of its batch.

    Padding must never reach a real position's recurrence. Runs on GPU pack the sequences. On CPU each direction
    runs as one call of torch's fused LSTM kernel over the padded batch: the forward direction left to right
    (padding follows every real position, so it cannot reach them) and the backward direction over each sequence
    reversed within its length by index gathers (so real positions come first there too). oneDNN runs that kernel
    on padded input only, and faster than the packed one, for training and inference alike, unless padding fills
    most of the batch, where packing wins again (`UNPACKED_MIN_FILL`, `benchmarks/lstm_paths.py`), or the batch has
    no padding at all, where torch's packed call runs the fused kernel itself. Under `torch.compile` and
    `torch.export` (the traceable path) the same recurrence runs step by step over the padded and reversed batch.
    Every path gives the same outputs, zero at padding.

    With activation (gradient) checkpointing enabled (`model.activation_checkpointing_enable()`, or `Trainer`'s
    `gradient_checkpointing=True`), each encoder is one checkpointed unit: its activations are recomputed in the
    backward pass instead of kept.
    """

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
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.output_size = 2 * hidden_size
        # Dynamo refuses to trace anything that touches an nn.LSTM module. Its parameter dict, which assignments
        # (e.g. from_pretrained's) update in place, reaches the same Parameters without touching the module.
        self._lstm_parameters = _ParameterDictRef(self.lstm._parameters)

    def forward(
        self,
        inputs: torch.FloatTensor,
        mask: torch.BoolTensor,
        output_layers: bool = False,
        traceable: bool | None = None,
    ) -> tuple[torch.FloatTensor, tuple[torch.FloatTensor, ...]]:
        """
        Args:
            inputs (`torch.FloatTensor` of shape `(batch_size, sequence_length, input_size)`).
            mask (`torch.BoolTensor` of shape `(batch_size, sequence_length)`): left-aligned mask of real positions.
            output_layers (`bool`): also return each layer's output.
            traceable (`bool`, *optional*): run the padded path; by default it runs exactly when traced by
                `torch.compile` / `torch.export`.

        Returns:
            The output `(batch_size, sequence_length, 2 * hidden_size)` (after dropout, zero at padding) and a
            tuple of each layer's output when `output_layers` (its last entry is the output), else `()`.
        """
        if traceable is None:
            traceable = torch.compiler.is_compiling()
        if traceable:
            layers = self._padded_layers(inputs, mask)
        elif self._runs_unpacked(mask):
            layers = self._unpacked_layers(inputs, mask)
        elif output_layers and self.num_layers > 1:
            layers = self._packed_layers(inputs, mask)
        else:
            # One call over the whole stack: the fused path, and the one dynamic int8 quantisation replaces.
            packed = pack_padded_sequence(inputs, mask.sum(dim=1).cpu(), batch_first=True, enforce_sorted=False)
            outputs, _ = self.lstm(packed)
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=inputs.size(1))
            layers = (self.output_dropout(outputs),)
        return layers[-1], layers if output_layers else ()

    def _runs_unpacked(self, mask: torch.BoolTensor) -> bool:
        """Whether an eager run takes the unpacked path: on CPU with float weights (int8 quantisation replaces the
        whole-stack packed call), with real positions filling at least `UNPACKED_MIN_FILL` of the batch
        (`UNPACKED_MIN_FILL_TRAINING` in training), since padding costs the unpacked path what packing saves, and
        not all of it: torch runs a packed batch of one length through the fused kernel already, both directions in
        one call."""
        if mask.device.type != "cpu" or type(self.lstm) is not nn.LSTM or mask.numel() == 0:
            return False
        min_fill = UNPACKED_MIN_FILL_TRAINING if self.training else UNPACKED_MIN_FILL
        return min_fill * mask.numel() <= mask.sum().item() < mask.numel()

    def _unpacked_layers(self, inputs, mask) -> tuple[torch.FloatTensor, ...]:
        """The unpacked path: each direction of each layer as one fused `torch.lstm` call over the padded batch."""
        return self._layers_over_padding(inputs, mask, self._fused_layer)

    def _fused_layer(self, inputs, reverse_index, layer) -> torch.FloatTensor:
        zeros = inputs.new_zeros(1, inputs.size(0), self.hidden_size)
        directions = []
        for suffix, sequence in (("", inputs), ("_reverse", _gather_time(inputs, reverse_index))):
            weights = self._layer_parameters(layer, suffix)
            # (input, (h0, c0), weights, has_biases, num_layers, dropout, train, bidirectional, batch_first)
            outputs, _, _ = torch.lstm(sequence, (zeros, zeros), weights, True, 1, 0.0, self.training, False, True)
            directions.append(outputs)
        return torch.cat([directions[0], _gather_time(directions[1], reverse_index)], dim=2)

    def _layer_parameters(self, layer: int, suffix: str = "") -> list[torch.Tensor]:
        if torch.compiler.is_dynamo_compiling():
            parameters = self._lstm_parameters.parameters
        elif isinstance(self.lstm, nn.LSTM):
            parameters = self.lstm._parameters
        else:
            raise ValueError(
                "MTLBiLSTMEncoder: expected a float nn.LSTM for per-layer or traceable runs, received "
                f"{type(self.lstm).__module__}.{type(self.lstm).__qualname__} (e.g. after int8 quantisation, "
                "which only the packed whole-stack path supports)."
            )
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return [parameters[f"{name}_l{layer}{suffix}"] for name in names]

    def _packed_layers(self, inputs, mask) -> tuple[torch.FloatTensor, ...]:
        """Packed, one layer at a time (nn.LSTM's own op), so that each layer's output is returned and used."""
        lengths = mask.sum(dim=1).cpu()
        zeros = inputs.new_zeros(2, inputs.size(0), self.hidden_size)
        layers = []
        for layer in range(self.num_layers):
            packed = pack_padded_sequence(
                layers[-1] if layers else inputs, lengths, batch_first=True, enforce_sorted=False
            )
            weights = self._layer_parameters(layer) + self._layer_parameters(layer, "_reverse")
            data, _, _ = torch.lstm(
                packed.data, packed.batch_sizes, (zeros, zeros), weights, True, 1, 0.0, self.training, True
            )
            packed = PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
            outputs, _ = pad_packed_sequence(packed, batch_first=True, total_length=inputs.size(1))
            # The dropout nn.LSTM applies between layers, and the encoder after the last.
            layers.append(self.output_dropout(outputs))
        return tuple(layers)

    def _padded_layers(self, inputs, mask) -> tuple[torch.FloatTensor, ...]:
        """The traceable path: no packing, no Python branch on tensor values."""
        return self._layers_over_padding(inputs, mask, self._padded_layer)

    def _layers_over_padding(self, inputs, mask, run_layer) -> tuple[torch.FloatTensor, ...]:
        """Each layer's output over the padded batch, `run_layer(inputs, reverse_index, layer)` running both
        directions of one layer, the backward one over each sequence reversed within its length."""
        reverse_index = _reverse_within_length(mask)
        layers = []
        for layer in range(self.num_layers):
            outputs = run_layer(layers[-1] if layers else inputs, reverse_index, layer)
            # The dropout nn.LSTM applies between layers, and the encoder after the last.
            layers.append(self.output_dropout(outputs.masked_fill(~mask.unsqueeze(2), 0.0)))
        return tuple(layers)

    def _padded_layer(self, inputs, reverse_index, layer) -> torch.FloatTensor:
        """Both directions of one layer as one batched recurrence over (direction, batch)."""
        forward, backward = self._layer_parameters(layer), self._layer_parameters(layer, "_reverse")
        weight_ih = torch.stack([forward[0], backward[0]])  # (2, 4 * hidden, input)
        weight_hh = torch.stack([forward[1], backward[1]]).transpose(1, 2)  # (2, hidden, 4 * hidden)
        bias = torch.stack([forward[2] + forward[3], backward[2] + backward[3]])  # (2, 4 * hidden)
        directions = torch.stack([inputs, _gather_time(inputs, reverse_index)])  # (2, batch, time, input)
        input_gates = directions @ weight_ih.transpose(1, 2).unsqueeze(1) + bias[:, None, None]
        hidden = inputs.new_zeros(2, inputs.size(0), self.hidden_size)
        cell = hidden
        states = []
        for position in range(inputs.size(1)):
            gates = input_gates[:, :, position] + torch.bmm(hidden, weight_hh)
            input_gate, forget_gate, cell_gate, output_gate = gates.chunk(4, dim=2)  # nn.LSTM's order
            cell = torch.sigmoid(forget_gate) * cell + torch.sigmoid(input_gate) * torch.tanh(cell_gate)
            hidden = torch.sigmoid(output_gate) * torch.tanh(cell)
            states.append(hidden)
        states = torch.stack(states, dim=2)  # (2, batch, time, hidden)
        return torch.cat([states[0], _gather_time(states[1], reverse_index)], dim=2)


class _ParameterDictRef:
    """A module's parameter dict, held where traced code can read it: torch.export replaces plain dict
    attributes of modules by copies (holding fake tensors), an object it does not look into survives."""

    def __init__(self, parameters: dict[str, nn.Parameter]):
        self.parameters = parameters


def _reverse_within_length(mask: torch.BoolTensor) -> torch.LongTensor:
    """(batch, time) index that reverses each left-aligned sequence within its length: position t of a sequence of
    length n holds position n - 1 - t; padding stays in place. Reversing twice restores the order."""
    lengths = mask.sum(dim=1, keepdim=True)
    positions = torch.arange(mask.size(1), device=mask.device)
    return torch.where(positions < lengths, lengths - 1 - positions, positions)


def _gather_time(values: torch.Tensor, index: torch.LongTensor) -> torch.Tensor:
    """values[b, index[b, t]] for each batch row b and position t."""
    return values.gather(1, index.unsqueeze(2).expand(-1, -1, values.size(2)))


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

    def forward(self, shared_states: torch.FloatTensor, mask: torch.BoolTensor) -> torch.FloatTensor:
        states = self.encoder(shared_states, mask)[0] if self.encoder is not None else shared_states
        return self.classifier(states)

    def loss(
        self,
        logits: torch.FloatTensor,
        labels: torch.LongTensor,
        mask: torch.BoolTensor,
        allowed_tags: torch.BoolTensor | None = None,
    ) -> torch.FloatTensor:
        """Per-token loss of the gold tags; with `allowed_tags` (batch, seq, tags), of any allowed tag at each
        position (partial annotation: minus the log of the allowed tags' summed probability, or of the allowed
        paths' under a CRF), averaged over the positions that allow fewer than every tag: a position that allows
        every tag (a sentence whose entity labels are withheld) carries no evidence and does not dilute the mean."""
        informative = None
        if allowed_tags is not None:
            informative = (labels != IGNORE_INDEX) & mask & ~allowed_tags.all(dim=-1)
        if self.crf is None:
            if allowed_tags is None:
                return nn.functional.cross_entropy(
                    logits.reshape(-1, logits.size(-1)).float(), labels.reshape(-1), ignore_index=IGNORE_INDEX
                )
            log_probabilities = logits.float().log_softmax(dim=-1)
            allowed_log_probability = log_probabilities.masked_fill(~allowed_tags, float("-inf")).logsumexp(dim=-1)
            return -allowed_log_probability[informative].sum() / informative.sum().clamp(min=1)
        unlabeled = mask & (labels == IGNORE_INDEX)
        if not torch.compiler.is_compiling() and unlabeled.any():
            raise ValueError(
                "A CRF head needs a label at every non-padding position: received -100 at "
                f"{int(unlabeled.sum())} position(s) where attention_mask is 1."
            )
        # Per-token scale, like cross-entropy, so that loss weights mean the same with or without CRF.
        if allowed_tags is None:
            return self.crf(logits, labels, mask, reduction="token_mean")
        nll = self.crf(logits, labels, mask, reduction="none", allowed_tags=allowed_tags)
        return nll.sum() / informative.sum().clamp(min=1)

    def decode(
        self, logits: torch.FloatTensor, mask: torch.BoolTensor, constraints: TransitionConstraints | None = None
    ) -> torch.LongTensor:
        if self.crf is not None:
            return self.crf.decode(logits, mask, pad_tag_id=IGNORE_INDEX, constraints=constraints)
        if constraints is not None:
            # The most probable allowed sequence under the per-position softmax distributions.
            log_probabilities = logits.float().log_softmax(dim=-1)
            return viterbi_decode(log_probabilities, mask, constraints=constraints, pad_tag_id=IGNORE_INDEX)
        return logits.argmax(dim=-1).masked_fill(~mask, IGNORE_INDEX)


class MTLBiLSTMPreTrainedModel(PreTrainedModel):
    config_class = MTLBiLSTMConfig
    base_model_prefix = "mtl_bilstm"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    # No graph break: the LSTMs have a traceable path, and the input checks are skipped when traced.
    _can_compile_fullgraph = True

    @torch.no_grad()
    def _init_weights(self, module):
        # Whole-tensor `init.*` calls only: they skip tensors already loaded from a checkpoint, which an
        # in-place write to a slice would not.
        if isinstance(module, nn.Embedding):
            weight = torch.empty_like(module.weight).uniform_(
                -self.config.initializer_range, self.config.initializer_range
            )
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
        eojeol_ids: torch.LongTensor | None = None,
        gazetteer_flags: torch.Tensor | None = None,
        ner_unannotated_tags: torch.Tensor | None = None,
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
            output_hidden_states (`bool`, *optional*): return `hidden_states` (see
                [`MTLBiLSTMTokenClassifierOutput`]); defaults to `config.output_hidden_states`.
            return_dict (`bool`, *optional*): defaults to `config.return_dict`.
            eojeol_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`): eojeol position of each
                morpheme (0 unknown or padding, 1 eojeol-initial, 2 eojeol-internal), required when
                `config.use_eojeol_features`.
            gazetteer_flags (`torch.Tensor` of shape `(batch_size, sequence_length, 2 * len(config.gazetteer_types))`):
                0/1 gazetteer flags of each morpheme (B and I of each type, in the order of `config.gazetteer_types`),
                required when `config.gazetteer_types` is set.
            ner_unannotated_tags (`torch.Tensor` of shape `(batch_size, num_ner_tags)`, *optional*): 0/1 per sentence,
                1 for the NER tags of entity types that the sentence's corpus does not annotate (training on corpora
                with different entity types): an `O` in `ner_labels` may then hide any of them, and the NER loss
                counts every tagging that agrees with the annotated types (see [`MTLBiLSTMTaskHead.loss`]) instead
                of teaching `O` for them.

        Eager calls run the LSTMs packed or, on CPU, unpacked (see [`MTLBiLSTMEncoder`]); under `torch.compile`
        (`fullgraph=True` works) and `torch.export` they run a traceable path with the same results, and the
        data-dependent input checks are skipped.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        attention_mask = checked_attention_mask(self.config, input_ids, attention_mask)
        check_char_ids(self.config, input_ids, char_ids)
        check_features(self.config, input_ids, eojeol_ids, gazetteer_flags)

        embedded = self.embeddings(input_ids, char_ids, eojeol_ids, gazetteer_flags)
        shared_states, shared_layers = self.shared_encoder(embedded, attention_mask, bool(output_hidden_states))

        labels = {"pos": pos_labels, "ner": ner_labels}
        logits, losses = {}, {}
        for task, head in self.heads.items():  # POS first: the NER head may read its tag distribution
            inputs = shared_states
            if task == "ner" and self.config.pos_features_for_ner:
                inputs = torch.cat([shared_states, logits["pos"].softmax(dim=-1)], dim=-1)
            logits[task] = head(inputs, attention_mask)
            if labels[task] is not None:
                allowed = self._allowed_ner_tags(ner_labels, ner_unannotated_tags) if task == "ner" else None
                losses[task] = head.loss(logits[task], labels[task], attention_mask, allowed)
        loss = (
            sum(self.config.loss_weights[task] * task_loss for task, task_loss in losses.items()) if losses else None
        )

        output = MTLBiLSTMTokenClassifierOutput(
            loss=loss,
            ner_loss=losses.get("ner"),
            pos_loss=losses.get("pos"),
            ner_logits=logits.get("ner"),
            pos_logits=logits.get("pos"),
            hidden_states=(embedded, *shared_layers) if output_hidden_states else None,
        )
        return output if return_dict else output.to_tuple()

    def _allowed_ner_tags(
        self, ner_labels: torch.LongTensor, ner_unannotated_tags: torch.Tensor | None
    ) -> torch.BoolTensor | None:
        """(batch, seq, tags): the gold tag at each position and, where the gold is `O`, the sentence's unannotated
        tags; None where no sentence of the batch has any (the plain loss, to the last bit)."""
        if ner_unannotated_tags is None or not ner_unannotated_tags.any():
            return None
        num_tags = self.config.num_tags("ner")
        if tuple(ner_unannotated_tags.shape) != (ner_labels.size(0), num_tags):
            raise ValueError(
                f"ner_unannotated_tags: expected shape {(ner_labels.size(0), num_tags)} (batch, NER tags), received "
                f"{tuple(ner_unannotated_tags.shape)}"
            )
        gold = nn.functional.one_hot(ner_labels.clamp(min=0), num_tags).bool()
        outside = ner_labels == self.config.ner_label2id[OUTSIDE_TAG]
        return gold | (outside.unsqueeze(2) & ner_unannotated_tags.bool().unsqueeze(1))

    def model_inputs(self, encoded: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The tensors of `encoded` (a tokenizer's padded output) that `forward` takes, on the model's device: a
        tokenizer always gives `char_ids`, which a model without a syllable CNN (`config.char_vocab_size == 0`)
        must not receive."""
        return {
            name: tensor.to(self.device)
            for name, tensor in encoded.items()
            if name != "char_ids" or self.config.char_vocab_size
        }

    @torch.no_grad()
    def decode(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        char_ids: torch.LongTensor | None = None,
        eojeol_ids: torch.LongTensor | None = None,
        gazetteer_flags: torch.Tensor | None = None,
    ) -> dict[str, torch.LongTensor]:
        """Best tag ids per task, `{"pos": (batch, seq_len), "ner": (batch, seq_len)}`: Viterbi where the
        task uses a CRF, argmax otherwise; padding positions hold -100. With `config.constrain_ner_decoding`
        (the default) NER tags are the best valid IOB2 sequence (Viterbi for a softmax head too)."""
        attention_mask = checked_attention_mask(self.config, input_ids, attention_mask)
        output = self.forward(
            input_ids,
            attention_mask=attention_mask,
            char_ids=char_ids,
            eojeol_ids=eojeol_ids,
            gazetteer_flags=gazetteer_flags,
            return_dict=True,
        )
        return {task: self.decode_logits(task, output[f"{task}_logits"], attention_mask) for task in self.heads}

    def decode_logits(self, task: str, logits: torch.FloatTensor, mask: torch.Tensor) -> torch.LongTensor:
        """Tag ids from one task's logits (as returned by `forward`) and a mask of real positions."""
        if task not in self.heads:
            raise ValueError(f"This model has no {task!r} head: expected one of {tuple(self.heads)}.")
        return self.heads[task].decode(logits, mask.bool(), self.decoding_constraints(task))

    def decoding_constraints(self, task: str) -> TransitionConstraints | None:
        """The moves `decode` allows for `task`: valid IOB2 for NER with `config.constrain_ner_decoding`, else None."""
        if task == "ner" and self.config.constrain_ner_decoding:
            return allowed_transitions(self.config.ner_id2label)
        return None


__all__ = [
    "IGNORE_INDEX",
    "OUTSIDE_TAG",
    "MTLBiLSTMEmbeddings",
    "MTLBiLSTMEncoder",
    "MTLBiLSTMForTokenClassification",
    "MTLBiLSTMPreTrainedModel",
    "MTLBiLSTMSyllableEncoder",
    "MTLBiLSTMTaskHead",
    "MTLBiLSTMTokenClassifierOutput",
]
