"""The arguments of a training run or comparison, as dataclasses for `HfArgumentParser`.

Renamed arguments keep their old spelling for one release (`DEPRECATED_ARGUMENTS`): it still works, with a
FutureWarning that names the new one, and run_info.json records the new names only (`run_info.RENAMED_ARGUMENTS`
reads the files of earlier versions).
"""

import warnings
from dataclasses import dataclass, field

import torch
from transformers import TrainingArguments
from transformers.trainer_utils import IntervalStrategy, SaveStrategy

from .local_vectors import LOCAL_VECTOR_METHODS


# --morpheme_vectors: gensim's trained on the training sentences, Kiwi's, or none.
MORPHEME_VECTORS = (*LOCAL_VECTOR_METHODS, "kiwi", "none")


# Model key -> the tasks it trains.
MODEL_TASKS = {"mtl": ("pos", "ner"), "ner": ("ner",), "pos": ("pos",)}
COMPARISON_SEEDS = [1, 2, 3]
COMPARISON_MODELS = ("ner", "pos", "mtl")
# Deprecated argument -> what replaces it (removed in the next release).
DEPRECATED_ARGUMENTS = {
    "use_crf": "--ner_crf (--no_ner_crf)",
    "task_hidden_size": "--pos_hidden_size and --ner_hidden_size",
    "pretrained_embeddings": "--morpheme_vectors_file",
    "frozen_vectors": "--frozen_embedding",
}


def warn_deprecated(name: str) -> None:
    warnings.warn(
        f"--{name} is deprecated and will be removed in the next release: use {DEPRECATED_ARGUMENTS[name]}.",
        FutureWarning,
        stacklevel=3,
    )


@dataclass
class ExperimentArguments:
    task: str = field(
        default="mtl",
        metadata={"help": "Model to train: mtl (POS + NER), ner or pos (single-task).", "choices": list(MODEL_TASKS)},
    )
    compare: bool = field(
        default=False,
        metadata={"help": "Run the paper's comparison: single-task NER, single-task POS and multi-task."},
    )
    compare_models: list[str] = field(
        default_factory=lambda: list(COMPARISON_MODELS),
        metadata={
            "help": f"The models --compare trains, in this order (default: {' '.join(COMPARISON_MODELS)}; e.g. mtl "
            "ner to leave out the single-task POS model)."
        },
    )
    seeds: list[int] | None = field(
        default=None,
        metadata={
            "help": f"Seeds, one run per model and seed (default: {COMPARISON_SEEDS} with --compare, else --seed)."
        },
    )
    compare_crf: bool = field(
        default=False, metadata={"help": "With --compare: also train every model with the other CRF setting."}
    )
    early_stopping_patience: int = field(
        default=5, metadata={"help": "Stop after this many evaluations without dev improvement (0: never)."}
    )
    ema_decay: float = field(
        default=0.0,
        metadata={
            "help": "Evaluate, select and save an exponential moving average of the weights over the training steps "
            "(at each epoch end) instead of the weights themselves; an update keeps this much of the average, e.g. "
            "0.995 remembers about 200 steps. 0: off."
        },
    )
    select_on: str = field(
        default="raw",
        metadata={
            "help": "What picks the best epoch and best_model/ of NER runs: raw (strict character-span F1 of the "
            "predictor's entities on the dev split's raw text, what users get) or gold (entity F1 on the corpus's "
            "own morphemes, the paper's measure). Both are reported either way; a dev split without raw text and "
            "gold spans (ner2016, CoNLL files) is selected on gold.",
            "choices": ["raw", "gold"],
        },
    )
    torch_num_threads: int | None = field(
        default=None, metadata={"help": "torch intra-op threads per process (default: torch's choice)."}
    )


