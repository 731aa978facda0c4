"""Tests of benchmarks/raw_text_accuracy.py: its scoring against metrics/korean_ner_pos, its segmentation
account, and end-to-end runs on the sample's test split and on a KLP-layout folder, with a tiny model.

The tiny model is trained (a few seconds, one thread) on Kiwi's analysis of the sample's test sentences with
their gold entities projected onto it, so that on raw text it finds entities; the numbers are not checked,
only their bookkeeping."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest


pytest.importorskip("kiwipiepy", reason="raw-text NER needs kiwipiepy: pip install -e '.[korean]'")

from tiny_models import train_tagger  # noqa: E402

from modeling_mtl_bilstm.data_scripts.formats import load_entity_spans  # noqa: E402
from modeling_mtl_bilstm.data_scripts.korean_ner import SAMPLE_DIR, reanalyse_with_kiwi  # noqa: E402


REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
SAMPLE = ["--dataset", "sample", "--device", "cpu", "--threads", "1"]

# A KLP-layout split: a sentence Kiwi segments so that 중국 is inside 중국인/NNG, and one whose '$' line does
# not align with its ';' line.
KLP_TEST = """\
; 중국인 관광객이 서울에 왔다.
$<중국:LC>인 관광객이 <서울:LC>에 왔다.
1\t중국\tNNP\tB_LC
1\t인\tXSN\tO
2\t관광객\tNNG\tO
2\t이\tJKS\tO
3\t서울\tNNP\tB_LC
3\t에\tJKB\tO
4\t오\tVV\tO
4\t았\tEP\tO
4\t다\tEF\tO
4\t.\tSF\tO

; 세종대왕은 1443년에 훈민정음을 창제했다.
$<세종대왕:PS>은 <1443년:DT>에 훈민정음을 창제했다.
1\t세종\tNNP\tB_PS
1\t대왕\tNNG\tI
1\t은\tJX\tO
2\t1443\tSN\tB_DT
2\t년\tNNB\tI
2\t에\tJKB\tO
3\t훈민정음\tNNP\tO
3\t을\tJKO\tO
4\t창제\tNNG\tO
4\t하\tXSV\tO
4\t었\tEP\tO
4\t다\tEF\tO
4\t.\tSF\tO

; 서울 부산을 잇다.
$<서울:LC> <부산:LC>를 잇다.
1\t서울\tNNP\tB_LC
2\t부산\tNNP\tB_LC
2\t을\tJKO\tO
3\t잇\tVV\tO
3\t다\tEF\tO
3\t.\tSF\tO

"""


def load_script():
    """The benchmark as a module; it imports its sibling `benchmark_common` as run from benchmarks/."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("benchmark_raw_text_accuracy", BENCHMARKS / "raw_text_accuracy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


benchmark = load_script()


@pytest.fixture(scope="module")
def analyzer(kiwi_analyzer):
    return kiwi_analyzer


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, analyzer):
    """A tiny multi-task model trained on Kiwi's analysis of the sample's test split, gold spans projected."""
    sentences, _ = load_entity_spans(SAMPLE_DIR / "test.txt")
    projections, _ = reanalyse_with_kiwi(sentences, analyzer)
    return train_tagger(
        tmp_path_factory.mktemp("tiny-raw-text-model"),
        [projection.tokens for projection in projections],
        [projection.pos_tags for projection in projections],
        [projection.ner_tags for projection in projections],
        # Every type of the corpus, so that the gold morphemes' tags all have ids.
        ner_labels=["O"] + [f"{p}-{t}" for t in ("DT", "LC", "OG", "PS", "TI") for p in "BI"],
        steps=100,
    )


def run(argv: list[str], output: Path) -> dict:
    returned = benchmark.main([*argv, "--output", str(output)])
    written = json.loads(output.read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(returned))
    return written


