"""Tests of the `korean_ner_pos` evaluate metric, with hand-computed expected scores."""

import importlib.util
import itertools
import json
import os
import warnings
from pathlib import Path

import pytest


# huggingface_hub and evaluate read these when first imported, so set them before that import.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_EVALUATE_OFFLINE"] = "1"

import evaluate  # noqa: E402


METRIC_DIR = Path(__file__).resolve().parents[1] / "metrics" / "korean_ner_pos"


def _import_metric_module():
    spec = importlib.util.spec_from_file_location("korean_ner_pos", METRIC_DIR / "korean_ner_pos.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


korean_ner_pos = _import_metric_module()
compute_scores = korean_ner_pos.compute_scores


@pytest.fixture
def metric(tmp_path):
    return evaluate.load(str(METRIC_DIR), cache_dir=str(tmp_path))


def _perfect_type(number):
    return {"precision": 1.0, "recall": 1.0, "f1": 1.0, "number": number}


def _expected(overall, accuracy, per_type):
    """The metric's NER output from (precision, recall, f1), accuracy and {type: scores}."""
    precision, recall, f1 = overall
    expected = {"ner_precision": precision, "ner_recall": recall, "ner_f1": f1, "ner_accuracy": accuracy}
    for entity_type, scores in per_type.items():
        expected.update({f"ner_{entity_type}_{name}": value for name, value in scores.items()})
    return expected


# Gold: s0 PS[0,2) LC[3,4) PS[5,6); s1 OG[0,3) LC[4,6); s2 none.
MIXED_REFERENCES = [
    ["B-PS", "I-PS", "O", "B-LC", "O", "B-PS"],
    ["B-OG", "I-OG", "I-OG", "O", "B-LC", "I-LC"],
    ["O", "O"],
]
# Predicted: s0 PS[0,2) (hit) LC[3,4) (hit), misses PS[5,6); s1 OG[0,2) (boundary error)
# DT[3,4) (spurious) LC[4,6) (hit); s2 PS[0,1) (spurious).
MIXED_PREDICTIONS = [
    ["B-PS", "I-PS", "O", "B-LC", "O", "O"],
    ["B-OG", "I-OG", "O", "B-DT", "B-LC", "I-LC"],
    ["B-PS", "O"],
]
# Per type (hits / predicted, hits / gold):
#   DT: 0/1, 0/0 -> P 0, R 0 (zero division), F 0, 0 gold
#   LC: 2/2, 2/2 -> 1, 1, 1, 2 gold
#   OG: 0/1, 0/1 -> 0, 0, 0, 1 gold
#   PS: 1/2, 1/2 -> P 1/2, R 1/2, F 2 * (1/4) / 1 = 1/2, 2 gold
# Micro: 3 hits, 6 predicted, 5 gold -> P 3/6 = 1/2, R 3/5, F 2 * (1/2) * (3/5) / (1/2 + 3/5) = 6/11.
# Tokens: s0 5/6 right (position 5), s1 4/6 (positions 2, 3), s2 1/2 (position 0) -> 10/14 = 5/7.
MIXED_EXPECTED = _expected(
    (1 / 2, 3 / 5, 6 / 11),
    5 / 7,
    {
        "DT": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "number": 0},
        "LC": _perfect_type(2),
        "OG": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "number": 1},
        "PS": {"precision": 1 / 2, "recall": 1 / 2, "f1": 1 / 2, "number": 2},
    },
)

# 4 of 6 tags right (EF/EP and NNG/NNP wrong) -> 2/3.
POS_PREDICTIONS = [["NNP", "JKS", "VV", "EF"], ["NNG", "SF"]]
POS_REFERENCES = [["NNP", "JKS", "VV", "EP"], ["NNP", "SF"]]


def test_perfect_match(metric):
    references = [["B-PS", "I-PS", "O", "B-LC"], ["O", "B-OG", "I-OG"]]
    results = metric.compute(ner_predictions=references, ner_references=references)
    assert results == _expected(
        (1.0, 1.0, 1.0), 1.0, {"LC": _perfect_type(1), "OG": _perfect_type(1), "PS": _perfect_type(1)}
    )


def test_type_confusion_scores_no_entity(metric):
    # Right span, wrong type: PS is missed (recall 0/1) and OG is spurious (precision 0/1).
    results = metric.compute(ner_predictions=[["B-OG", "I-OG", "O"]], ner_references=[["B-PS", "I-PS", "O"]])
    assert results == _expected(
        (0.0, 0.0, 0.0),
        1 / 3,
        {
            "OG": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "number": 0},
            "PS": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "number": 1},
        },
    )