@dataclass
class DataArguments:
    dataset: str = field(
        default="sample",
        metadata={
            "help": "Corpus: the bundled sample, klp2016, klue (KLUE-NER v1.1 TSV files) or your own conll files.",
            "choices": ["sample", "klp2016", "klue", "conll"],
        },
    )
    data_dir: str | None = field(default=None, metadata={"help": "Folder with the corpus files (klp2016, klue)."})
    train_file: str | None = field(default=None, metadata={"help": "conll: training file."})
    validation_file: str | None = field(default=None, metadata={"help": "conll: validation file."})
    test_file: str | None = field(default=None, metadata={"help": "conll: test file."})
    extra_train_corpora: list[str] = field(
        default_factory=list,
        metadata={
            "help": "More training data, as NAME=DIR (e.g. ner2016=../shared/data/ner2016-competition, "
            "klue=../shared/data/klue-ner) or sample: a corpus with a test split of its own adds its training split "
            "to training and its validation split to model selection (its test split stays unseen); one without "
            "(ner2016) adds every split to training. The report's test scores stay on --dataset's test split."
        },
    )
    pos_only_corpora: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Training text with POS tags but no entity labels, as NAME=DIR or sample (e.g. "
            "klue=../shared/data/klue-ner): its training split (every split of a corpus without a test split) joins "
            "the training data with its entity labels withheld, so a multi-task model learns from it through the "
            "POS loss and the shared Bi-LSTM; single-task NER models leave it out. --max_train_sentences does not "
            "subsample it."
        },
    )
    unannotated_entity_types: str = field(
        default="marginalize",
        metadata={
            "help": "Where the corpora annotate different entity types (QT only in KLUE): marginalize (an O of a "
            "corpus may hide an entity of a type it does not annotate: the NER loss sums over those taggings) or "
            "outside (O teaches O for every type). Dev and test scores leave out the types a sentence's corpus "
            "does not annotate either way.",
            "choices": ["marginalize", "outside"],
        },
    )
    analyzer: str = field(
        default="auto",
        metadata={
            "help": "Training morphemes of --dataset: the corpus's own (corpus), Kiwi's analysis of each raw sentence "
            "with the gold entities projected onto it, as the predictor analyses raw text (kiwi; CoNLL files have no "
            "raw text: Kiwi rebuilds it from their morphemes), or both sets of training sentences (both). auto (the "
            "default, chosen on raw-text dev F1): both for a corpus with raw sentences in the KLP layout (klp2016, "
            "sample), corpus otherwise (KLUE's morphemes are Kiwi's already; CoNLL files have no writer's text). Dev "
            "and test keep the corpus's morphemes.",
            "choices": ["auto", "corpus", "kiwi", "both"],
        },
    )
    extra_corpora_analyzer: str = field(
        default="corpus",
        metadata={
            "help": "Training morphemes of the --extra_train_corpora: corpus (their own), both (their own and, as "
            "--analyzer both does for --dataset, a copy of their training sentences as Kiwi analyses them), or auto "
            "(both for the KLP layout and ner2016, corpus otherwise). ner2016 and CoNLL files have no raw text: Kiwi "
            "rebuilds it from the morphemes (its join, spaces where Kiwi's rules put them) and analyses that. "
            "KLUE's morphemes are Kiwi's already: it loads once whatever this says. Validation splits keep the "
            "corpus's morphemes.",
            "choices": ["auto", "corpus", "both"],
        },
    )
    ner_types: list[str] | None = field(
        default=None,
        metadata={"help": "Keep only these entity types (e.g. PS LC): the tags of the others become O."},
    )
    max_train_sentences: int | None = field(
        default=None,
        metadata={
            "help": "Train on this many sentences of the training split (for learning curves): the same subset for "
            "every seed and model, nested (the subset of 250 lies inside the subset of 500), drawn from each "
            "training corpus in proportion to its size. Default: all."
        },
    )
    min_frequency: int = field(default=1, metadata={"help": "Morphemes seen fewer times in train are unknown."})
    char_unit: str = field(
        default="syllable",
        metadata={"help": "Character features over syllables or jamo.", "choices": ["syllable", "jamo"]},
    )
    gazetteer: str | None = field(
        default=None,
        metadata={
            "help": "Gazetteer feature from an entity dictionary, one '<surface>\\t<TYPE>' line per entry (the 2016 "
            "competition's gazette.txt): B/I flags per entity type where entries match morphemes. The entries are "
            "saved with the model (gazetteer.json): do not publish a model built from a dictionary you may not "
            "redistribute."
        },
    )
    gazetteer_from_training: bool = field(
        default=True,
        metadata={
            "help": "Gazetteer feature from the entities of the training split (with --gazetteer: added to its "
            "entries), built k-fold for the training sentences so that none sees its own entities; the model keeps "
            "the gazetteer of all of them, a list of the corpus's entities that travels with it (mind the corpus's "
            "licence before publishing the model). With --init_from, the saved model's gazetteer applies instead."
        },
    )
    gazetteer_folds: int = field(
        default=5,
        metadata={
            "help": "With --gazetteer_from_training: training sentences are split into this many folds, and each "
            "sentence's gazetteer holds the entities of the other folds only."
        },
    )


