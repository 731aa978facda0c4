"""Configuration of the multi-task (POS + NER) Bi-LSTM tagger.

Declared as transformers declares its configs (`BertConfig`): typed fields under huggingface_hub's `@strict`, which
checks each field's type on construction and assignment (an int for `vocab_size`, not a bool nor a str; a dict with
str keys for `loss_weights`...), with an error naming the field, the expected type and the received value. What
types cannot say is checked here: ranges, task names, tag ids, and agreement between fields.
"""

import dataclasses
import math

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig


TASKS = ("pos", "ner")


@strict
class MTLBiLSTMConfig(PreTrainedConfig):
    r"""
    Configuration of [`MTLBiLSTMForTokenClassification`]: morpheme embeddings (plus an optional CNN over
    the syllables of each morpheme) feed a shared Bi-LSTM, whose output feeds one Bi-LSTM and one
    classification head per task (POS tagging and NER). Training minimises the weighted sum of the
    present tasks' losses.

    Args:
        vocab_size (`int`, defaults to 20000): number of morpheme ids (padding and unknown included).
        embedding_dim (`int`, defaults to 100): size of the morpheme embeddings.
        frozen_embedding_dim (`int`, defaults to 0): size of a second morpheme embedding table, concatenated to
            the first and never trained (a buffer, `frozen_morpheme_vectors`): it keeps pretrained vectors as they
            were given while the first table is fine-tuned. 0 builds no such table.
        char_vocab_size (`int`, defaults to 0): number of syllable (or jamo) ids; 0 disables the
            syllable features, and the model then takes no `char_ids`.
        char_embedding_dim (`int`, defaults to 30): size of the syllable embeddings.
        char_cnn_filters (`int`, defaults to 50): output channels of the syllable CNN (max-pooled).
        char_cnn_kernel_size (`int`, defaults to 3): width of the syllable CNN's window.
        shared_hidden_size (`int`, defaults to 200): hidden size per direction of the shared Bi-LSTM; also
            readable and settable as `hidden_size`, the name generic tooling uses.
        shared_num_layers (`int`, defaults to 1): layers of the shared Bi-LSTM; also `num_hidden_layers`.
        pos_hidden_size (`int`, defaults to 100): hidden size per direction of the POS task's Bi-LSTM.
        ner_hidden_size (`int`, defaults to 100): hidden size per direction of the NER task's Bi-LSTM.
        task_num_layers (`int`, defaults to 1): layers of each task's Bi-LSTM (0: heads read the shared
            Bi-LSTM directly).
        dropout (`float`, defaults to 0.5): dropout on embeddings and between recurrent layers.
        tasks (`tuple[str, ...]`, defaults to `("pos", "ner")`): the trained tasks; `("pos", "ner")` is the
            multi-task model, `("ner",)` and `("pos",)` the single-task baselines. Absent tasks build no
            parameters.
        use_crf (`bool` or `dict[str, bool]`, defaults to `{"pos": False, "ner": True}`): whether a task's
            head is a linear-chain CRF; a single bool applies to every task.
        loss_weights (`dict[str, float]`, defaults to 1.0 per task): weight of each task's loss in the
            joint loss.
        pos_features_for_ner (`bool`, defaults to `False`): also feed the POS head's tag distribution to
            the NER Bi-LSTM (a hierarchical variant of the paper's parallel heads); needs both tasks.
        pos_id2label / ner_id2label (`dict[int, str]`): tag names of each present task; the inverse maps
            `pos_label2id` / `ner_label2id` are derived. The standard `id2label` / `label2id` / `num_labels`
            describe the NER head: they are set from `ner_id2label`, and assigning `id2label` (or `num_labels`)
            once the config exists relabels the NER head. Passing `ner_id2label` to `from_pretrained` (with
            `ignore_mismatched_sizes=True`) fine-tunes a saved model on another tag set; a `num_labels` that
            disagrees with `ner_id2label` is an error.
        constrain_ner_decoding (`bool`, defaults to `True`): NER decoding returns valid IOB2 only: Viterbi with
            `I-X` forbidden at a sentence's start and after anything but `B-X` / `I-X` (hard constraints on the
            CRF's transitions, or on the log-softmax scores of a softmax head). Training is unchanged.
        use_eojeol_features (`bool`, defaults to `False`): also embed, per morpheme, whether it starts an eojeol
            (a space-separated word), continues one, or that is unknown; the model then takes `eojeol_ids`
            (see `MTLBiLSTMTokenizer`, which derives them from each morpheme's eojeol index).
        eojeol_embedding_dim (`int`, defaults to 8): size of those embeddings.
        gazetteer_types (`list[str]`, *optional*): entity types of a gazetteer feature: the model then takes
            `gazetteer_flags`, two 0/1 flags per type and morpheme (a gazetteer entry of that type starts here,
            continues here), in this order of types; `None` (the default) means no gazetteer feature. The
            entries travel with the tokenizer (`gazetteer.json`).
        pad_token_id (`int`, defaults to 0): id of the padding morpheme and padding syllable.
        initializer_range (`float`, defaults to 0.1): half-width of the uniform init of embeddings.

    Example:

    ```python
    >>> from modeling_mtl_bilstm import MTLBiLSTMConfig, MTLBiLSTMForTokenClassification
    >>> config = MTLBiLSTMConfig(pos_id2label={0: "NNG", 1: "JKS"}, ner_id2label={0: "O", 1: "B-PS", 2: "I-PS"})
    >>> model = MTLBiLSTMForTokenClassification(config)
    ```"""

    model_type = "mtl_bilstm"
    # Trainer's evaluation keeps only the logits: per-task losses are scalars, not per-token outputs.
    keys_to_ignore_at_inference = ["ner_loss", "pos_loss", "hidden_states"]
    # The standard names generic tooling reads (as other non-attention models map theirs).
    attribute_map = {"hidden_size": "shared_hidden_size", "num_hidden_layers": "shared_num_layers"}

    vocab_size: int = 20000
    embedding_dim: int = 100
    frozen_embedding_dim: int = 0
    char_vocab_size: int = 0
    char_embedding_dim: int = 30
    char_cnn_filters: int = 50
    char_cnn_kernel_size: int = 3
    shared_hidden_size: int = 200
    shared_num_layers: int = 1
    pos_hidden_size: int = 100
    ner_hidden_size: int = 100
    task_num_layers: int = 1
    dropout: float | int = 0.5
    tasks: tuple[str, ...] | list[str] = TASKS
    use_crf: bool | dict[str, bool] | None = None
    loss_weights: dict[str, float | int] | None = None
    pos_features_for_ner: bool = False
    # str keys: a JSON round trip's, turned back into ints in __post_init__ (as PreTrainedConfig does for id2label).
    pos_id2label: dict[int, str] | dict[str, str] | None = None
    ner_id2label: dict[int, str] | dict[str, str] | None = None
    pad_token_id: int = 0
    initializer_range: float | int = 0.1
    constrain_ner_decoding: bool = True
    use_eojeol_features: bool = False
    eojeol_embedding_dim: int = 8
    gazetteer_types: tuple[str, ...] | list[str] | None = None

    def __post_init__(self, **kwargs):
        # Derived maps are rebuilt below; drop stale copies that come back from a saved config.json.
        kwargs.pop("pos_label2id", None)
        kwargs.pop("ner_label2id", None)
        # Aliases given as arguments are applied now, so that they are validated with the rest.
        for alias, name in self.attribute_map.items():
            if alias in kwargs:
                setattr(self, name, kwargs.pop(alias))
        self.tasks = self._validated_tasks(self.tasks)
        self.use_crf = self._per_task_flags(self.use_crf)
        self.loss_weights = self._validated_loss_weights(self.loss_weights)
        self.pos_id2label = _int_keyed("pos_id2label", self.pos_id2label)
        self.ner_id2label = _int_keyed("ner_id2label", self.ner_id2label)
        self.gazetteer_types = self._validated_gazetteer_types(self.gazetteer_types)
        self._validate_sizes()
        if self.pos_features_for_ner and self.tasks != TASKS:
            raise ValueError(
                f"MTLBiLSTMConfig.pos_features_for_ner: expected tasks {TASKS} (it feeds POS into NER), "
                f"received tasks={self.tasks!r}."
            )
        if self.ner_id2label is not None:
            self._check_standard_label_fields(kwargs)
            # The standard token-classification fields describe the NER head, so that pipelines and
            # tools that read `config.id2label` see the entity tags.
            self.id2label = dict(self.ner_id2label)
            self.label2id = {label: i for i, label in self.ner_id2label.items()}
        super().__post_init__(**kwargs)

    def _check_standard_label_fields(self, kwargs):
        """`id2label` and `num_labels` given with `ner_id2label` must describe the same tags."""
        if self.id2label is not None and _int_keyed("id2label", self.id2label) != self.ner_id2label:
            raise ValueError(
                f"MTLBiLSTMConfig.id2label: expected the NER tags of ner_id2label {self.ner_id2label!r} (or no "
                f"id2label), received {self.id2label!r}."
            )
        num_labels = kwargs.pop("num_labels", None)
        if num_labels is not None and num_labels != len(self.ner_id2label):
            raise ValueError(
                f"MTLBiLSTMConfig.num_labels: expected {len(self.ner_id2label)} (the tags of ner_id2label), "
                f"received {num_labels}. To fine-tune on another tag set, pass the tag names instead: "
                "`from_pretrained(folder, ner_id2label={0: 'O', 1: 'B-PS', ...}, ignore_mismatched_sizes=True)`."
            )

    def __setattr__(self, key, value):
        if self.__dict__.get("_post_init_done", False):
            key = self.attribute_map.get(key, key)
            # Assignments after construction keep the label maps validated and consistent.
            if key in ("pos_id2label", "ner_id2label"):
                value = _int_keyed(key, value)
            elif key == "id2label" and value is not None and self.ner_id2label is not None:
                key, value = "ner_id2label", _int_keyed("id2label", value)
            if key == "ner_id2label" and value is not None:
                super().__setattr__("id2label", dict(value))
                super().__setattr__("label2id", {label: i for i, label in value.items()})
        super().__setattr__(key, value)

    @classmethod
    def from_dict(cls, config_dict: dict, **kwargs) -> "MTLBiLSTMConfig":
        # PreTrainedConfig.from_dict builds the config from the saved values, then assigns the caller's overrides
        # one by one, which would skip __post_init__ (label maps, validation). Build with the overrides instead.
        config_dict = dict(config_dict)
        own = {field.name for field in dataclasses.fields(cls)} - {
            f.name for f in dataclasses.fields(PreTrainedConfig)
        }
        overrides = {key: kwargs.pop(key) for key in list(kwargs) if key in own or key in cls.attribute_map}
        for key in ("id2label", "label2id"):
            if key in kwargs:
                overrides[key] = kwargs.pop(key)
        if "ner_id2label" in overrides or "id2label" in overrides:
            # New NER tags: the saved standard maps are stale. `id2label` alone names the NER tags.
            config_dict.pop("id2label", None)
            config_dict.pop("label2id", None)
            if "ner_id2label" not in overrides and config_dict.get("ner_id2label") is not None:
                overrides["ner_id2label"] = overrides.pop("id2label")
        config_dict.update(overrides)
        return super().from_dict(config_dict, **kwargs)

    @property
    def pos_label2id(self) -> dict[str, int] | None:
        return None if self.pos_id2label is None else {v: k for k, v in self.pos_id2label.items()}

    @property
    def ner_label2id(self) -> dict[str, int] | None:
        return None if self.ner_id2label is None else {v: k for k, v in self.ner_id2label.items()}

    def num_tags(self, task: str) -> int:
        """Number of tags of `task` ("pos" or "ner")."""
        id2label = self.task_id2label(task)
        if id2label is None:
            raise ValueError(f"MTLBiLSTMConfig: task {task!r} is trained but `{task}_id2label` is not set.")
        return len(id2label)

    def task_id2label(self, task: str) -> dict[int, str] | None:
        if task not in TASKS:
            raise ValueError(f"Unknown task: expected one of {TASKS}, received {task!r}.")
        return self.pos_id2label if task == "pos" else self.ner_id2label

    @staticmethod
    def _validated_tasks(tasks) -> tuple[str, ...]:
        tasks = tuple(tasks)
        unknown = [t for t in tasks if t not in TASKS]
        if not tasks or unknown or len(set(tasks)) != len(tasks):
            raise ValueError(
                f"MTLBiLSTMConfig.tasks: expected a non-empty subset of {TASKS} without repeats, received {tasks!r}."
            )
        # Canonical order, so ("ner", "pos") and ("pos", "ner") are the same model.
        return tuple(t for t in TASKS if t in tasks)

    def _per_task_flags(self, use_crf) -> dict[str, bool]:
        if use_crf is None:
            use_crf = {"pos": False, "ner": True}
        if isinstance(use_crf, bool):
            return {task: use_crf for task in self.tasks}
        if any(k not in TASKS for k in use_crf):
            raise ValueError(
                f"MTLBiLSTMConfig.use_crf: expected a bool or a dict with keys in {TASKS}, received {use_crf!r}."
            )
        return {task: use_crf.get(task, False) for task in self.tasks}

    @staticmethod
    def _validated_gazetteer_types(types) -> tuple[str, ...] | None:
        if types is None:
            return None
        if types and len(set(types)) == len(types) and all(types):
            return tuple(types)
        raise ValueError(
            "MTLBiLSTMConfig.gazetteer_types: expected None or a non-empty list of distinct entity type names, "
            f"received {types!r}."
        )

    def _validated_loss_weights(self, loss_weights) -> dict[str, float]:
        if loss_weights is None:
            loss_weights = {}
        if any(k not in TASKS for k in loss_weights):
            raise ValueError(
                f"MTLBiLSTMConfig.loss_weights: expected a dict with keys in {TASKS}, received {loss_weights!r}."
            )
        weights = {task: float(loss_weights.get(task, 1.0)) for task in self.tasks}
        if any(not math.isfinite(w) or w < 0 for w in weights.values()) or not any(w > 0 for w in weights.values()):
            raise ValueError(
                "MTLBiLSTMConfig.loss_weights: expected finite non-negative weights, at least one positive, "
                f"received {weights!r}."
            )
        return weights

    def _validate_sizes(self):
        """Ranges of the sizes (their types are `@strict`'s to check)."""
        positive = ("vocab_size", "embedding_dim", "shared_hidden_size", "shared_num_layers")
        at_least = dict.fromkeys((*positive, "pos_hidden_size", "ner_hidden_size"), 1)
        at_least |= dict.fromkeys(("frozen_embedding_dim", "char_vocab_size", "task_num_layers", "pad_token_id"), 0)
        if self.char_vocab_size:
            at_least |= dict.fromkeys(("char_embedding_dim", "char_cnn_filters", "char_cnn_kernel_size"), 1)
        if self.use_eojeol_features:
            at_least["eojeol_embedding_dim"] = 1
        for name, least in at_least.items():
            value = getattr(self, name)
            if value < least:
                expected = "a positive int" if least else "an int >= 0"
                raise ValueError(f"MTLBiLSTMConfig.{name}: expected {expected}, received {value!r}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"MTLBiLSTMConfig.dropout: expected a float in [0, 1), received {self.dropout!r}.")
        # transformers only warns about special token ids out of the vocabulary (Hub configs hold some); the
        # embeddings' padding row must exist.
        if self.pad_token_id >= self.vocab_size:
            raise ValueError(
                f"MTLBiLSTMConfig.pad_token_id: expected an id below vocab_size={self.vocab_size}, "
                f"received {self.pad_token_id}."
            )


def _int_keyed(name: str, id2label) -> dict[int, str] | None:
    """Restores int keys after a JSON round trip and checks the ids are exactly 0..n-1."""
    if id2label is None:
        return None
    if not id2label:
        raise ValueError(f"MTLBiLSTMConfig.{name}: expected a non-empty dict id -> tag, received {id2label!r}.")
    try:
        mapping = {int(key): str(value) for key, value in id2label.items()}
    except (TypeError, ValueError):
        raise ValueError(
            f"MTLBiLSTMConfig.{name}: expected integer ids as keys, received {list(id2label)!r}."
        ) from None
    if sorted(mapping) != list(range(len(mapping))):
        raise ValueError(f"MTLBiLSTMConfig.{name}: expected ids 0..{len(mapping) - 1}, received {sorted(mapping)!r}.")
    if len(set(mapping.values())) != len(mapping):
        raise ValueError(f"MTLBiLSTMConfig.{name}: expected distinct tag names, received {list(mapping.values())!r}.")
    return dict(sorted(mapping.items()))


__all__ = ["MTLBiLSTMConfig"]
