"""Loading the Korean NER corpora as a ``datasets.DatasetDict``, and exporting one to Parquet
with a dataset card, ready for ``DatasetDict.push_to_hub`` or ``datasets.load_dataset``."""

import hashlib
import os
from pathlib import Path

import datasets
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCardData

from .data_scripts.formats import write_klue
from .data_scripts.korean_ner import KLUE_FILE_PATTERNS, KoreanNER


PathLike = str | os.PathLike


def load_korean_ner(
    name: str = "sample",
    data_dir: PathLike | None = None,
    data_files: str | list | dict | None = None,
    errors: str = "raise",
    cache_dir: PathLike | None = None,
    dataset: datasets.Dataset | datasets.DatasetDict | None = None,
    **config_kwargs,
) -> datasets.DatasetDict:
    """Loads a morpheme-level Korean NER corpus with features ``id``, ``tokens``,
    ``pos_tags``, ``ner_tags`` (IOB2), ``word_ids``, ``text`` and ``entity_spans`` (the gold
    character spans of ``text``, null where the source gives none).

    Args:
        name: ``"sample"`` (the small corpus shipped with the package), ``"klp2016"`` (KLP
            2016 files in ``data_dir``), ``"ner2016"`` (the 2016 competition's train and dev files
            in ``data_dir``: train and validation splits, no eojeol index), ``"klue"`` (KLUE-NER
            v1.1 files in ``data_dir``, or ``dataset``) or ``"conll"`` (your own column files).
        data_dir: a folder with ``train.txt``, ``dev.txt`` (or ``validation.txt``) and
            ``test.txt``; the KLP upstream names ``ner.train``, ``ner.dev``, ``ner.test`` work too.
            For ``"klue"``: ``klue-ner-v1.1_dev.tsv`` (or a part of it, ``klue-ner-v1.1_dev.part.tsv``)
            and, where you have it, ``klue-ner-v1.1_train.tsv``.
        data_files: as in ``datasets.load_dataset``: a path or list of paths (train split) or
            a dict split -> path(s).
        errors: ``"raise"`` raises ``CorpusFormatError`` at the first malformed sentence;
            ``"skip"`` drops malformed sentences with one warning that counts them.
        cache_dir: where the prepared dataset is cached (the ``datasets`` cache by default).
            The cache is keyed on the content of the source files, so an edited file is re-read.
        dataset: ``"klue"`` only, instead of ``data_dir``: KLUE-NER in the Hub layout of ``klue/klue``,
            config ``ner`` (``sentence``, ``tokens`` = characters, ``ner_tags`` = ClassLabel ids), e.g.
            ``datasets.load_dataset("klue", "ner")`` where the Hub can be reached. A ``DatasetDict``'s
            ``train`` split is the official training split, its ``validation`` split KLUE's dev set; a
            ``Dataset`` is taken as the dev set. Rows are numbered like the TSV files' sentence ids
            (``dev_00042``), so the fixed validation/test split is the same as from the files.
        config_kwargs: ``tag_scheme`` (``"auto"``, ``"iob1"``, ``"iob2"``, ``"bioes"``,
            ``"klp"``), ``pos_labels``, ``ner_labels``, ``label_splits``, ``analyzer``
            (``"corpus"``, or ``"kiwi"``: Kiwi's analysis of each raw sentence with the gold
            entities projected onto it, of the text Kiwi rebuilds from the morphemes where the
            layout has none) and ``misaligned_entities`` (``"drop"`` or ``"expand"``)
            (see ``KoreanNERConfig``).

    Returns:
        The splits the data has, among ``train``, ``validation``, ``test`` (or the split
        names of ``data_files``).
    """
    if dataset is not None:
        if name != "klue" or data_dir is not None or data_files is not None:
            raise ValueError(
                f"dataset=... is KLUE-NER in the Hub layout: expected name='klue' and no data_dir or data_files, "
                f"received name={name!r}, data_dir={data_dir!r}, data_files={data_files!r}"
            )
        data_dir = klue_hub_to_files(dataset, Path(cache_dir or datasets.config.HF_DATASETS_CACHE) / "klue_hub_tsv")
    builder = KoreanNER(
        config_name=name,
        data_dir=None if data_dir is None else str(data_dir),
        data_files=data_files,
        cache_dir=None if cache_dir is None else str(cache_dir),
        errors=errors,
        **config_kwargs,
    )
    builder.download_and_prepare()
    return builder.as_dataset()


# Hub split of klue/klue -> (part of the TSV file name, the part's name in KLUE's sentence ids).
_KLUE_HUB_SPLITS = {"train": ("train", "train"), "validation": ("dev", "dev")}