@dataclass
class ModelArguments:
    init_from: str | None = field(
        default=None,
        metadata={
            "help": "Fine-tune a saved model (a save_pretrained folder with its tokenizer): its vocabulary, sizes and "
            "weights are kept, and a head whose tags differ from the training data's (e.g. with --ner_types) is "
            "rebuilt. The size options below then do not apply."
        },
    )
    embedding_dim: int = field(default=100, metadata={"help": "Size of the morpheme embeddings."})
    char_embedding_dim: int = field(default=30, metadata={"help": "Size of the syllable (or jamo) embeddings."})
    char_cnn_filters: int = field(default=50, metadata={"help": "Filters of the syllable CNN; 0 disables it."})
    shared_hidden_size: int = field(default=200, metadata={"help": "Hidden size per direction of the shared Bi-LSTM."})
    shared_num_layers: int = field(default=1, metadata={"help": "Layers of the shared Bi-LSTM."})
    pos_hidden_size: int = field(
        default=100, metadata={"help": "Hidden size per direction of the POS task's Bi-LSTM (config.pos_hidden_size)."}
    )
    ner_hidden_size: int = field(
        default=100, metadata={"help": "Hidden size per direction of the NER task's Bi-LSTM (config.ner_hidden_size)."}
    )
    task_num_layers: int = field(
        default=1, metadata={"help": "Layers of each task's Bi-LSTM; 0: the heads read the shared Bi-LSTM."}
    )
    dropout: float = field(
        default=0.5, metadata={"help": "Dropout on the input embeddings and on each Bi-LSTM's outputs."}
    )
    ner_crf: bool = field(
        default=True,
        metadata={"help": "CRF on the NER head (config.use_crf['ner']); --no_ner_crf: a softmax head."},
    )
    pos_crf: bool = field(default=False, metadata={"help": "CRF on the POS head (config.use_crf['pos'])."})
    pos_loss_weight: float = field(
        default=1.0,
        metadata={
            "help": "Weight of the POS loss in the joint loss (config.loss_weights['pos']); for multi-task models, "
            "its weight at the first training step (see --pos_loss_weight_final)."
        },
    )
    pos_loss_weight_final: float = field(
        default=0.0,
        metadata={
            "help": "Multi-task models: the POS loss weight moves linearly from --pos_loss_weight at the first "
            "training step to this value at the last, so that POS shapes the shared layer early and NER has the "
            "end (default 0; pass the --pos_loss_weight value for a constant weight). Single-task models have one "
            "loss and ignore it."
        },
    )
    ner_loss_weight: float = field(
        default=1.0, metadata={"help": "Weight of the NER loss in the joint loss (config.loss_weights['ner'])."}
    )
    morpheme_vectors: str = field(
        default="fasttext",
        metadata={
            "help": "Where the initial vectors of a new model's morpheme embeddings come from: fasttext or word2vec "
            "(skip-gram vectors that gensim trains on the run's training sentences, every training corpus but never "
            "dev or test; the `vectors` extra), kiwi (Kiwi's CoNg model, offline; the `korean` extra) or none "
            "(random). --morpheme_vectors_file replaces it.",
            "choices": list(MORPHEME_VECTORS),
        },
    )
    morpheme_vectors_file: str | None = field(
        default=None,
        metadata={
            "help": "Initial morpheme vectors from a word2vec, fastText or GloVe text file instead of "
            "--morpheme_vectors."
        },
    )
    frozen_embedding: bool = field(
        default=False,
        metadata={
            "help": "Also give a new model its initial morpheme vectors (--morpheme_vectors or "
            "--morpheme_vectors_file) as a second, frozen embedding table (config.frozen_embedding_dim), "
            "concatenated to the morpheme embeddings that training fine-tunes; morphemes without a vector get "
            "zeros there."
        },
    )
    extend_vocabulary: bool = field(
        default=False,
        metadata={
            "help": "Add every morpheme of the initial morpheme vectors to the vocabulary, not only those seen in "
            "train: a morpheme that train never shows then keeps its vector instead of becoming [UNK]."
        },
    )
    pos_features_for_ner: bool = field(
        default=True,
        metadata={
            "help": "Multi-task models: feed the POS head's tag distribution to the NER Bi-LSTM beside the shared "
            "states (off with --no_pos_features_for_ner; single-task models have no POS head to read)."
        },
    )
    use_eojeol_features: bool = field(
        default=True,
        metadata={
            "help": "Embed whether each morpheme starts an eojeol, continues one or that is unknown (from the corpus's "
            "eojeol indexes; at inference from the spaces of the raw text). With --init_from, the saved model's "
            "setting applies instead."
        },
    )
    eojeol_embedding_dim: int = field(default=8, metadata={"help": "Size of the eojeol-position embeddings."})
    word_dropout: float = field(
        default=0.7,
        metadata={
            "help": "Word dropout: in training batches, each morpheme seen once in the training split (the copies of "
            "a sentence under --analyzer both counting as one sentence) becomes [UNK] with this probability (its "
            "syllables stay), so that the [UNK] embedding learns from rare words."
        },
    )
    # Deprecated spellings (DEPRECATED_ARGUMENTS), mapped onto their replacements in __post_init__.
    use_crf: bool = field(default=True, metadata={"help": "Deprecated: use --ner_crf (--no_use_crf: --no_ner_crf)."})
    task_hidden_size: int | None = field(
        default=None, metadata={"help": "Deprecated: use --pos_hidden_size and --ner_hidden_size (it sets both)."}
    )
    pretrained_embeddings: str | None = field(
        default=None, metadata={"help": "Deprecated: use --morpheme_vectors_file."}
    )
    frozen_vectors: bool = field(default=False, metadata={"help": "Deprecated: use --frozen_embedding."})

    def __post_init__(self):
        if not self.use_crf:  # True is the default: only --no_use_crf (or --use_crf false) says something
            warn_deprecated("use_crf")
            self.ner_crf, self.use_crf = False, True
        if self.task_hidden_size is not None:
            warn_deprecated("task_hidden_size")
            self.pos_hidden_size = self.ner_hidden_size = self.task_hidden_size
            self.task_hidden_size = None
        if self.pretrained_embeddings is not None:
            warn_deprecated("pretrained_embeddings")
            self.morpheme_vectors_file, self.pretrained_embeddings = self.pretrained_embeddings, None
        if self.frozen_vectors:
            warn_deprecated("frozen_vectors")
            self.frozen_embedding, self.frozen_vectors = True, False


