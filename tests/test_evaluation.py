"""Tests of `mtl-bilstm-ner evaluate` (modeling_mtl_bilstm.evaluation): a model scored from the raw sentences of
corpora, evaluation.json written beside it, and the model card that shows it."""

import json
import shutil
from itertools import product

import pytest
from huggingface_hub import ModelCard
from test_hub import REPO_ID, conll_dir, run_dir  # noqa: F401 (module fixtures: a tiny trained run)

from modeling_mtl_bilstm import KoreanNERPredictor, cli, load_korean_ner
from modeling_mtl_bilstm.evaluation import EVALUATION_JSON, EvaluationError, corpus_split_text, score_spans
from modeling_mtl_bilstm.hub import build_hub_folder


def brute_force_f1(gold, predicted, types):
    """F1 by listing every (sentence, span) pair once, as a reference for `score_spans`."""
    gold_pairs = {(i, span) for i, spans in enumerate(gold) for span in spans if span[2] in types}
    predicted_pairs = {(i, span) for i, spans in enumerate(predicted) for span in spans if span[2] in types}
    correct = len(gold_pairs & predicted_pairs)
    total = len(gold_pairs) + len(predicted_pairs)
    return 2 * correct / total if total else 0.0


@pytest.mark.parametrize("types", [{"PS"}, {"PS", "LC"}, {"PS", "LC", "QT"}, set()])
def test_span_scores_count_each_span_of_the_scored_types_once(types):
    spans = [(0, 2, "PS"), (3, 5, "LC"), (0, 3, "PS"), (6, 8, "QT")]
    gold = [set(spans[:2]), {spans[3]}, set()]
    predicted = [{spans[0], spans[2]}, {spans[1], spans[3]}, {spans[1]}]
    scores = score_spans(gold, predicted, types)
    assert scores["f1"] == pytest.approx(brute_force_f1(gold, predicted, types))
    assert scores["gold_entities"] == sum(span[2] in types for sentence in gold for span in sentence)
    for entity in types:
        assert scores["f1_per_type"][entity] == pytest.approx(brute_force_f1(gold, predicted, {entity}))


def test_a_wrong_offset_or_type_is_not_a_match():
    gold = [{(0, 2, "PS")}]
    for start, end, entity in product((0, 1), (2, 3), ("PS", "LC")):
        expected = 1.0 if (start, end, entity) == (0, 2, "PS") else 0.0
        assert score_spans(gold, [{(start, end, entity)}], {"PS", "LC"})["f1"] == expected


def test_evaluate_scores_the_sample_from_raw_text_and_the_card_shows_it(run_dir, tmp_path, capsys):  # noqa: F811
    """The tiny model knows PS, LC and DT; the sample annotates five types: the three shared ones are scored, and
    the F1 is that of the predictor's own entities on the sample's raw test sentences."""
    model = tmp_path / "model"
    shutil.copytree(run_dir / "best_model", model)
    assert cli.main(["evaluate", "--model", str(model), "--corpora", "sample", "--batch_size", "8"]) == 0
    assert "sample test: F1" in capsys.readouterr().out
    record = json.loads((model / EVALUATION_JSON).read_text(encoding="utf-8"))
    (result,) = record["results"]
    assert result["entity_types"] == ["DT", "LC", "PS"] and result["sentences_per_second"] > 0
    assert record["setting"]["batch_size"] == 8 and record["setting"]["backend"] == "torch"

    test = load_korean_ner("sample")["test"]
    assert result["sentences"] == test.num_rows
    outputs = KoreanNERPredictor.from_pretrained(model)(test["text"])
    predicted = [{(e["start"], e["end"], e["type"]) for e in output["entities"]} for output in outputs]
    gold = [{(s["start"], s["end"], s["type"]) for s in spans} for spans in test["entity_spans"]]
    assert result["f1"] == pytest.approx(brute_force_f1(gold, predicted, {"DT", "LC", "PS"}))

    folder = build_hub_folder(model, tmp_path / "hub", repo_id=REPO_ID, allow_restricted_license=True)
    assert (folder / EVALUATION_JSON).is_file()
    card = ModelCard.load(folder / "README.md")
    assert "## Evaluation from raw text" in card.text
    assert f"| sample | test | DT LC PS | {test.num_rows} |" in card.text
    (entry,) = [e for e in card.data.eval_results if e.dataset_type == "sample"]
    assert entry.metric_value == round(result["f1"], 4) and "raw text" in entry.metric_name


def test_a_corpus_without_raw_text_is_refused_with_the_reason(conll_dir):  # noqa: F811
    with pytest.raises(EvaluationError, match="expected raw sentences with gold character spans"):
        corpus_split_text("conll", str(conll_dir))


def test_evaluate_rejects_a_corpus_argument_without_its_folder(run_dir):  # noqa: F811
    with pytest.raises(SystemExit, match="--corpora: expected NAME=DIR"):
        cli.main(["evaluate", "--model", str(run_dir), "--corpora", "klue"])
