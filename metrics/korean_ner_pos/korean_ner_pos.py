# Copyright 2025 The mtl-bilstm-ner Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Joint NER (strict IOB2 entity F1) and POS (token accuracy) metric for Korean sequence labelling.

The module is standalone so that `evaluate.load("<path to this folder>")` works offline. evaluate
scans this file's import lines to find its dependencies, hence one `import` statement per line.
"""

import itertools
import operator
import warnings

import datasets
import evaluate
from seqeval.metrics.v1 import precision_recall_fscore_support
from seqeval.scheme import IOB2, Entities


_CITATION = """\
@inproceedings{ramshaw-marcus-1995-text,
    title = "Text Chunking using Transformation-Based Learning",
    author = "Ramshaw, Lance and Marcus, Mitch",
    booktitle = "Third Workshop on Very Large Corpora",
    year = "1995",
    url = "https://www.aclweb.org/anthology/W95-0107",
}
@misc{seqeval,
    title = {{seqeval}: A Python framework for sequence labeling evaluation},
    url = {https://github.com/chakki-works/seqeval},
    author = {Hiroki Nakayama},
    year = {2018},
}
"""

_DESCRIPTION = """\
Scores the two outputs of a multi-task Korean tagger in one call. Named-entity recognition is
scored at the entity level with seqeval in strict IOB2 mode (an entity counts only when its type
and both boundaries match, and an `I-` tag that does not continue a span starts no entity),
overall (micro average) and per entity type, plus token accuracy. Part-of-speech tagging is
scored by token accuracy. Either task may be left out. Tags may be strings or integer ids with
their label names; positions whose reference id is -100 are not scored. NER tags may be given in
IOB2, IOB1, BIOES or the KLP 2016 corpus style (`B_PS`, a bare `I`, `O`); all are converted to
IOB2 before scoring.
"""

_KWARGS_DESCRIPTION = """
Args:
    ner_predictions (`list` of `list` of `str` or `int`, *optional*): predicted NER tags, one
        sequence per sentence.
    ner_references (`list` of `list` of `str` or `int`, *optional*): gold NER tags. Required
        together with `ner_predictions`.
    pos_predictions (`list` of `list` of `str` or `int`, *optional*): predicted POS tags.
    pos_references (`list` of `list` of `str` or `int`, *optional*): gold POS tags. Required
        together with `pos_predictions`.
    ner_label_names (`list` of `str`, *optional*): NER tag name of each id, required when NER
        tags are integer ids.
    pos_label_names (`list` of `str`, *optional*): POS tag name of each id, required when POS
        tags are integer ids.
    ner_tag_format (`str`, defaults to `"iob2"`): scheme of the NER tag names: `"iob2"`,
        `"iob1"`, `"bioes"` or `"klp"` (`B_<TYPE>`, a bare `I` continuing the open span, `O`).

    At least one sentence must be given (an empty list raises a `ValueError`), and for each task
    at least one reference position must remain once -100 positions are dropped (else a
    `ValueError` says there are no tokens to score): empty input has no meaningful score.

    A position whose reference is the id -100 is dropped, and so is the prediction there.
    Predictions may cover every reference position or only the positions kept after dropping
    (as a CRF decoder returns them). Positions named in error messages count the kept tags.

Returns:
    With NER inputs:
        ner_precision, ner_recall, ner_f1 (`float`): micro-averaged entity scores.
        ner_accuracy (`float`): token accuracy of the IOB2 tags.
        ner_<TYPE>_precision, ner_<TYPE>_recall, ner_<TYPE>_f1 (`float`), ner_<TYPE>_number
        (`int`, number of gold entities): for each entity type found in the references or the
        predictions.
    With POS inputs:
        pos_accuracy (`float`): token accuracy.

Examples:
    >>> metric = evaluate.load("metrics/korean_ner_pos")
    >>> results = metric.compute(
    ...     ner_predictions=[["B-PS", "I-PS", "O", "B-LC"]],
    ...     ner_references=[["B-PS", "I-PS", "O", "B-OG"]],
    ...     pos_predictions=[["NNP", "NNP", "JKS", "NNG"]],
    ...     pos_references=[["NNP", "NNP", "JKS", "NNP"]],
    ... )
    >>> results["ner_f1"], results["ner_PS_f1"], results["pos_accuracy"]
    (0.5, 1.0, 0.75)
"""

# The package's `tags_mtl_bilstm.IGNORE_INDEX`, repeated: evaluate loads this file on its own (by path, or from the
# Hub where the package may not be installed) and copies only the modules beside it, so it cannot import it.
IGNORE_INDEX = -100
"""Reference id of positions that are not scored (sub-word continuations, padding)."""
METRIC_NAME = "korean_ner_pos"

INPUT_NAMES = ("ner_predictions", "ner_references", "pos_predictions", "pos_references")

# ner_tag_format -> (delimiter between prefix and entity type, prefixes that carry a type,
# description of a well-formed tag for error messages).
_TAG_FORMATS = {
    "iob2": ("-", ("B", "I"), "O, B-<TYPE> or I-<TYPE>"),
    "iob1": ("-", ("B", "I"), "O, B-<TYPE> or I-<TYPE>"),
    "bioes": ("-", ("B", "I", "E", "S"), "O, B-<TYPE>, I-<TYPE>, E-<TYPE> or S-<TYPE>"),
    "klp": ("_", ("B",), "O, B_<TYPE> or a bare I"),
}


def _label_id(tag):
    """The integer id `tag` stands for, or None when `tag` is already a tag name."""
    if isinstance(tag, str):
        return None
    try:
        return operator.index(tag)
    except TypeError:
        raise TypeError(f"Tags must be strings or integer ids, got {tag!r} ({type(tag).__name__}).") from None


def _drop_ignored_positions(predictions, references, task):
    """Pairs each sentence's predicted and reference tags, without the positions labelled -100."""
    if len(predictions) != len(references):
        raise ValueError(
            f"Got {len(predictions)} sentences in {task}_predictions but {len(references)} in {task}_references."
        )
    for sentence_index, (predicted, reference) in enumerate(zip(predictions, references)):
        predicted, reference = list(predicted), list(reference)
        kept = [position for position, tag in enumerate(reference) if _label_id(tag) != IGNORE_INDEX]
        # Predictions aligned with every reference position lose the ignored ones too; shorter
        # predictions (a CRF decoder's output) must already match the kept positions.
        if len(predicted) == len(reference):
            predicted = [predicted[position] for position in kept]
        reference = [reference[position] for position in kept]
        if len(predicted) != len(reference):
            raise ValueError(
                f"{task} sentence {sentence_index}: {len(predicted)} predicted tags but {len(reference)} "
                f"reference tags after dropping the positions labelled {IGNORE_INDEX}."
            )
        yield sentence_index, predicted, reference


def _tag_names(tags, label_names, task, where):
    """Maps the integer ids among `tags` to their names in `label_names`."""
    names = []
    for position, tag in enumerate(tags):
        label_id = _label_id(tag)
        if label_id is None:
            names.append(tag)
            continue
        if label_names is None:
            raise ValueError(f"{where}: tags are integer ids; pass {task}_label_names (id -> tag name) to compute.")
        if not 0 <= label_id < len(label_names):
            raise ValueError(
                f"{where}, position {position}: label id {label_id} is outside the range 0..{len(label_names) - 1} "
                f"of {task}_label_names."
            )
        names.append(label_names[label_id])
    return names


def _parse_ner_tag(tag, tag_format, where):
    """Splits a tag into (prefix, entity type); the type is None for `O` and a KLP bare `I`."""
    delimiter, typed_prefixes, expected = _TAG_FORMATS[tag_format]
    if tag == "O" or (tag_format == "klp" and tag == "I"):
        return tag, None
    prefix, separator, entity_type = tag.partition(delimiter)
    if prefix not in typed_prefixes or not separator or not entity_type:
        raise ValueError(f"{where}: expected {expected} (ner_tag_format={tag_format!r}), got {tag!r}.")
    return prefix, entity_type


def _to_iob2(tags, tag_format, where):
    """Rewrites one sentence's NER tags from `tag_format` into IOB2."""
    iob2_tags = []
    open_type = None  # type of the span the previous tag belongs to, None after O
    for position, tag in enumerate(tags):
        prefix, entity_type = _parse_ner_tag(tag, tag_format, f"{where}, position {position}")
        if prefix == "O":
            iob2_tags.append("O")
            open_type = None
            continue
        if entity_type is None:  # KLP bare I: the type is the open span's
            if open_type is None:
                raise ValueError(
                    f"{where}, position {position}: a bare 'I' must continue an entity opened by B_<TYPE>, "
                    f"but no entity is open here."
                )
            entity_type = open_type
        # S (BIOES) is a one-token span; IOB1 starts a span with I unless it continues one of its type.
        begins = prefix in ("B", "S") or (tag_format == "iob1" and entity_type != open_type)
        iob2_tags.append(f"{'B' if begins else 'I'}-{entity_type}")
        open_type = entity_type
    return iob2_tags


def _token_accuracy(predictions, references, task):
    total = sum(len(reference) for reference in references)
    if total == 0:
        raise ValueError(f"{task}: there are no tokens to score (every reference is empty or {IGNORE_INDEX}).")
    correct = sum(
        predicted_tag == reference_tag
        for predicted, reference in zip(predictions, references)
        for predicted_tag, reference_tag in zip(predicted, reference)
    )
    return correct / total


def _ner_scores(predictions, references, label_names, tag_format):
    predicted_tags, reference_tags = [], []
    for sentence_index, predicted, reference in _drop_ignored_positions(predictions, references, "ner"):
        for role, tags, converted in (
            ("ner_predictions", predicted, predicted_tags),
            ("ner_references", reference, reference_tags),
        ):
            where = f"{role} sentence {sentence_index}"
            converted.append(_to_iob2(_tag_names(tags, label_names, "ner", where), tag_format, where))

    # This is what seqeval.metrics.classification_report(mode="strict", scheme=IOB2) runs, without
    # its macro average, which warns and returns NaN when there are no entities at all.
    reference_entities = Entities(reference_tags, IOB2)
    predicted_entities = Entities(predicted_tags, IOB2)
    entity_types = sorted(reference_entities.unique_tags | predicted_entities.unique_tags)
    strict_iob2 = {
        "scheme": IOB2,
        "zero_division": 0,
        "entities_true": reference_entities,
        "entities_pred": predicted_entities,
    }
    precision, recall, f1, _ = precision_recall_fscore_support(
        reference_tags, predicted_tags, average="micro", **strict_iob2
    )
    scores = {
        "ner_precision": float(precision),
        "ner_recall": float(recall),
        "ner_f1": float(f1),
        "ner_accuracy": _token_accuracy(predicted_tags, reference_tags, "ner"),
    }
    per_type = precision_recall_fscore_support(reference_tags, predicted_tags, average=None, **strict_iob2)
    for entity_type, type_precision, type_recall, type_f1, support in zip(entity_types, *per_type):
        scores[f"ner_{entity_type}_precision"] = float(type_precision)
        scores[f"ner_{entity_type}_recall"] = float(type_recall)
        scores[f"ner_{entity_type}_f1"] = float(type_f1)
        scores[f"ner_{entity_type}_number"] = int(support)
    return scores


def _pos_scores(predictions, references, label_names):
    predicted_tags, reference_tags = [], []
    for sentence_index, predicted, reference in _drop_ignored_positions(predictions, references, "pos"):
        predicted_tags.append(_tag_names(predicted, label_names, "pos", f"pos_predictions sentence {sentence_index}"))
        reference_tags.append(_tag_names(reference, label_names, "pos", f"pos_references sentence {sentence_index}"))
    return {"pos_accuracy": _token_accuracy(predicted_tags, reference_tags, "pos")}


def _task_given(predictions, references, task):
    if (predictions is None) != (references is None):
        given, missing = ("predictions", "references") if references is None else ("references", "predictions")
        raise ValueError(f"{task}_{given} was given without {task}_{missing}.")
    return predictions is not None


def compute_scores(
    ner_predictions=None,
    ner_references=None,
    pos_predictions=None,
    pos_references=None,
    *,
    ner_label_names=None,
    pos_label_names=None,
    ner_tag_format="iob2",
):
    """Scores NER and/or POS tag sequences; see `_KWARGS_DESCRIPTION` for arguments and results."""
    if ner_tag_format not in _TAG_FORMATS:
        raise ValueError(f"ner_tag_format must be one of {sorted(_TAG_FORMATS)}, got {ner_tag_format!r}.")
    score_ner = _task_given(ner_predictions, ner_references, "ner")
    score_pos = _task_given(pos_predictions, pos_references, "pos")
    if not (score_ner or score_pos):
        raise ValueError(
            "Nothing to score: pass ner_predictions/ner_references, pos_predictions/pos_references or both."
        )
    scores = {}
    if score_ner:
        scores.update(_ner_scores(ner_predictions, ner_references, ner_label_names, ner_tag_format))
    if score_pos:
        scores.update(_pos_scores(pos_predictions, pos_references, pos_label_names))
    return scores


def _input_features():
    """One schema per combination of tag names and ids across the two tasks.

    evaluate keeps the first schema that encodes the first example of the first batch, and names
    the inputs after the first schema's keys, which are the same in all of them.
    """
    tag_kinds = (datasets.Value("string"), datasets.Value("int64"))
    return [
        datasets.Features(
            {
                "ner_predictions": datasets.List(ner_tag),
                "ner_references": datasets.List(ner_tag),
                "pos_predictions": datasets.List(pos_tag),
                "pos_references": datasets.List(pos_tag),
            }
        )
        for ner_tag, pos_tag in itertools.product(tag_kinds, repeat=2)
    ]


def _reject_generic_inputs(predictions, references):
    if predictions is not None or references is not None:
        raise ValueError(f"This metric takes the inputs {', '.join(INPUT_NAMES)}, not predictions/references.")


def _stored_input(column, name):
    """A stored input column, or None for a task that no batch gave."""
    missing = sum(value is None for value in column)
    if missing == len(column):
        return None
    if missing:
        raise ValueError(f"{name} was given for some batches but not for others.")
    return column


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class KoreanNERPOS(evaluate.Metric):
    """The `korean_ner_pos` metric, named like the `KoreanNER` dataset builder whose tags it scores."""

    @property
    def name(self) -> str:
        # evaluate names a module after its class in snake case (here `korean_nerpos`): keep the folder's name, which
        # names its cache folder and its keys in `evaluate.combine`.
        return METRIC_NAME

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=_input_features(),
            codebase_urls=["https://github.com/chakki-works/seqeval"],
            reference_urls=["https://github.com/kmounlp/NER"],
        )

    # evaluate stores all inputs as equal-length columns of one Arrow table and looks up every
    # input name, so a task left out is stored as nulls and turned back into None in `_compute`.
    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Adds a batch of sentences for NER, POS or both (give the same tasks in every batch)."""
        _reject_generic_inputs(predictions, references)
        given = {name: value for name, value in kwargs.items() if value is not None}
        if not given:
            raise ValueError(f"add_batch needs some of {', '.join(INPUT_NAMES)}.")
        batch_size = len(next(iter(given.values())))
        if batch_size == 0:
            raise ValueError(
                f"add_batch: expected at least one sentence in {', '.join(given)}, received empty lists: "
                "there is nothing to score."
            )
        return super().add_batch(**{**dict.fromkeys(INPUT_NAMES, [None] * batch_size), **given})

    def add(self, *, prediction=None, reference=None, **kwargs):
        """Adds one sentence for NER, POS or both, each input being that sentence's tag sequence."""
        _reject_generic_inputs(prediction, reference)
        return super().add(**{**dict.fromkeys(INPUT_NAMES), **kwargs})

    def _infer_feature_from_batch(self, batch):
        # evaluate picks the schema from each column's first sentence, which cannot tell tag
        # names from ids when it is empty; look at the first non-empty sentence instead.
        example = {
            name: next((sentence for sentence in column if sentence is not None and len(sentence) > 0), column[0])
            for name, column in batch.items()
        }
        return self._infer_feature_from_example(example)

    def _compute(
        self,
        ner_predictions,
        ner_references,
        pos_predictions,
        pos_references,
        ner_label_names=None,
        pos_label_names=None,
        ner_tag_format="iob2",
    ):
        return compute_scores(
            ner_predictions=_stored_input(ner_predictions, "ner_predictions"),
            ner_references=_stored_input(ner_references, "ner_references"),
            pos_predictions=_stored_input(pos_predictions, "pos_predictions"),
            pos_references=_stored_input(pos_references, "pos_references"),
            ner_label_names=ner_label_names,
            pos_label_names=pos_label_names,
            ner_tag_format=ner_tag_format,
        )


def __getattr__(name):
    # The class's former name, kept for one release; not in the module's namespace, so that evaluate, which takes the
    # first metric class it finds there, loads `KoreanNERPOS`.
    if name == "KoreanNerPos":
        warnings.warn(
            "KoreanNerPos is deprecated and will be removed in the next release: use KoreanNERPOS.",
            FutureWarning,
            stacklevel=2,
        )
        return KoreanNERPOS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
