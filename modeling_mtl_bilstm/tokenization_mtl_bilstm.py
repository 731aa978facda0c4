"""Vocabulary of morphemes and syllables: turns pre-split morphemes into model inputs, and pads batches.

Korean NER corpora come already split into morphemes (one tag per morpheme), so one morpheme is one
token: there is no sub-word splitting and labels align one to one. The optional per-morpheme features (eojeol
positions, gazetteer flags) are computed by `features_mtl_bilstm`, whose names are re-exported here.
"""

import json
import os
import shutil
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .features_mtl_bilstm import (
    EOJEOL_INITIAL_ID,
    EOJEOL_INTERNAL_ID,
    EOJEOL_UNKNOWN_ID,
    GAZETTEER_FLAG_PREFIXES,
    MIN_GAZETTEER_SURFACE_LENGTH,
    NUM_EOJEOL_IDS,
    Gazetteer,
    eojeol_ids_of,
    gazetteer_flag_count,
    gazetteer_key,
)
from .tags_mtl_bilstm import IGNORE_INDEX


try:  # padding to tensors and Hub downloads; serving with ONNX Runtime (the `serve` extra) has neither
    import torch
    from transformers import BatchEncoding
    from transformers.dynamic_module_utils import get_relative_import_files
    from transformers.utils import cached_file
except ImportError:
    torch = BatchEncoding = cached_file = get_relative_import_files = None


PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
CHAR_UNITS = ("syllable", "jamo")
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
VOCAB_FILE = "vocab.json"
GAZETTEER_FILE = "gazetteer.json"
# Morpheme forms repeat (Zipf's law): a tokenizer keeps the syllable ids of up to this many forms.
CHAR_IDS_CACHE_SIZE = 200_000
# The training split's column that marks its singleton morphemes, the ones word dropout may replace by [UNK].
SINGLETON_MASK = "singleton_mask"
# Per-sentence 0/1 over the NER tags, 1 for tags of entity types the sentence's corpus does not annotate (the model's
# `ner_unannotated_tags`): a feature of training data that mixes corpora, not of the tokenizer's encoding.
NER_UNANNOTATED_TAGS = "ner_unannotated_tags"


