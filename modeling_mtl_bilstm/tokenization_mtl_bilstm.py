"""Vocabulary of morphemes and syllables: turns pre-split morphemes into model inputs, and pads batches.

Korean NER corpora come already split into morphemes (one tag per morpheme), so one morpheme is one
token: there is no sub-word splitting and labels align one to one.
"""

import json
import os
import shutil
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from transformers import BatchEncoding
from transformers.utils import cached_file


IGNORE_INDEX = -100
PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
CHAR_UNITS = ("syllable", "jamo")
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
VOCAB_FILE = "vocab.json"


class MTLBiLSTMTokenizer:
    """
    Maps morphemes to ids and each morpheme's characters (Hangul syllables, or their jamo) to ids.

    Id 0 is padding and id 1 the unknown entry in both vocabularies. Build one from a training split
    with [`~MTLBiLSTMTokenizer.build`], then save it next to the model with `save_pretrained`.

    Example:

    ```python
    >>> tokenizer = MTLBiLSTMTokenizer.build([["세종", "이", "한글", "을", "만들", "었", "다"]])
    >>> batch = tokenizer([["세종", "이"], ["한글"]], return_tensors="pt")
    >>> batch["input_ids"].shape, batch["char_ids"].shape
    (torch.Size([2, 2]), torch.Size([2, 2, 2]))
    ```
    """

    model_input_names = ["input_ids", "attention_mask", "char_ids"]
    _auto_class = None

    def __init__(
        self,
        morphemes: Sequence[str],
        characters: Sequence[str] = (),
        char_unit: str = "syllable",
        max_chars_per_morpheme: int = 20,
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
    ) -> "MTLBiLSTMTokenizer":
        """Builds the vocabularies from tokenised sentences (a training split): morphemes seen at least
        `min_frequency` times (the `max_vocab_size` most frequent), characters seen `char_min_frequency`
        times. Ties are broken by first appearance, so the same corpus always gives the same ids."""
        morpheme_counts, char_counts = Counter(), Counter()
        for morphemes in sentences:
            morpheme_counts.update(morphemes)
            for morpheme in morphemes:
                char_counts.update(_characters(morpheme, char_unit))
        kept = [m for m, n in morpheme_counts.most_common() if n >= min_frequency and m not in (PAD_TOKEN, UNK_TOKEN)]
        if max_vocab_size is not None:
            kept = kept[: max(0, max_vocab_size - 2)]
        chars = [c for c, n in char_counts.most_common() if n >= char_min_frequency]
        return cls(kept, chars, char_unit=char_unit, max_chars_per_morpheme=max_chars_per_morpheme)

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
        chars = _characters(morpheme, self.char_unit)[: self.max_chars_per_morpheme]
        return [self.char_to_id.get(c, self.unk_token_id) for c in chars] or [self.unk_token_id]

    def encode(
        self,
        morphemes: Sequence[str],
        pos_tags: Sequence[int] | None = None,
        ner_tags: Sequence[int] | None = None,
    ) -> dict[str, list]:
        """One sentence, unpadded: `input_ids`, `attention_mask`, `char_ids` (a list per morpheme) and,
        when tags are given, `pos_labels` / `ner_labels` (one tag id per morpheme)."""
        if isinstance(morphemes, str):
            raise TypeError("encode: expected a list of morphemes, received a str (split the sentence first).")
        if not morphemes:
            raise ValueError("encode: expected at least one morpheme, received an empty sentence.")
        encoded = {
            "input_ids": self.convert_tokens_to_ids(morphemes),
            "attention_mask": [1] * len(morphemes),
            "char_ids": [self.char_ids_of(m) for m in morphemes],
        }
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
    ) -> BatchEncoding:
        """Encodes one sentence (a list of morphemes) or a batch of them, padded when `return_tensors="pt"`."""
        if sentences and isinstance(sentences[0], str):
            return self.__call__(
                [sentences],
                None if pos_tags is None else [pos_tags],
                None if ner_tags is None else [ner_tags],
                return_tensors,
            )
        features = [
            self.encode(s, None if pos_tags is None else pos_tags[i], None if ner_tags is None else ner_tags[i])
            for i, s in enumerate(sentences)
        ]
        if return_tensors is None:
            return BatchEncoding({key: [f[key] for f in features] for key in features[0]})
        return self.pad(features, return_tensors=return_tensors)

    def pad(self, features: Sequence[dict], return_tensors: str = "pt") -> BatchEncoding:
        """Pads encoded sentences into tensors: ids and masks with 0, labels with -100, `char_ids` to
        (batch, longest sentence, longest morpheme)."""
        if return_tensors != "pt":
            raise ValueError(f"return_tensors: expected 'pt', received {return_tensors!r}.")
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
        for name in ("pos_labels", "ner_labels"):
            if name in features[0]:
                batch[name] = [f[name] + [IGNORE_INDEX] * (seq_len - len(f[name])) for f in features]
        batch = {name: torch.tensor(rows, dtype=torch.long) for name, rows in batch.items()}
        return BatchEncoding(batch)

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs) -> tuple[str, str]:
        """Writes `tokenizer_config.json` and `vocab.json` (both vocabularies, in id order)."""
        directory = Path(save_directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = {
            "tokenizer_class": type(self).__name__,
            "char_unit": self.char_unit,
            "max_chars_per_morpheme": self.max_chars_per_morpheme,
            "model_input_names": self.model_input_names,
        }
        if self._auto_class is not None:
            # A copy of this module plus `auto_map` let AutoTokenizer(trust_remote_code=True) load the
            # folder where this package is not installed.
            config["auto_map"] = {"AutoTokenizer": [f"{Path(__file__).stem}.{type(self).__name__}", None]}
            shutil.copyfile(__file__, directory / Path(__file__).name)
        config_path = directory / TOKENIZER_CONFIG_FILE
        vocab_path = directory / VOCAB_FILE
        config_path.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        vocab = {"morphemes": self.id_to_morpheme, "characters": self.id_to_char}
        vocab_path.write_text(json.dumps(vocab, ensure_ascii=False) + "\n", encoding="utf-8")
        return str(config_path), str(vocab_path)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs) -> "MTLBiLSTMTokenizer":
        """Loads from a folder written by `save_pretrained` or from a Hub repository (`revision`,
        `cache_dir`, `token`... are passed to the download)."""
        hub_kwargs = {
            k: kwargs[k]
            for k in ("cache_dir", "force_download", "proxies", "token", "revision", "local_files_only", "subfolder")
            if k in kwargs
        }
        config_path = cached_file(pretrained_model_name_or_path, TOKENIZER_CONFIG_FILE, **hub_kwargs)
        vocab_path = cached_file(pretrained_model_name_or_path, VOCAB_FILE, **hub_kwargs)
        config = json.loads(Path(config_path).read_text(encoding="utf-8"))
        vocab = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
        for key in ("morphemes", "characters"):
            if not isinstance(vocab.get(key), list):
                raise ValueError(f"{vocab_path}: expected a JSON object with a list under {key!r}.")
        return cls(
            vocab["morphemes"][2:],
            vocab["characters"][2:],
            char_unit=config.get("char_unit", "syllable"),
            max_chars_per_morpheme=config.get("max_chars_per_morpheme", 20),
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
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, char_vocab_size={self.char_vocab_size}, "
            f"char_unit={self.char_unit!r})"
        )


class DataCollatorForMTLBiLSTM:
    """Trainer data collator: pads features produced by [`MTLBiLSTMTokenizer.encode`]."""

    def __init__(self, tokenizer: MTLBiLSTMTokenizer):
        self.tokenizer = tokenizer

    def __call__(self, features: Sequence[dict]) -> BatchEncoding:
        keep = ("input_ids", "attention_mask", "char_ids", "pos_labels", "ner_labels")
        return self.tokenizer.pad([{k: f[k] for k in keep if k in f} for f in features])


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


__all__ = ["MTLBiLSTMTokenizer", "DataCollatorForMTLBiLSTM"]
