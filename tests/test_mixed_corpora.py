"""Training on corpora that annotate different entity types (QT only in KLUE): the partial-annotation NER loss, scores
that leave out what a sentence's corpus does not annotate, and how --extra_train_corpora shares out each corpus."""

import json

import numpy as np
import pytest
import torch
from test_klue import write_dev_file

from modeling_mtl_bilstm import MTLBiLSTMForTokenClassification
from modeling_mtl_bilstm.data_scripts import korean_ner
from modeling_mtl_bilstm.training.arguments import DataArguments
from modeling_mtl_bilstm.training.corpus import ANNOTATED_TYPES, load_data, resolved_extra_analyzer, unannotated_tags
from modeling_mtl_bilstm.training.features import gazetteer_fold
from modeling_mtl_bilstm.training.trainer import _unannotated_as_outside


NER_LABELS = ["O", "B-LC", "I-LC", "B-PS", "I-PS", "B-QT", "I-QT"]
WITHOUT_QT = unannotated_tags(NER_LABELS, ("LC", "PS"))


def test_unannotated_tags_mark_the_labels_of_the_missing_types():
    assert WITHOUT_QT == [0, 0, 0, 0, 0, 1, 1]
    assert unannotated_tags(NER_LABELS, ("LC", "PS", "QT")) == [0] * 7


def tiny_model(tiny_config, use_crf: bool) -> MTLBiLSTMForTokenClassification:
    torch.manual_seed(0)
    config = tiny_config(
        vocab_size=20,
        char_vocab_size=0,
        tasks=("ner",),
        use_crf={"ner": use_crf, "pos": False},
        ner_id2label=dict(enumerate(NER_LABELS)),
    )
    return MTLBiLSTMForTokenClassification(config).eval()  # no dropout: losses compare exactly


def batch(rows_unannotated):
    input_ids = torch.tensor([[2, 3, 4, 5], [6, 7, 8, 0]])
    ner_labels = torch.tensor([[3, 4, 0, 1], [0, 0, 5, -100]])  # B-PS I-PS O B-LC / O O B-QT
    return {
        "input_ids": input_ids,
        "attention_mask": (input_ids != 0).long(),
        "ner_labels": ner_labels,
        "ner_unannotated_tags": torch.tensor(rows_unannotated),
    }


@pytest.mark.parametrize("use_crf", [True, False])
def test_sentences_that_annotate_every_type_keep_the_plain_loss(tiny_config, use_crf):
    model = tiny_model(tiny_config, use_crf)
    inputs = batch([[0] * 7, [0] * 7])
    plain = model(**{k: v for k, v in inputs.items() if k != "ner_unannotated_tags"}).loss
    assert torch.equal(model(**inputs).loss, plain)


def test_softmax_loss_sums_the_probability_of_the_allowed_tags(tiny_config):
    model = tiny_model(tiny_config, use_crf=False)
    inputs = batch([WITHOUT_QT, [0] * 7])
    output = model(**inputs)
    probabilities = output.ner_logits.float().softmax(-1)
    expected = []
    for row, labels in enumerate(inputs["ner_labels"].tolist()):
        for position, label in enumerate(labels):
            if label == -100:
                continue
            allowed = [label] + ([5, 6] if row == 0 and label == 0 else [])
            expected.append(-probabilities[row, position, allowed].sum().log())
    torch.testing.assert_close(output.loss, torch.stack(expected).mean())


def test_crf_loss_counts_every_path_that_agrees_with_the_annotated_types(tiny_config):
    model = tiny_model(tiny_config, use_crf=True)
    inputs = batch([WITHOUT_QT, WITHOUT_QT])
    output = model(**inputs)
    mask = inputs["attention_mask"].bool()
    labels = inputs["ner_labels"]
    allowed = torch.nn.functional.one_hot(labels.clamp(min=0), 7).bool()
    allowed[..., 5:] |= (labels == 0).unsqueeze(2)
    crf = model.heads["ner"].crf
    expected = crf(output.ner_logits, labels, mask, reduction="token_mean", allowed_tags=allowed)
    torch.testing.assert_close(output.loss, expected)
    # The gold B-QT of row 1 stays gold: only O positions may hide another type.
    assert output.loss < model(**{**inputs, "ner_unannotated_tags": torch.zeros(2, 7)}).loss
    output.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_unannotated_tags_of_the_wrong_shape_are_refused(tiny_config):
    model = tiny_model(tiny_config, use_crf=True)
    with pytest.raises(ValueError, match=r"expected shape \(2, 7\) \(batch, NER tags\), received \(2, 5\)"):
        model(**batch([[1] * 5, [1] * 5]))