class MTLBiLSTMTokenizer:
    """
    Maps morphemes to ids and each morpheme's characters (Hangul syllables, or their jamo) to ids.

    Id 0 is padding and id 1 the unknown entry in both vocabularies. Build one from a training split
    with [`~MTLBiLSTMTokenizer.build`], then save it next to the model with `save_pretrained`.

    Optional features, for models whose config asks for them: `eojeol_features=True` adds `eojeol_ids` (see
    [`eojeol_ids_of`]; unknown where `encode` gets no `word_ids`), and a `gazetteer` adds `gazetteer_flags` (see
    [`Gazetteer`]); the gazetteer is saved with the tokenizer, as `gazetteer.json`.

    Example:

    ```python
    >>> tokenizer = MTLBiLSTMTokenizer.build([["세종", "이", "한글", "을", "만들", "었", "다"]])
    >>> batch = tokenizer([["세종", "이"], ["한글"]], return_tensors="pt")
    >>> batch["input_ids"].shape, batch["char_ids"].shape
    (torch.Size([2, 2]), torch.Size([2, 2, 2]))
    ```
    """

    vocab_files_names = {"vocab_file": VOCAB_FILE, "gazetteer_file": GAZETTEER_FILE}
    _auto_class = None

    def __init__(
        self,
        morphemes: Sequence[str],
        characters: Sequence[str] = (),
        char_unit: str = "syllable",
        max_chars_per_morpheme: int = 20,
        eojeol_features: bool = False,
        gazetteer: "Gazetteer | None" = None,
        **kwargs,
    ):
        if char_unit not in CHAR_UNITS:
            raise ValueError(f"char_unit: expected one of {CHAR_UNITS}, received {char_unit!r}.")
        if max_chars_per_morpheme < 1:
            raise ValueError(f"max_chars_per_morpheme: expected a positive int, received {max_chars_per_morpheme!r}.")
        self.id_to_morpheme = _with_specials(morphemes, "morphemes")
        self.id_to_char = _with_specials(characters, "characters")
        self.morpheme_to_id = {m: i for i, m in enumerate(self.id_to_morpheme)}
        self.char_to_id = {c: i for i, c in enumerate(self.id_to_char)}
        self.char_unit = char_unit
        self.max_chars_per_morpheme = max_chars_per_morpheme
        self.eojeol_features = bool(eojeol_features)
        self.gazetteer = gazetteer
        self._char_ids_cache: dict[str, list[int]] = {}
        self.pad_token_id = 0
        self.unk_token_id = 1
        self.name_or_path = kwargs.get("name_or_path", "")

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        min_frequency: int = 1,
        max_vocab_size: int | None = None,
        char_unit: str = "syllable",
        char_min_frequency: int = 1,
        max_chars_per_morpheme: int = 20,
        **features,
    ) -> "MTLBiLSTMTokenizer":
        """Builds the vocabularies from tokenised sentences (a training split): morphemes seen at least
        `min_frequency` times (the `max_vocab_size` most frequent), characters seen `char_min_frequency`
        times. Ties are broken by first appearance, so the same corpus always gives the same ids. `features`
        (`eojeol_features`, `gazetteer`) go to the constructor."""
        morpheme_counts, char_counts = Counter(), Counter()
        for morphemes in sentences:
            morpheme_counts.update(morphemes)
            for morpheme in morphemes:
                char_counts.update(_characters(morpheme, char_unit))
        kept = [m for m, n in morpheme_counts.most_common() if n >= min_frequency and m not in (PAD_TOKEN, UNK_TOKEN)]
        if max_vocab_size is not None:
            kept = kept[: max(0, max_vocab_size - 2)]
        chars = [c for c, n in char_counts.most_common() if n >= char_min_frequency]
        return cls(kept, chars, char_unit=char_unit, max_chars_per_morpheme=max_chars_per_morpheme, **features)

    @property
    def model_input_names(self) -> list[str]:
        names = ["input_ids", "attention_mask", "char_ids"]
        if self.eojeol_features:
            names.append("eojeol_ids")
        if self.gazetteer is not None:
            names.append("gazetteer_flags")
        return names

    @property
    def vocab_size(self) -> int:
        return len(self.id_to_morpheme)

    @property
    def char_vocab_size(self) -> int:
        return len(self.id_to_char)

    def __len__(self) -> int:
        return self.vocab_size

    def get_vocab(self) -> dict[str, int]:
        return dict(self.morpheme_to_id)

    def convert_tokens_to_ids(self, morphemes: Sequence[str]) -> list[int]:
        return [self.morpheme_to_id.get(m, self.unk_token_id) for m in morphemes]

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        return [self.id_to_morpheme[i] for i in ids]

    def char_ids_of(self, morpheme: str) -> list[int]:
        """The syllable (or jamo) ids of a morpheme, at most `max_chars_per_morpheme`. The list is shared between
        calls: copy it before changing it."""
        char_ids = self._char_ids_cache.get(morpheme)
        if char_ids is None:
            chars = _characters(morpheme, self.char_unit)[: self.max_chars_per_morpheme]
            char_ids = [self.char_to_id.get(c, self.unk_token_id) for c in chars] or [self.unk_token_id]
            if len(self._char_ids_cache) < CHAR_IDS_CACHE_SIZE:
                self._char_ids_cache[morpheme] = char_ids
        return char_ids

    def __getstate__(self) -> dict:
        # The cache is not the tokenizer's content: datasets' fingerprints hash the pickled tokenizer.
        return {name: value for name, value in self.__dict__.items() if name != "_char_ids_cache"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _char_ids_cache={})

    def encode(
        self,
        morphemes: Sequence[str],
        pos_tags: Sequence[int] | None = None,
        ner_tags: Sequence[int] | None = None,
        word_ids: Sequence[int] | None = None,
        gazetteer: "Gazetteer | None" = None,
    ) -> dict[str, list]:
        """One sentence, unpadded: `input_ids`, `attention_mask`, `char_ids` (a list per morpheme), the optional
        features (`eojeol_ids` from `word_ids`, each morpheme's eojeol index or -1; `gazetteer_flags`, a list per
        morpheme) and, when tags are given, `pos_labels` / `ner_labels` (one tag id per morpheme). `gazetteer`
        replaces the tokenizer's own for this sentence (training sentences get one without their own entities);
        it must have the same types."""
        if isinstance(morphemes, str):
            raise TypeError("encode: expected a list of morphemes, received a str (split the sentence first).")
        if not morphemes:
            raise ValueError("encode: expected at least one morpheme, received an empty sentence.")
        encoded = {
            "input_ids": self.convert_tokens_to_ids(morphemes),
            "attention_mask": [1] * len(morphemes),
            "char_ids": [self.char_ids_of(m) for m in morphemes],
        }
        if word_ids is not None and len(word_ids) != len(morphemes):
            raise ValueError(
                f"word_ids: expected {len(morphemes)} eojeol indexes (one per morpheme), received {len(word_ids)}."
            )
        if self.eojeol_features:
            encoded["eojeol_ids"] = eojeol_ids_of([-1] * len(morphemes) if word_ids is None else word_ids)
        if gazetteer is not None and self.gazetteer is None:
            raise ValueError("gazetteer: expected None, since this tokenizer has no gazetteer feature; received one.")
        if gazetteer is not None and gazetteer.types != self.gazetteer.types:
            raise ValueError(
                f"gazetteer: expected one with the types {self.gazetteer.types}, received types {gazetteer.types}."
            )
        if self.gazetteer is not None:
            encoded["gazetteer_flags"] = (gazetteer or self.gazetteer).flags(morphemes)
        for name, tags in (("pos_labels", pos_tags), ("ner_labels", ner_tags)):
            if tags is not None:
                if len(tags) != len(morphemes):
                    raise ValueError(
                        f"{name}: expected {len(morphemes)} tags (one per morpheme), received {len(tags)}."
                    )
                encoded[name] = list(tags)
        return encoded

    def __call__(
        self,
        sentences: Sequence[str] | Sequence[Sequence[str]],
        pos_tags: Sequence[Sequence[int]] | None = None,
        ner_tags: Sequence[Sequence[int]] | None = None,
        return_tensors: str | None = "pt",
        word_ids: Sequence[Sequence[int]] | None = None,
    ) -> BatchEncoding:
        """Encodes one sentence (a list of morphemes) or a batch of them, padded when `return_tensors="pt"`;
        `word_ids` (the eojeol index of each morpheme) feed `eojeol_ids`."""
        if sentences and isinstance(sentences[0], str):
            return self.__call__(
                [sentences],
                *(None if values is None else [values] for values in (pos_tags, ner_tags)),
                return_tensors,
                None if word_ids is None else [word_ids],
            )
        features = [
            self.encode(s, *(None if values is None else values[i] for values in (pos_tags, ner_tags, word_ids)))
            for i, s in enumerate(sentences)
        ]
        if return_tensors is None:
            return BatchEncoding({key: [f[key] for f in features] for key in features[0]})
        return self.pad(features, return_tensors=return_tensors)

    def pad(self, features: Sequence[dict], return_tensors: str = "pt") -> BatchEncoding:
        """Pads encoded sentences into tensors: ids and masks with 0, labels with -100, `char_ids` to
        (batch, longest sentence, longest morpheme), `eojeol_ids` with the unknown id, `gazetteer_flags` to
        (batch, longest sentence, flags) with zeros. `return_tensors="np"` gives a dict of int64 numpy arrays
        instead (no torch needed)."""
        if return_tensors not in ("pt", "np"):
            raise ValueError(f"return_tensors: expected 'pt' or 'np', received {return_tensors!r}.")
        seq_len = max(len(f["input_ids"]) for f in features)
        # Pad as Python lists and convert once: far cheaper than one small tensor per morpheme.
        batch = {
            "input_ids": [f["input_ids"] + [self.pad_token_id] * (seq_len - len(f["input_ids"])) for f in features],
            "attention_mask": [[1] * len(f["input_ids"]) + [0] * (seq_len - len(f["input_ids"])) for f in features],
        }
        if "char_ids" in features[0]:
            max_chars = max(len(chars) for f in features for chars in f["char_ids"])
            empty = [self.pad_token_id] * max_chars
            batch["char_ids"] = [
                [chars + [self.pad_token_id] * (max_chars - len(chars)) for chars in f["char_ids"]]
                + [empty] * (seq_len - len(f["char_ids"]))
                for f in features
            ]
        if "eojeol_ids" in features[0]:
            batch["eojeol_ids"] = [
                f["eojeol_ids"] + [EOJEOL_UNKNOWN_ID] * (seq_len - len(f["eojeol_ids"])) for f in features
            ]
        if "gazetteer_flags" in features[0]:
            no_match = [0] * len(features[0]["gazetteer_flags"][0])
            batch["gazetteer_flags"] = [
                f["gazetteer_flags"] + [no_match] * (seq_len - len(f["gazetteer_flags"])) for f in features
            ]
        for name in ("pos_labels", "ner_labels"):
            if name in features[0]:
                batch[name] = [f[name] + [IGNORE_INDEX] * (seq_len - len(f[name])) for f in features]
        if return_tensors == "np":
            return {name: np.array(rows, dtype=np.int64) for name, rows in batch.items()}
        batch = {name: torch.tensor(rows, dtype=torch.long) for name, rows in batch.items()}
        return BatchEncoding(batch)

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs) -> tuple[str, ...]:
        """Writes `tokenizer_config.json`, `vocab.json` (both vocabularies, in id order) and, where the tokenizer
        has a gazetteer, `gazetteer.json`; returns their paths."""
        directory = Path(save_directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = {
            "tokenizer_class": type(self).__name__,
            "char_unit": self.char_unit,
            "max_chars_per_morpheme": self.max_chars_per_morpheme,
            "eojeol_features": self.eojeol_features,
            "gazetteer_file": None if self.gazetteer is None else GAZETTEER_FILE,
            "model_input_names": self.model_input_names,
        }
        if self._auto_class is not None:
            # A copy of this module and of those it imports relatively, plus `auto_map`, let
            # AutoTokenizer(trust_remote_code=True) load the folder where this package is not installed.
            config["auto_map"] = {"AutoTokenizer": [f"{Path(__file__).stem}.{type(self).__name__}", None]}
            for module_file in (__file__, *get_relative_import_files(__file__)):
                shutil.copyfile(module_file, directory / Path(module_file).name)
        config_path = directory / TOKENIZER_CONFIG_FILE
        vocab_path = directory / VOCAB_FILE
        config_path.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        vocab = {"morphemes": self.id_to_morpheme, "characters": self.id_to_char}
        vocab_path.write_text(json.dumps(vocab, ensure_ascii=False) + "\n", encoding="utf-8")
        if self.gazetteer is None:
            return str(config_path), str(vocab_path)
        self.gazetteer.save(directory / GAZETTEER_FILE)
        return str(config_path), str(vocab_path), str(directory / GAZETTEER_FILE)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs) -> "MTLBiLSTMTokenizer":
        """Loads from a folder written by `save_pretrained` or from a Hub repository (`revision`,
        `cache_dir`, `token`... are passed to the download)."""
        hub_kwargs = {
            k: kwargs[k]
            for k in ("cache_dir", "force_download", "proxies", "token", "revision", "local_files_only", "subfolder")
            if k in kwargs
        }
        config_path = _cached_file(pretrained_model_name_or_path, TOKENIZER_CONFIG_FILE, **hub_kwargs)
        vocab_path = _cached_file(pretrained_model_name_or_path, VOCAB_FILE, **hub_kwargs)
        config = json.loads(Path(config_path).read_text(encoding="utf-8"))
        vocab = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
        for key in ("morphemes", "characters"):
            if not isinstance(vocab.get(key), list):
                raise ValueError(f"{vocab_path}: expected a JSON object with a list under {key!r}.")
        gazetteer = None
        if config.get("gazetteer_file"):
            # Named in the config, so a folder that lost its gazetteer fails here rather than tagging without it.
            gazetteer = Gazetteer.load(
                _cached_file(pretrained_model_name_or_path, config["gazetteer_file"], **hub_kwargs)
            )
        return cls(
            vocab["morphemes"][2:],
            vocab["characters"][2:],
            char_unit=config.get("char_unit", "syllable"),
            max_chars_per_morpheme=config.get("max_chars_per_morpheme", 20),
            eojeol_features=config.get("eojeol_features", False),
            gazetteer=gazetteer,
            name_or_path=str(pretrained_model_name_or_path),
        )

    @classmethod
    def register_for_auto_class(cls, auto_class: str = "AutoTokenizer"):
        """Marks the class so `save_pretrained` writes the `auto_map` that AutoTokenizer's
        `trust_remote_code=True` loading follows."""
        if auto_class != "AutoTokenizer":
            raise ValueError(f"auto_class: expected 'AutoTokenizer', received {auto_class!r}.")
        cls._auto_class = auto_class

    def __repr__(self) -> str:
        features = "".join(
            (
                ", eojeol_features=True" if self.eojeol_features else "",
                f", gazetteer={self.gazetteer!r}" if self.gazetteer else "",
            )
        )
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, char_vocab_size={self.char_vocab_size}, "
            f"char_unit={self.char_unit!r}{features})"
        )