def test_span_opened_by_i_is_no_entity_in_strict_mode(metric):
    # seqeval's default (conlleval) mode reads I-PS I-PS as the gold person; strict IOB2 finds
    # no predicted entity at all, so precision is 0/0 -> 0 and recall 0/1.
    results = metric.compute(ner_predictions=[["I-PS", "I-PS", "O"]], ner_references=[["B-PS", "I-PS", "O"]])
    assert results == _expected(
        (0.0, 0.0, 0.0), 2 / 3, {"PS": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "number": 1}}
    )


def test_boundary_error_is_a_miss_and_a_false_alarm(metric):
    # Predicted PS[0,2) against gold PS[0,3): precision 0/1, recall 0/1; 3 of 4 tags right.
    results = metric.compute(
        ner_predictions=[["B-PS", "I-PS", "O", "O"]], ner_references=[["B-PS", "I-PS", "I-PS", "O"]]
    )
    assert results == _expected(
        (0.0, 0.0, 0.0), 3 / 4, {"PS": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "number": 1}}
    )


def test_per_type_and_micro_scores(metric):
    results = metric.compute(ner_predictions=MIXED_PREDICTIONS, ner_references=MIXED_REFERENCES)
    assert results == pytest.approx(MIXED_EXPECTED, rel=1e-12, abs=0)
    assert list(results) == list(MIXED_EXPECTED)


def test_results_are_plain_python_numbers():
    results = compute_scores(MIXED_PREDICTIONS, MIXED_REFERENCES, POS_PREDICTIONS, POS_REFERENCES)
    for key, value in results.items():
        assert type(value) is (int if key.endswith("_number") else float), key
        assert 0 <= value <= (2 if key.endswith("_number") else 1), key
    assert json.loads(json.dumps(results)) == results


def test_no_predicted_entities_scores_zero_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        missed = compute_scores([["O", "O", "O"]], [["B-PS", "I-PS", "O"]])
        no_entities = compute_scores([["O", "O"]], [["O", "O"]])
    assert missed == _expected(
        (0.0, 0.0, 0.0), 1 / 3, {"PS": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "number": 1}}
    )
    assert no_entities == _expected((0.0, 0.0, 0.0), 1.0, {})


def test_ignored_positions_are_dropped_with_their_predictions(metric):
    label_names = ["O", "B-PS", "I-PS", "B-LC", "I-LC"]
    # [CLS] 홍 길동 ##씨 는 서울 [SEP]: only the first sub-word of each morpheme is labelled.
    references = [[-100, 1, 2, -100, 0, 3, -100]]
    # The predictions at the ignored positions would add a spurious LC at position 0 if scored.
    predictions = [[3, 1, 2, 4, 0, 3, 0]]
    expected = _expected((1.0, 1.0, 1.0), 1.0, {"LC": _perfect_type(1), "PS": _perfect_type(1)})

    results = metric.compute(ner_predictions=predictions, ner_references=references, ner_label_names=label_names)
    assert results == expected
    # A CRF decoder returns tags for the kept positions only.
    crf_predictions = [[1, 2, 0, 3]]
    assert compute_scores(crf_predictions, references, ner_label_names=label_names) == expected
    assert compute_scores([["B-PS", "I-PS", "O", "B-LC"]], [["B-PS", "I-PS", "O", "B-LC"]]) == expected


def test_klp_tags_score_like_their_iob2_equivalent(metric):
    klp_references = [["B_PS", "I", "I", "O", "B_LC", "I"], ["B_DT", "I", "B_DT", "O"]]
    klp_predictions = [["B_PS", "I", "O", "O", "B_LC", "I"], ["B_DT", "I", "I", "O"]]
    iob2_references = [["B-PS", "I-PS", "I-PS", "O", "B-LC", "I-LC"], ["B-DT", "I-DT", "B-DT", "O"]]
    iob2_predictions = [["B-PS", "I-PS", "O", "O", "B-LC", "I-LC"], ["B-DT", "I-DT", "I-DT", "O"]]

    klp_results = metric.compute(ner_predictions=klp_predictions, ner_references=klp_references, ner_tag_format="klp")
    iob2_results = metric.compute(ner_predictions=iob2_predictions, ner_references=iob2_references)
    assert klp_results == iob2_results
    # Only LC is found exactly: 1 hit of 3 predicted and 4 gold entities; 8 of 10 tags right.
    assert klp_results["ner_precision"] == 1 / 3
    assert klp_results["ner_recall"] == 1 / 4
    assert klp_results["ner_DT_number"] == 2
    assert klp_results["ner_accuracy"] == 8 / 10