@dataclass
class MTLTrainingArguments(TrainingArguments):
    """TrainingArguments with defaults that suit a small Bi-LSTM (the library's suit transformers)."""

    output_dir: str = field(default="runs/compare")
    seed: int = field(default=COMPARISON_SEEDS[0])
    learning_rate: float = field(default=5e-3)
    num_train_epochs: float = field(default=12)
    per_device_train_batch_size: int = field(default=32)
    per_device_eval_batch_size: int = field(default=128)
    max_grad_norm: float = field(default=5.0)
    eval_strategy: IntervalStrategy | str = field(default="epoch")
    save_strategy: SaveStrategy | str = field(default="epoch")
    logging_strategy: IntervalStrategy | str = field(default="epoch")
    save_total_limit: int | None = field(default=1)
    load_best_model_at_end: bool = field(default=True)
    train_sampling_strategy: str = field(default="group_by_length")
    report_to: None | str | list[str] = field(default="none")
    dataloader_drop_last: bool = field(default=False)
    # Every parameter of a model takes part in its loss (a single-task model has no head for the other task), so
    # DDP need not walk the autograd graph after each step looking for unused ones (the library's default does).
    ddp_find_unused_parameters: bool | None = field(default=False)
    # The model's one buffer, the frozen morpheme embedding (--frozen_embedding), never changes: no need to send it
    # from the first process to the others before every step (DDP's default).
    ddp_broadcast_buffers: bool | None = field(default=False)
    # On a machine without CUDA, train on CPU; under `accelerate launch --multi_gpu` this also makes
    # the processes join one gloo group instead of each training alone.
    use_cpu: bool = field(default=not torch.cuda.is_available())


ARGUMENT_CLASSES = (ExperimentArguments, DataArguments, ModelArguments, MTLTrainingArguments)
