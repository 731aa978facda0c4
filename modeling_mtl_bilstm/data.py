"""Loading the Korean NER corpora as a ``datasets.DatasetDict``, and exporting one to Parquet
with a dataset card, ready for ``DatasetDict.push_to_hub`` or ``datasets.load_dataset``."""

import os
from pathlib import Path

import datasets
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCardData

from .data_scripts.korean_ner import KoreanNER


PathLike = str | os.PathLike


def load_korean_ner(
    name: str = "sample",
    data_dir: PathLike | None = None,
    data_files: str | list | dict | None = None,
    errors: str = "raise",
    cache_dir: PathLike | None = None,
    **config_kwargs,
) -> datasets.DatasetDict:
    """Loads a morpheme-level Korean NER corpus with features ``id``, ``tokens``,
    ``pos_tags``, ``ner_tags`` (IOB2), ``word_ids`` and ``text``.

    Args:
        name: ``"sample"`` (the small corpus shipped with the package), ``"klp2016"`` (KLP
            2016 files in ``data_dir``), ``"ner2016"`` (the 2016 competition's train and dev files
            in ``data_dir``: train and validation splits, no eojeol index) or ``"conll"`` (your own
            column files).
        data_dir: a folder with ``train.txt``, ``dev.txt`` (or ``validation.txt``) and
            ``test.txt``; the KLP upstream names ``ner.train``, ``ner.dev``, ``ner.test`` work too.
        data_files: as in ``datasets.load_dataset``: a path or list of paths (train split) or
            a dict split -> path(s).
        errors: ``"raise"`` raises ``CorpusFormatError`` at the first malformed sentence;
            ``"skip"`` drops malformed sentences with one warning that counts them.
        cache_dir: where the prepared dataset is cached (the ``datasets`` cache by default).
            The cache is keyed on the content of the source files, so an edited file is re-read.
        config_kwargs: ``tag_scheme`` (``"auto"``, ``"iob1"``, ``"iob2"``, ``"bioes"``,
            ``"klp"``), ``pos_labels``, ``ner_labels``, ``label_splits``, ``analyzer``
            (``"corpus"``, or ``"kiwi"``: Kiwi's analysis of each raw sentence with the gold
            entities projected onto it) and ``misaligned_entities`` (``"drop"`` or ``"expand"``)
            (see ``KoreanNERConfig``).

    Returns:
        The splits the data has, among ``train``, ``validation``, ``test`` (or the split
        names of ``data_files``).
    """
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

Label names, in id order:

{label_lists}

## Licence

`{license}`
"""