def assert_consistent(scores: dict):
    for figures in [scores["overall"], *scores["per_type"].values()]:
        assert 0 <= figures["correct"] <= min(figures["gold"], figures["predicted"])
        precision = figures["correct"] / figures["predicted"] if figures["predicted"] else 0.0
        assert figures["precision"] == pytest.approx(precision)
    for name in ("gold", "predicted", "correct"):
        assert scores["overall"][name] == sum(figures[name] for figures in scores["per_type"].values())


def test_span_scores_count_exact_matches_only():
    Span = benchmark.Span
    gold = [{Span(0, 2, "PS"), Span(5, 9, "DT")}, {Span(0, 2, "LC")}]
    predicted = [{Span(0, 2, "PS"), Span(5, 8, "DT")}, {Span(0, 2, "OG"), Span(3, 4, "LC")}]
    scores = benchmark.span_scores(gold, predicted)
    assert scores["overall"] == {
        "precision": 0.25,
        "recall": 1 / 3,
        "f1": pytest.approx(2 * 0.25 * (1 / 3) / (0.25 + 1 / 3)),
        "gold": 3,
        "predicted": 4,
        "correct": 1,
    }
    assert scores["per_type"]["PS"]["f1"] == 1.0 and scores["per_type"]["OG"]["gold"] == 0
    assert_consistent(scores)


def test_gold_morpheme_scores_equal_the_metric():
    compute_scores = pytest.importorskip("modeling_mtl_bilstm.metrics.korean_ner_pos").compute_scores
    references = [["B-PS", "I-PS", "O", "B-LC"], ["O", "B-DT", "I-DT", "I-DT"], ["B-OG", "O"]]
    predictions = [["B-PS", "I-PS", "O", "B-OG"], ["O", "I-DT", "I-DT", "I-DT"], ["B-OG", "O"]]
    scores = benchmark.span_scores(benchmark.iob2_entities(references), benchmark.iob2_entities(predictions))
    metric = compute_scores(ner_predictions=predictions, ner_references=references)
    for name in ("precision", "recall", "f1"):
        assert scores["overall"][name] == pytest.approx(metric[f"ner_{name}"])
    for entity_type, figures in scores["per_type"].items():
        assert figures["f1"] == pytest.approx(metric[f"ner_{entity_type}_f1"])
        assert figures["gold"] == metric[f"ner_{entity_type}_number"]


def test_sample_test_split(model_dir, tmp_path, capsys):
    result = run([*SAMPLE, "--model_dir", str(model_dir)], tmp_path / "raw_text_accuracy.json")
    expected, errors = load_entity_spans(SAMPLE_DIR / "test.txt")
    assert result["sentences"] == len(expected) == 69 and result["misaligned_sentences"]["count"] == len(errors) == 0
    assert result["settings"]["file"] == "test.txt" and result["environment"]["torch_threads"] == 1
    gold_entities = sum(len(sentence.entities) for sentence in expected)
    assert result["raw_text"]["overall"]["gold"] == result["gold_morphemes"]["overall"]["gold"] == gold_entities
    for scores in (result["raw_text"], result["gold_morphemes"], result["raw_text_reachable_only"]):
        assert_consistent(scores)
    # Trained on Kiwi's analysis of these very sentences: it finds entities in their raw text.
    assert result["raw_text"]["overall"]["correct"] > 0
    gap = result["gap"]
    assert gap["f1"] == pytest.approx(result["gold_morphemes"]["overall"]["f1"] - result["raw_text"]["overall"]["f1"])
    assert gap["f1"] == pytest.approx(gap["segmentation"] + gap["other"])
    segmentation = result["segmentation"]
    assert segmentation["gold_entities"] == gold_entities
    assert 0 <= segmentation["boundary_inside_kiwi_morpheme"] <= gold_entities
    assert segmentation["raw_text_recall_bound"] >= result["raw_text"]["overall"]["recall"]
    table = capsys.readouterr().err
    assert (
        "raw text P/R/F1" in table
        and "gold morphemes P/R/F1" in table
        and "Segmentation (sample test, 69 sentences):" in table
    )


