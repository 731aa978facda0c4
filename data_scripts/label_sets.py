"""The label names of a corpus's tag columns: derived from the data (or supplied) and checked against every split
(``label_names``), and shared by several corpora so that their datasets concatenate (``shared_label_names``).
"""

from collections.abc import Iterable, Mapping, Sequence

import datasets

from . import tag_schemes
from .format_common import Sentence
from .tag_schemes import entity_type, iob2_label_names


class LabelSetError(ValueError):
    """A tag that is not in the label set (derived from the training split, or supplied)."""


def sorted_labels(tags: Iterable[str]) -> list[str]:
    """POS label names: the tags, sorted."""
    return sorted(set(tags))


def iob2_labels(tags: Iterable[str]) -> list[str]:
    """NER label names: the IOB2 labels of the entity types of the tags (``iob2_label_names``)."""
    return iob2_label_names(entity_type(tag) for tag in tags if tag != tag_schemes.OUTSIDE)


def label_names(
    sentences: Mapping[str, list[Sentence]],
    attribute: str,
    supplied: Sequence[str] | None,
    derive,
    label_splits: Sequence[str] | None = None,
) -> list[str]:
    """The label names of one tag column: ``supplied``, or derived by ``derive`` from
    ``label_splits`` (by default the training split, all splits when there is none). Every tag
    must be among them."""
    kind = "POS tag" if attribute == "pos_tags" else "IOB2 NER tag"
    option = attribute.replace("_tags", "_labels")
    if supplied is not None:
        names = list(supplied)
        source = f"the supplied {option}"
    else:
        if label_splits is not None:
            reference_splits = [split for split in label_splits if split in sentences] or list(sentences)
        else:
            reference_splits = ["train"] if "train" in sentences else list(sentences)
        names = derive(
            tag for split in reference_splits for sentence in sentences[split] for tag in getattr(sentence, attribute)
        )
        # Without a train split every split is a reference, and no tag is unknown.
        source = " and ".join(f"the {split!r} split" for split in reference_splits)
    known = set(names)
    for split, split_sentences in sentences.items():
        for sentence in split_sentences:
            for position, tag in enumerate(getattr(sentence, attribute)):
                if tag not in known:
                    line = sentence.lines[position]
                    raise LabelSetError(
                        f"{kind} {tag!r} in the {split!r} split ({sentence.path}, line {line.number}: {line.raw!r}) "
                        f"does not occur in {source}, so it has no label id. "
                        f"Pass {option}=[...] with the full label set to accept it."
                    )
    return names


def shared_label_names(*corpora) -> dict[str, list[str]]:
    """Label names that cover every given corpus, as ``{"pos_labels": [...], "ner_labels": [...]}``:
    load each corpus with them (``load_korean_ner(name, ..., **labels)``) and the datasets have
    identical features, so ``datasets.concatenate_datasets`` accepts them. POS labels are the
    sorted union; NER labels the IOB2 labels of the union of entity types, in the builder's order.

    Args:
        corpora: each a ``datasets.Features``, a ``Dataset`` or a ``DatasetDict`` of the ``KoreanNER`` builder,
            e.g. ``KoreanNER(config_name="ner2016", data_dir=...).info.features``, which reads
            the files without preparing them.
    """
    if not corpora:
        raise ValueError("shared_label_names: expected at least one corpus")
    pos_labels: set[str] = set()
    entity_types: set[str] = set()
    for index, corpus in enumerate(corpora):
        for features in _features_of(corpus, index):
            pos_labels.update(features["pos_tags"].feature.names)
            entity_types.update(
                entity_type(name) for name in features["ner_tags"].feature.names if name != tag_schemes.OUTSIDE
            )
    return {"pos_labels": sorted(pos_labels), "ner_labels": iob2_label_names(entity_types)}


def _features_of(corpus, index: int) -> list[datasets.Features]:
    if isinstance(corpus, datasets.DatasetDict):
        return [dataset.features for dataset in corpus.values()]
    features = corpus.features if isinstance(corpus, datasets.Dataset) else corpus
    if not isinstance(features, datasets.Features) or not {"pos_tags", "ner_tags"} <= set(features):
        raise TypeError(
            f"corpora[{index}]: expected datasets.Features, a Dataset or a DatasetDict with 'pos_tags' and "
            f"'ner_tags' columns; received {type(corpus).__name__}"
        )
    return [features]