@pytest.mark.parametrize(
    "tag_format, tags, iob2_tags",
    [
        ("klp", ["B_PS", "I", "B_PS", "O", "B_LC", "I", "I"], ["B-PS", "I-PS", "B-PS", "O", "B-LC", "I-LC", "I-LC"]),
        ("iob1", ["I-PS", "I-PS", "B-PS", "O", "I-LC", "I-OG"], ["B-PS", "I-PS", "B-PS", "O", "B-LC", "B-OG"]),
        (
            "bioes",
            ["B-PS", "E-PS", "S-LC", "O", "B-OG", "I-OG", "E-OG"],
            ["B-PS", "I-PS", "B-LC", "O", "B-OG", "I-OG", "I-OG"],
        ),
        ("iob2", ["B-PS", "I-PS", "O", "I-LC"], ["B-PS", "I-PS", "O", "I-LC"]),
    ],
)
def test_tag_format_conversion(tag_format, tags, iob2_tags):
    assert korean_ner_pos._to_iob2(tags, tag_format, "sentence 0") == iob2_tags


def test_bare_i_without_open_span_is_an_error(metric):
    with pytest.raises(ValueError, match=r"ner_references sentence 1, position 1: a bare 'I' must continue"):
        metric.compute(
            ner_predictions=[["B_PS", "I"], ["O", "O", "O"]],
            ner_references=[["B_PS", "I"], ["O", "I", "O"]],
            ner_tag_format="klp",
        )


@pytest.mark.parametrize(
    "tag, tag_format",
    [("X-PS", "iob2"), ("PS", "iob2"), ("BI-PS", "iob2"), ("B-", "iob2"), ("E-PS", "iob2"), ("B-PS", "klp")],
)
def test_malformed_ner_tag_is_an_error(tag, tag_format):
    with pytest.raises(ValueError, match=rf"ner_predictions sentence 0, position 1: expected .*got '{tag}'"):
        compute_scores([["O", tag]], [["O", "O"]], ner_tag_format=tag_format)


def test_pos_accuracy(metric):
    assert metric.compute(pos_predictions=POS_PREDICTIONS, pos_references=POS_REFERENCES) == {"pos_accuracy": 2 / 3}
    # Ids: the -100 position is dropped; 2 of the 3 kept tags are right.
    ids_results = metric.compute(
        pos_predictions=[[0, 1, 2, 2]], pos_references=[[0, -100, 1, 2]], pos_label_names=["NNG", "JKS", "VV"]
    )
    assert ids_results == {"pos_accuracy": 2 / 3}


def test_add_batch_twice_equals_one_compute(metric):
    metric.add_batch(
        ner_predictions=MIXED_PREDICTIONS[:1],
        ner_references=MIXED_REFERENCES[:1],
        pos_predictions=POS_PREDICTIONS[:1],
        pos_references=POS_REFERENCES[:1],
    )
    metric.add_batch(
        ner_predictions=MIXED_PREDICTIONS[1:2],
        ner_references=MIXED_REFERENCES[1:2],
        pos_predictions=POS_PREDICTIONS[1:],
        pos_references=POS_REFERENCES[1:],
    )
    batched = metric.compute()
    whole = metric.compute(
        ner_predictions=MIXED_PREDICTIONS[:2],
        ner_references=MIXED_REFERENCES[:2],
        pos_predictions=POS_PREDICTIONS,
        pos_references=POS_REFERENCES,
    )
    assert batched == whole
    assert batched["pos_accuracy"] == 2 / 3


def test_ner_only_and_pos_only_batches(metric):
    metric.add_batch(ner_predictions=MIXED_PREDICTIONS[:2], ner_references=MIXED_REFERENCES[:2])
    metric.add_batch(ner_predictions=MIXED_PREDICTIONS[2:], ner_references=MIXED_REFERENCES[2:])
    assert metric.compute() == pytest.approx(MIXED_EXPECTED, rel=1e-12, abs=0)

    metric.add_batch(pos_predictions=POS_PREDICTIONS[:1], pos_references=POS_REFERENCES[:1])
    metric.add_batch(pos_predictions=POS_PREDICTIONS[1:], pos_references=POS_REFERENCES[1:])
    assert metric.compute() == {"pos_accuracy": 2 / 3}