def test_klp_folder_with_unreachable_entity_and_misaligned_sentence(model_dir, tmp_path):
    folder = tmp_path / "klp"
    folder.mkdir()
    (folder / "test.txt").write_bytes(KLP_TEST.replace("\n", "\r\n").encode("utf-8"))
    argv = ["--dataset", "klp2016", "--data_dir", str(folder), "--device", "cpu", "--model_dir", str(model_dir)]
    result = run([*argv, "--examples", "5"], tmp_path / "result.json")
    # The third sentence's '$' line reads 부산를 where the ';' line has 부산을: counted, quoted, not scored.
    assert result["sentences"] == 2
    misaligned = result["misaligned_sentences"]
    assert misaligned["count"] == 1 and misaligned["lines"] == [31]
    assert f"{folder / 'test.txt'}, line 31:" in misaligned["examples"][0]
    assert result["raw_text"]["overall"]["gold"] == 4
    segmentation = result["segmentation"]
    assert segmentation["boundary_inside_kiwi_morpheme"] == 1
    assert segmentation["boundary_inside_kiwi_morpheme_by_type"] == {"LC": 1}
    assert segmentation["examples"] == [{"entity": "중국", "type": "LC", "sentence": "중국인 관광객이 서울에 왔다."}]
    assert segmentation["raw_text_recall_bound"] == 0.75
    assert result["raw_text_reachable_only"]["overall"]["gold"] == 3
    # On the corpus's morphemes 중국 is a morpheme of its own: the entity is reachable there.
    assert result["gold_morphemes"]["overall"]["gold"] == 4
    # Without --examples the result quotes no corpus text.
    quiet = run(argv, tmp_path / "quiet.json")
    assert quiet["segmentation"]["examples"] == [] and quiet["misaligned_sentences"]["examples"] == []
    assert "관광객" not in json.dumps(quiet, ensure_ascii=False)


def test_missing_split_and_folder_are_reported(model_dir, tmp_path):
    folder = tmp_path / "klp"
    folder.mkdir()
    (folder / "dev.txt").write_bytes(KLP_TEST.encode("utf-8"))
    argv = ["--dataset", "klp2016", "--device", "cpu", "--model_dir", str(model_dir)]
    with pytest.raises(SystemExit, match="no test file; found the splits validation"):
        benchmark.main([*argv, "--data_dir", str(folder)])
    with pytest.raises(SystemExit, match="does not exist"):
        benchmark.main([*argv, "--data_dir", str(tmp_path / "missing")])


def test_segmentation_only_without_a_model(tmp_path, capsys):
    folder = tmp_path / "klp"
    folder.mkdir()
    (folder / "test.txt").write_bytes(KLP_TEST.replace("\n", "\r\n").encode("utf-8"))
    argv = ["--dataset", "klp2016", "--data_dir", str(folder), "--device", "cpu", "--threads", "1"]
    result = run(argv, tmp_path / "segmentation.json")
    assert "raw_text" not in result and result["settings"]["model_dir"] is None
    assert result["sentences"] == 2 and result["misaligned_sentences"]["count"] == 1
    assert result["segmentation"]["boundary_inside_kiwi_morpheme"] == 1
    assert result["segmentation"]["raw_text_f1_bound"] == pytest.approx(2 * 0.75 / 1.75)
    assert "1 of 4 gold entities have a boundary inside a Kiwi morpheme" in capsys.readouterr().err


def test_invalid_gold_tags_name_file_and_line(model_dir, tmp_path):
    folder = tmp_path / "klp"
    folder.mkdir()
    (folder / "test.txt").write_bytes(KLP_TEST.replace("1\t세종\tNNP\tB_PS", "1\t세종\tNNP\tI").encode("utf-8"))
    argv = ["--dataset", "klp2016", "--data_dir", str(folder), "--device", "cpu", "--model_dir", str(model_dir)]
    with pytest.raises(SystemExit, match=f"{folder / 'test.txt'}, line 16: expected 'I' only after 'B_<TYPE>'"):
        benchmark.main(argv)