def klue_hub_to_files(dataset: datasets.Dataset | datasets.DatasetDict, parent: PathLike) -> Path:
    """Writes KLUE-NER in the Hub layout of ``klue/klue`` (config ``ner``) as KLUE's TSV files, into a folder of
    ``parent`` named by the dataset's fingerprint, and returns the folder (see ``load_korean_ner``)."""
    splits = {"validation": dataset} if isinstance(dataset, datasets.Dataset) else dict(dataset)
    unknown = sorted(set(splits) - set(_KLUE_HUB_SPLITS))
    if unknown or not splits:
        raise ValueError(
            f"dataset: expected klue/klue's ner splits {sorted(_KLUE_HUB_SPLITS)}, received {sorted(splits) or 'none'}"
        )
    fingerprint = "-".join(f"{split}{splits[split]._fingerprint}" for split in sorted(splits))
    folder = Path(parent) / hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        missing = {"sentence", "tokens", "ner_tags"} - set(rows.column_names)
        if missing:
            raise ValueError(
                f"dataset[{split!r}]: expected the columns sentence, tokens, ner_tags of klue/klue (ner); "
                f"missing {sorted(missing)}"
            )
        names = rows.features["ner_tags"].feature.names
        part, id_part = _KLUE_HUB_SPLITS[split]
        path = folder / KLUE_FILE_PATTERNS[part].replace("*", "")
        if not path.exists():
            sentences = (
                (
                    f"klue-ner-v1_{id_part}_{index:05d}",
                    row["sentence"],
                    row["tokens"],
                    [names[t] for t in row["ner_tags"]],
                )
                for index, row in enumerate(rows)
            )
            write_klue(path.with_suffix(".partial"), sentences).rename(path)
    return folder


def export_to_parquet(
    dataset_dict: datasets.DatasetDict,
    output_dir: PathLike,
    *,
    dataset_name: str,
    license: str,
    description: str = "",
) -> Path:
    """Writes ``data/<split>-00000-of-00001.parquet`` per split and a ``README.md`` dataset
    card whose YAML declares the data files and the features (with the label names), so that
    ``datasets.load_dataset(output_dir)`` or the Hub load it back as it was.

    Args:
        dataset_dict: splits with identical features, e.g. from ``load_korean_ner``.
        output_dir: created if needed; existing files of the same names are overwritten.
        dataset_name: the card's title.
        license: a Hub licence identifier, e.g. ``"cc-by-4.0"``, or ``"other"``.
        description: free text for the card, e.g. the source and the licence terms.

    Returns:
        ``output_dir`` as a ``Path``.
    """
    features = _shared_features(dataset_dict)
    output_dir = Path(output_dir)
    (output_dir / "data").mkdir(parents=True, exist_ok=True)
    for split, dataset in dataset_dict.items():
        dataset.to_parquet(str(output_dir / "data" / f"{split}-00000-of-00001.parquet"))

    card_data = DatasetCardData(
        pretty_name=dataset_name,
        license=license,
        language=["ko"],
        task_categories=["token-classification"],
        task_ids=["named-entity-recognition", "part-of-speech"],
    )
    splits = datasets.SplitDict()
    for split, dataset in dataset_dict.items():
        splits.add(datasets.SplitInfo(name=split, num_bytes=dataset.data.nbytes, num_examples=dataset.num_rows))
    DatasetInfosDict({"default": datasets.DatasetInfo(features=features, splits=splits)}).to_dataset_card_data(
        card_data
    )
    data_files = [{"split": split, "path": f"data/{split}-*"} for split in dataset_dict]
    MetadataConfigs({"default": {"data_files": data_files}}).to_dataset_card_data(card_data)

    card_path = output_dir / "README.md"
    card_path.write_text(
        f"---\n{card_data.to_yaml()}\n---\n\n{_card_body(dataset_dict, features, dataset_name, license, description)}",
        encoding="utf-8",
    )
    return output_dir


def _shared_features(dataset_dict: datasets.DatasetDict) -> datasets.Features:
    if not dataset_dict:
        raise ValueError("dataset_dict has no split to export")
    splits = iter(dataset_dict.items())
    first_split, first = next(splits)
    for split, dataset in splits:
        if dataset.features != first.features:
            raise ValueError(
                f"Split {split!r} has features {dataset.features}, unlike split {first_split!r}: {first.features}"
            )
    return first.features


def _card_body(
    dataset_dict: datasets.DatasetDict,
    features: datasets.Features,
    dataset_name: str,
    license: str,
    description: str,
) -> str:
    sizes = "\n".join(
        f"| {split} | {dataset.num_rows:,} | {sum(map(len, dataset['tokens'])):,} |"
        for split, dataset in dataset_dict.items()
    )
    label_lists = "\n".join(
        f"- `{column}`: {', '.join(f'`{name}`' for name in features[column].feature.names)}"
        for column in ("ner_tags", "pos_tags")
    )
    return f"""# {dataset_name}

{description}

Korean named-entity recognition at the morpheme level, with part-of-speech tags.

## Splits

| split | sentences | morphemes |
| --- | ---: | ---: |
{sizes}

## Fields

- `id`: position of the sentence in its split.
- `tokens`: the morphemes of the sentence.
- `pos_tags`: the POS tag of each morpheme (class label ids).
- `ner_tags`: the NER tag of each morpheme, IOB2 (class label ids).
- `word_ids`: the 0-based index of the eojeol (space-separated word of `text`) that each
  morpheme belongs to; `-1` at every position when the source gives no eojeol index.
- `text`: the raw sentence; empty when the source does not give it.
- `entity_spans`: the gold entities as character spans of `text` (`start`, `end` exclusive, `type`);
  null where the source gives none.

Label names, in id order:

{label_lists}

## Licence

`{license}`
"""