class DataCollatorForMTLBiLSTM:
    """
    Trainer data collator: pads features produced by [`MTLBiLSTMTokenizer.encode`].

    Args:
        tokenizer ([`MTLBiLSTMTokenizer`]): pads the batches.
        word_dropout (`float`, defaults to 0.0): word dropout (Lample et al., 2016): the morphemes that a feature's
            `singleton_mask` marks (those seen once in the training data; the training split alone carries the
            mask) become [UNK] with this probability, drawn anew for each batch from torch's global generator, which
            `Trainer` seeds. Their syllables and other features stay. Features without a mask (evaluation) are
            left alone.

    Features with `ner_unannotated_tags` (a list over the NER tags per sentence) get them stacked into a (batch,
    NER tags) tensor.
    """

    def __init__(self, tokenizer: MTLBiLSTMTokenizer, word_dropout: float = 0.0):
        if not 0.0 <= word_dropout <= 1.0:
            raise ValueError(f"word_dropout: expected a probability in [0, 1], received {word_dropout!r}.")
        self.tokenizer = tokenizer
        self.word_dropout = word_dropout

    def __call__(self, features: Sequence[dict]) -> BatchEncoding:
        keep = ("input_ids", "attention_mask", "char_ids", "eojeol_ids", "gazetteer_flags", "pos_labels", "ner_labels")
        batch = self.tokenizer.pad([{k: f[k] for k in keep if k in f} for f in features])
        if self.word_dropout and SINGLETON_MASK in features[0]:
            seq_len = batch["input_ids"].size(1)
            singletons = torch.tensor(
                [list(f[SINGLETON_MASK]) + [0] * (seq_len - len(f[SINGLETON_MASK])) for f in features],
                dtype=torch.bool,
            )
            dropped = singletons & (torch.rand(singletons.shape) < self.word_dropout)
            batch["input_ids"] = batch["input_ids"].masked_fill(dropped, self.tokenizer.unk_token_id)
        if NER_UNANNOTATED_TAGS in features[0]:
            batch[NER_UNANNOTATED_TAGS] = torch.tensor([f[NER_UNANNOTATED_TAGS] for f in features], dtype=torch.long)
        return batch


