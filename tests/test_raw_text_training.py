"""Scores from raw text in training: every NER run scores the predictor's entities on the dev and test sentences' raw
text against their gold character spans, beside the gold-morpheme scores, and selects on them by default."""

import json

import datasets
import pytest
import torch

from modeling_mtl_bilstm import KoreanNERPredictor, load_korean_ner
from modeling_mtl_bilstm.training.raw_text import RawTextEvaluator, RawTextSplit, scores_of_counts, span_counts


def test_counts_and_scores_of_spans():
    gold = [{(0, 2, "PS"), (3, 5, "LC")}, set()]
    predicted = [{(0, 2, "PS"), (3, 6, "LC")}, {(1, 2, "DT")}]
    counts = span_counts(gold, predicted)
    assert counts == [[1, 2, 2], [0, 1, 0]]
    assert scores_of_counts(counts) == pytest.approx({"ner_precision": 1 / 3, "ner_recall": 1 / 2, "ner_f1": 0.4})
    assert scores_of_counts([[0, 0, 0]]) == {"ner_precision": 0.0, "ner_recall": 0.0, "ner_f1": 0.0}


def test_raw_text_split_needs_text_and_gold_spans_everywhere():
    sample = load_korean_ner("sample")["test"]
    split = RawTextSplit.of(sample)
    assert split.texts == sample["text"] and split.annotated_types is None
    first = sample[0]
    assert split.gold[0] == {(s["start"], s["end"], s["type"]) for s in first["entity_spans"]}
    assert all(first["text"][start:end] for start, end, _ in split.gold[0])
    without_text = sample.map(lambda example: {"text": ""})
    assert RawTextSplit.of(without_text) is None
    assert RawTextSplit.of(sample.remove_columns("entity_spans")) is None


def test_evaluator_scores_what_the_predictor_serves_and_keeps_the_training_mode(comparison_model, kiwi_analyzer):
    model, tokenizer = comparison_model
    test = load_korean_ner("sample")["test"]
    split = RawTextSplit.of(test)
    model.train()
    scores = RawTextEvaluator(split, tokenizer, kiwi_analyzer)(model)
    assert model.training
    outputs = KoreanNERPredictor(model, tokenizer, analyzer=kiwi_analyzer)(split.texts)
    predicted = [{(e["start"], e["end"], e["type"]) for e in output["entities"]} for output in outputs]
    assert scores == pytest.approx(
        {f"raw_{k}": v for k, v in scores_of_counts(span_counts(split.gold, predicted)).items()}
    )


@pytest.fixture(scope="module")
def comparison_model(raw_comparison):
    from modeling_mtl_bilstm import MTLBiLSTMForTokenClassification, MTLBiLSTMTokenizer

    folder = raw_comparison / "best_model"
    return MTLBiLSTMForTokenClassification.from_pretrained(folder), MTLBiLSTMTokenizer.from_pretrained(folder)


@pytest.fixture(scope="module")
def raw_comparison(train, tiny_training_flags, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("raw")
    flags = ["--compare", "--compare_models", "mtl", "ner", "--seeds", "1", "2", "--num_train_epochs", "2"]
    train([*flags, "--output_dir", str(output_dir), *tiny_training_flags])
    return output_dir


def test_runs_report_both_scores_and_select_on_raw_text_by_default(raw_comparison):
    results = json.loads((raw_comparison / "results.json").read_text())
    for model in ("mtl", "ner"):
        for seed in results[model]["seeds"].values():
            for name in ("ner_f1", "raw_ner_f1", "dev_ner_f1", "dev_raw_ner_f1"):
                assert 0.0 <= seed[name] <= 1.0, (model, name)
            assert len(seed["test_raw_ner_sentence_counts"]) == 69
            assert [set(entry) for entry in seed["dev_curve"]] == [{"epoch", "raw_ner_f1"}] * 2
    run_info = json.loads((raw_comparison / "run_info.json").read_text())
    assert run_info["best_model"]["metric"] == "dev_raw_ner_f1"
    pooled = run_info["raw_ner_f1_deltas"]["mtl-ner"]["significance"]["pooled"]
    assert pooled["sentences"] == 2 * 69
    table = (raw_comparison / "results.md").read_text()
    assert "raw NER F1" in table and "dev raw F1" in table and "Raw-text NER F1 delta mtl − ner" in table
    card = (raw_comparison / "best_model" / "README.md").read_text()
    assert "NER F1 from raw text (strict character spans)" in card


def test_select_on_gold_and_corpora_without_raw_text(train, tiny_training_flags, tmp_path):
    common = ["--task", "ner", "--num_train_epochs", "1", *tiny_training_flags]
    train([*common, "--output_dir", str(tmp_path / "gold"), "--select_on", "gold"])
    run_info = json.loads((tmp_path / "gold" / "run_info.json").read_text())
    assert run_info["best_model"]["metric"] == "dev_ner_f1"
    results = json.loads((tmp_path / "gold" / "results.json").read_text())
    assert "raw_ner_f1" in results["ner"]["mean"]  # reported either way

    # A CoNLL corpus has no raw text: it is selected on gold morphemes, and no raw score is made up.
    rows = "세종\tNNP\tB-PS\n이\tJKS\tO\n한글\tNNP\tB-OG\n을\tJKO\tO\n만들\tVV\tO\n었\tEP\tO\n다\tEF\tO\n"
    files = {}
    for split in ("train", "validation", "test"):
        files[split] = tmp_path / f"{split}.conll"
        files[split].write_text("\n".join([rows] * 4), encoding="utf-8")
    conll = ["--dataset", "conll", *[f"--{s}_file={files[s]}" for s in ("train", "validation", "test")]]
    train([*common, *conll, "--output_dir", str(tmp_path / "conll")])
    assert json.loads((tmp_path / "conll" / "run_info.json").read_text())["best_model"]["metric"] == "dev_ner_f1"
    assert "raw_ner_f1" not in json.loads((tmp_path / "conll" / "results.json").read_text())["ner"]["mean"]


def test_evaluator_leaves_out_types_the_corpus_does_not_annotate(comparison_model, kiwi_analyzer):
    model, tokenizer = comparison_model
    test = load_korean_ner("sample")["test"].select(range(5))
    marked = test.add_column("annotated_types", [[]] * 5, feature=datasets.List(datasets.Value("string")))
    evaluator = RawTextEvaluator(RawTextSplit.of(marked), tokenizer, kiwi_analyzer)
    with torch.no_grad():
        evaluator(model)
    assert all(predicted == 0 for _, predicted, _ in evaluator.counts)