def test_scores_count_predicted_unannotated_types_as_outside():
    label2id = {name: index for index, name in enumerate(NER_LABELS)}
    predicted = np.array([[5, 6, 3, -100], [5, 6, 3, 0]])
    unannotated = np.array([WITHOUT_QT, [0] * 7])
    assert _unannotated_as_outside(predicted, unannotated, label2id).tolist() == [[0, 0, 3, -100], [5, 6, 3, 0]]


@pytest.fixture
def klue_folder(tmp_path, monkeypatch, kiwi_analyzer):
    monkeypatch.setattr(korean_ner, "_default_analyzer", lambda: kiwi_analyzer)
    return write_dev_file(tmp_path / "klue").parent


def test_extra_corpora_lend_train_to_training_and_validation_to_selection(klue_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    corpus = load_data(DataArguments(dataset="sample", analyzer="corpus", extra_train_corpora=[f"klue={klue_folder}"]))
    sample = load_data(DataArguments(dataset="sample", analyzer="corpus"))
    klue = korean_ner.KoreanNER(config_name="klue", data_dir=str(klue_folder))
    klue.download_and_prepare()
    klue = klue.as_dataset()
    for split in ("train", "validation"):
        assert corpus[split].num_rows == sample[split].num_rows + klue[split].num_rows
    assert corpus["test"]["text"] == sample["test"]["text"]  # KLUE's test split stays unseen
    assert "B-QT" in corpus["train"].features["ner_tags"].feature.names
    annotated = corpus["train"][ANNOTATED_TYPES]
    assert annotated[0] == ["DT", "LC", "OG", "PS", "TI"] and annotated[-1] == ["DT", "LC", "OG", "PS", "QT", "TI"]
    assert set(map(tuple, corpus["test"][ANNOTATED_TYPES])) == {("DT", "LC", "OG", "PS", "TI")}


def test_an_extra_corpus_without_a_test_split_is_all_training_data(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "extra"
    folder.mkdir()
    rows = "서울\tNNP\tB-LC\n에\tJKB\tO\n\n한양\tNNP\tB-LC\n\n"
    for name in ("train.txt", "dev.txt"):
        (folder / name).write_text(rows, encoding="utf-8")
    corpus = load_data(DataArguments(dataset="sample", analyzer="corpus", extra_train_corpora=[f"conll={folder}"]))
    sample = load_data(DataArguments(dataset="sample", analyzer="corpus"))
    assert corpus["train"].num_rows == sample["train"].num_rows + 4
    assert corpus["validation"].num_rows == sample["validation"].num_rows
    # A corpus annotates the types its labels name: here LC alone, so its O may hide the sample's other types.
    assert corpus["train"][ANNOTATED_TYPES][-4:] == [["LC"]] * 4


def test_extra_corpora_analyzer_both_adds_kiwis_copy_in_the_same_gazetteer_fold(tmp_path, monkeypatch, kiwi_analyzer):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(korean_ner, "_default_analyzer", lambda: kiwi_analyzer)
    folder = tmp_path / "ner2016"
    folder.mkdir()
    (folder / "train.txt").write_text("세종\tNNP\tB_PS\n이\tJKS\tO\n오\tVV\tO\nㅂ니다\tEF\tO\n\n", encoding="utf-8")
    (folder / "dev.txt").write_text("한양\tNNP\tB_LC\n\n", encoding="utf-8")
    extra = [f"ner2016={folder}"]
    own = load_data(DataArguments(dataset="sample", analyzer="corpus", extra_train_corpora=extra))
    both = load_data(
        DataArguments(dataset="sample", analyzer="corpus", extra_train_corpora=extra, extra_corpora_analyzer="both")
    )
    assert both["validation"]["text"] == own["validation"]["text"]
    assert both["train"].num_rows == own["train"].num_rows + 2
    copies = both["train"].select(range(own["train"].num_rows - 2, both["train"].num_rows))
    # The corpus's morphemes, then Kiwi's; both copies carry the text Kiwi rebuilt, so they share a gazetteer fold.
    assert copies["tokens"][0] == ["세종", "이", "오", "ㅂ니다"] and copies["tokens"][2][0] == "세종"
    assert copies["text"] == ["세종이 옵니다", "한양", "세종이 옵니다", "한양"]
    assert gazetteer_fold(copies["text"][0], copies["tokens"][0], 5) == gazetteer_fold(
        copies["text"][2], copies["tokens"][2], 5
    )
    assert own["train"]["text"][-2:] == ["", ""]  # without the copy, the corpus keeps no text


def test_extra_corpora_analyzer_auto_copies_the_corpora_with_morphemes_of_their_own(kiwi_analyzer, caplog):
    # kiwi_analyzer: kiwipiepy is installed, without which auto falls back to the corpus's morphemes.
    with caplog.at_level("INFO"):
        resolved = {name: resolved_extra_analyzer(name, "auto") for name in ("ner2016", "sample", "conll", "klue")}
    assert resolved == {"ner2016": "both", "sample": "both", "conll": "corpus", "klue": "corpus"}
    assert "--extra_corpora_analyzer auto: both for the ner2016 corpus." in caplog.text
    assert resolved_extra_analyzer("klue", "both") == "corpus"  # KLUE's morphemes are Kiwi's already


def test_conll_files_train_on_kiwis_analysis_of_the_text_it_rebuilds(tmp_path, monkeypatch, kiwi_analyzer):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(korean_ner, "_default_analyzer", lambda: kiwi_analyzer)
    rows = "세종\tNNP\tB-PS\n이\tJKS\tO\n오\tVV\tO\nㅂ니다\tEF\tO\n\n한양\tNNP\tB-LC\n에\tJKB\tO\n\n"
    for name in ("train.conll", "dev.conll"):
        (tmp_path / name).write_text(rows, encoding="utf-8")
    files = {"train_file": str(tmp_path / "train.conll"), "validation_file": str(tmp_path / "dev.conll")}
    corpus = load_data(DataArguments(dataset="conll", analyzer="both", **files))
    train = corpus["train"]
    assert train["tokens"][:2] == [["세종", "이", "오", "ㅂ니다"], ["한양", "에"]] and train["tokens"][2][0] == "세종"
    assert train["text"] == ["세종이 옵니다", "한양에"] * 2  # one gazetteer fold per sentence, not per copy
    assert corpus["validation"]["text"] == ["", ""]  # dev keeps the corpus's morphemes: selected on gold


@pytest.mark.parametrize("policy", ["marginalize", "outside"])
def test_training_on_corpora_with_different_types(
    train, tiny_training_flags, klue_folder, tmp_path, monkeypatch, policy
):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    calls = []
    original = MTLBiLSTMForTokenClassification._allowed_ner_tags

    def spy(self, ner_labels, ner_unannotated_tags):
        allowed = original(self, ner_labels, ner_unannotated_tags)
        calls.append((self.training, allowed is not None))
        return allowed

    monkeypatch.setattr(MTLBiLSTMForTokenClassification, "_allowed_ner_tags", spy)
    output_dir = tmp_path / "run"
    flags = ["--num_train_epochs", "1", "--output_dir", str(output_dir), "--unannotated_entity_types", policy]
    train(["--compare", "--compare_models", "mtl", "ner", "--seeds", "1", *flags, *tiny_training_flags,
           "--extra_train_corpora", f"klue={klue_folder}"])  # fmt: skip
    results = json.loads((output_dir / "results.json").read_text())
    assert list(results) == ["mtl", "ner"]
    assert "ner_QT_f1" not in results["mtl"]["mean"]  # the sample's test split has no QT to score
    training_partial = {partial for training, partial in calls if training}
    # Every training batch holds sample sentences, which do not annotate QT.
    assert training_partial == ({True} if policy == "marginalize" else {False})
    # Dev scores leave out QT predictions on sentences of corpora without QT either way.
    assert any(partial for training, partial in calls if not training)


def test_compare_models_must_be_known(train, tmp_path):
    from modeling_mtl_bilstm.training import ArgumentError

    with pytest.raises(ArgumentError, match="--compare_models: expected some of mtl, ner, pos"):
        train(["--compare", "--compare_models", "crf", "--output_dir", str(tmp_path)])


def test_sample_needs_no_folder_as_an_extra_corpus():
    from modeling_mtl_bilstm.training.corpus import parse_corpus_argument

    assert parse_corpus_argument("sample") == ("sample", None)
    assert parse_corpus_argument("klue=../shared/data/klue-ner") == ("klue", "../shared/data/klue-ner")


def test_max_train_sentences_draws_nested_proportional_subsets(klue_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    mixed = {"dataset": "sample", "analyzer": "corpus", "extra_train_corpora": [f"klue={klue_folder}"]}
    full = load_data(DataArguments(**mixed))["train"]
    subsets = {size: load_data(DataArguments(**mixed, max_train_sentences=size))["train"] for size in (50, 100, 300)}
    klue_rows = full.num_rows - 588  # the sample's training split comes first
    for size, subset in subsets.items():
        assert subset.num_rows == size
        from_klue = sum(types == ["DT", "LC", "OG", "PS", "QT", "TI"] for types in subset[ANNOTATED_TYPES])
        assert abs(from_klue - size * klue_rows / full.num_rows) <= 1, (size, from_klue)
    ids = {size: set(zip(subset["id"], subset["text"])) for size, subset in subsets.items()}
    assert ids[50] < ids[100] < ids[300]
    # The same subset whatever else changes (seeds and models do not enter it).
    assert (
        load_data(DataArguments(dataset="sample", analyzer="corpus", max_train_sentences=100))["train"]["text"]
        == load_data(DataArguments(dataset="sample", analyzer="corpus", max_train_sentences=100))["train"]["text"]
    )
    with pytest.raises(Exception, match="--max_train_sentences: expected 1 to 588"):
        load_data(DataArguments(dataset="sample", analyzer="corpus", max_train_sentences=589))


@pytest.mark.parametrize("use_crf", [True, False])
def test_sentences_without_entity_labels_add_no_ner_loss_and_do_not_dilute_it(tiny_config, use_crf):
    model = tiny_model(tiny_config, use_crf)
    everything = [0, 1, 1, 1, 1, 1, 1]  # no type annotated: every tag allowed where the label is O
    both = batch([WITHOUT_QT, everything])
    both["ner_labels"][1] = torch.tensor([0, 0, 0, -100])
    alone = {name: value[:1] for name, value in both.items()}
    torch.testing.assert_close(model(**both).loss, model(**alone).loss)
    only_unlabelled = {name: value[1:] for name, value in both.items()}
    assert model(**only_unlabelled).loss == 0


def test_pos_only_corpora_join_training_with_their_entity_labels_withheld(klue_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    corpus = load_data(DataArguments(dataset="sample", analyzer="corpus", pos_only_corpora=[f"klue={klue_folder}"]))
    sample = load_data(DataArguments(dataset="sample", analyzer="corpus"))
    klue_train = corpus["train"].num_rows - sample["train"].num_rows
    assert klue_train > 0 and corpus["validation"].num_rows == sample["validation"].num_rows
    unlabelled = corpus["train"].select(range(sample["train"].num_rows, corpus["train"].num_rows))
    assert all(set(tags) == {0} for tags in unlabelled["ner_tags"]) and set(unlabelled[ANNOTATED_TYPES][0]) == set()
    assert unlabelled["entity_spans"] == [None] * klue_train
    # --max_train_sentences subsamples the labelled sentences only.
    subset = load_data(
        DataArguments(
            dataset="sample", analyzer="corpus", pos_only_corpora=[f"klue={klue_folder}"], max_train_sentences=50
        )
    )
    assert subset["train"].num_rows == 50 + klue_train


def test_single_task_ner_models_leave_out_text_without_entity_labels(
    train, tiny_training_flags, klue_folder, tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    from modeling_mtl_bilstm.training.trainer import MTLBiLSTMTrainer

    sizes = {}
    original = MTLBiLSTMTrainer.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        sizes[tuple(self.model.config.tasks)] = len(self.train_dataset)

    monkeypatch.setattr(MTLBiLSTMTrainer, "__init__", spy)
    flags = ["--compare", "--compare_models", "mtl", "ner", "pos", "--seeds", "1", "--max_steps", "1"]
    for policy in ("marginalize", "outside"):
        train([*flags, *tiny_training_flags, "--output_dir", str(tmp_path / policy), "--unannotated_entity_types",
               policy, "--pos_only_corpora", f"klue={klue_folder}"])  # fmt: skip
        assert sizes[("ner",)] == 588 and sizes[("pos",)] == sizes[("pos", "ner")] > 588