def _cached_file(pretrained_model_name_or_path: str | os.PathLike, filename: str, **hub_kwargs) -> str:
    """transformers' `cached_file` (a folder's file, or a Hub repository's, downloaded); where transformers is not
    installed (the `serve` extra), the file of a local folder."""
    if cached_file is not None:
        return cached_file(pretrained_model_name_or_path, filename, **hub_kwargs)
    path = Path(pretrained_model_name_or_path, hub_kwargs.get("subfolder") or "", filename)
    if not path.is_file():
        raise OSError(
            f"{path}: expected the tokenizer file {filename}, found none (without transformers, tokenizers load from "
            "local folders only)."
        )
    return str(path)


def _characters(morpheme: str, char_unit: str) -> list[str]:
    if char_unit == "jamo":
        # NFD splits each precomposed Hangul syllable into its conjoining jamo.
        return list(unicodedata.normalize("NFD", morpheme))
    return list(morpheme)


def _with_specials(entries: Sequence[str], what: str) -> list[str]:
    entries = list(entries)
    if len(set(entries)) != len(entries):
        raise ValueError(
            f"{what}: expected distinct entries, received {len(entries) - len(set(entries))} duplicate(s)."
        )
    if PAD_TOKEN in entries or UNK_TOKEN in entries:
        raise ValueError(f"{what}: {PAD_TOKEN} and {UNK_TOKEN} are reserved (ids 0 and 1), received them in the list.")
    return [PAD_TOKEN, UNK_TOKEN, *entries]


__all__ = [
    "EOJEOL_INITIAL_ID",
    "EOJEOL_INTERNAL_ID",
    "EOJEOL_UNKNOWN_ID",
    "GAZETTEER_FLAG_PREFIXES",
    "IGNORE_INDEX",
    "MIN_GAZETTEER_SURFACE_LENGTH",
    "NUM_EOJEOL_IDS",
    "DataCollatorForMTLBiLSTM",
    "Gazetteer",
    "MTLBiLSTMTokenizer",
    "eojeol_ids_of",
    "gazetteer_flag_count",
    "gazetteer_key",
]