def test_add_one_sentence_at_a_time(metric):
    for predicted, reference in zip(POS_PREDICTIONS, POS_REFERENCES):
        metric.add(pos_predictions=predicted, pos_references=reference)
    assert metric.compute() == {"pos_accuracy": 2 / 3}


def test_empty_first_sentence_keeps_ids_as_ids(metric):
    metric.add_batch(pos_predictions=[[], [0, 1]], pos_references=[[], [0, -100]])
    assert metric.compute(pos_label_names=["NNG", "JKS"]) == {"pos_accuracy": 1.0}


def test_length_mismatch_names_sentence_and_lengths(metric):
    with pytest.raises(ValueError, match=r"ner sentence 1: 3 predicted tags but 2 reference tags"):
        metric.compute(ner_predictions=[["O", "O"], ["O", "B-PS", "O"]], ner_references=[["O", "O"], ["O", "B-PS"]])
    with pytest.raises(ValueError, match=r"pos sentence 0: 1 predicted tags but 2 reference tags"):
        compute_scores(pos_predictions=[[0]], pos_references=[[0, -100, 1]], pos_label_names=["NNG", "JKS"])


def test_task_given_in_some_batches_only_is_an_error(metric):
    metric.add_batch(ner_predictions=[["O"]], ner_references=[["O"]])
    metric.add_batch(
        ner_predictions=[["O"]], ner_references=[["O"]], pos_predictions=[["NNG"]], pos_references=[["NNG"]]
    )
    with pytest.raises(ValueError, match="pos_predictions was given for some batches but not for others"):
        metric.compute()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ner_predictions": [["O"]]}, "ner_predictions was given without ner_references"),
        ({}, "Nothing to score"),
        ({"ner_predictions": [[0]], "ner_references": [[0]]}, "pass ner_label_names"),
        (
            {"ner_predictions": [[0, 5]], "ner_references": [[0, 0]], "ner_label_names": ["O", "B-PS"]},
            r"ner_predictions sentence 0, position 1: label id 5 is outside the range 0..1",
        ),
        ({"pos_predictions": [["NNG"]], "pos_references": [["NNG"], ["SF"]]}, "1 sentences in pos_predictions but 2"),
        ({"ner_predictions": [["O"]], "ner_references": [["O"]], "ner_tag_format": "bio"}, "ner_tag_format must be"),
    ],
)
def test_bad_arguments_are_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        compute_scores(**kwargs)


def test_generic_input_names_are_rejected(metric):
    with pytest.raises(ValueError, match="not predictions/references"):
        metric.add_batch(predictions=[["O"]], references=[["O"]])


@pytest.mark.parametrize("empty", [[], [[]]])
def test_empty_input_is_a_clear_error(metric, empty):
    with pytest.raises(ValueError, match="at least one sentence|no tokens to score"):
        metric.compute(ner_predictions=empty, ner_references=empty)


@pytest.mark.parametrize("scheme", ["iob1", "iob2", "bioes", "klp"])
def test_iob2_conversion_agrees_with_the_corpus_reader_on_every_valid_sequence(scheme):
    """The metric is standalone for `evaluate`, so it converts tags with its own code: on every sequence (up to
    four tags, two entity types) that data_scripts/tag_schemes.py accepts, both give the same IOB2 tags."""
    from modeling_mtl_bilstm.data_scripts import tag_schemes

    prefixes = {"iob1": "BI", "iob2": "BI", "bioes": "BIES", "klp": "B"}[scheme]
    separator = "_" if scheme == "klp" else "-"
    alphabet = [
        "O",
        *(f"{p}{separator}{t}" for p in prefixes for t in ("PS", "LC")),
        *(["I"] if scheme == "klp" else []),
    ]
    checked = 0
    for length in range(1, 5):
        for tags in itertools.product(alphabet, repeat=length):
            try:
                expected = tag_schemes.to_iob2(list(tags), scheme)
            except tag_schemes.TagSequenceError:
                continue
            assert korean_ner_pos._to_iob2(list(tags), scheme, "test") == expected, tags
            checked += 1
    assert checked > 50


def test_metric_class_is_named_like_the_dataset_builder_and_keeps_its_folder_name(metric):
    assert type(metric).__name__ == "KoreanNERPOS"
    assert metric.name == "korean_ner_pos"


def test_former_class_name_is_a_deprecated_alias():
    with pytest.warns(FutureWarning, match="KoreanNerPos is deprecated .* use KoreanNERPOS"):
        alias = korean_ner_pos.KoreanNerPos
    assert alias is korean_ner_pos.KoreanNERPOS
