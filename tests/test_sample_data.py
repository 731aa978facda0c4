"""Tests of the bundled traditional-culture sample (data_scripts/sample) and its builder."""

import importlib.util
import sys
from pathlib import Path

import pytest


SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data_scripts" / "sample"
SPLITS = ("train", "validation", "test")


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_sample", SAMPLE_DIR / "build_sample.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


build_sample = _load_builder()


@pytest.fixture(scope="module")
def splits():
    return {split: build_sample.read_klp(SAMPLE_DIR / f"{split}.txt") for split in SPLITS}


def test_known_sentence_is_written_in_klp_format():
    texts = [(SAMPLE_DIR / f"{split}.txt").read_bytes().decode("utf-8") for split in SPLITS]
    block = (
        "; 경복궁은 매주 화요일에 문을 닫는다.\r\n"
        "$<경복궁:LC>은 <매주 화요일:DT>에 문을 닫는다.\r\n"
        "1\t경복궁\tNNP\tB_LC\r\n1\t은\tJX\tO\r\n2\t매주\tMAG\tB_DT\r\n3\t화요일\tNNG\tI\r\n"
        "3\t에\tJKB\tO\r\n4\t문\tNNG\tO\r\n4\t을\tJKO\tO\r\n5\t닫\tVV\tO\r\n5\t는다\tEF\tO\r\n"
        "5\t.\tSF\tO\r\n\r\n"
    )
    assert sum(text.count(block) for text in texts) == 1
    # Blocks follow each other directly; the file ends right after the last blank line.
    assert all(text.startswith("; ") and text.endswith("\tO\r\n\r\n") for text in texts)
    assert all("\r\n\r\n\r\n" not in text for text in texts)


def test_card_statistics_match_the_files(splits):
    assert build_sample.statistics_table(splits) == build_sample.card_statistics()
    assert [len(splits[split]) for split in SPLITS] == [588, 73, 69]
    # The stratified split puts every entity type, even the rarest (TI), into every split.
    for split in SPLITS:
        assert {m.ner for s in splits[split] for m in s.morphemes} >= {f"B_{t}" for t in build_sample.ENTITY_TYPES}


def test_splits_are_disjoint_and_come_from_sentences_txt(splits):
    raws = [sentence.raw for split in SPLITS for sentence in splits[split]]
    assert len(raws) == len(set(raws))
    assert set(raws) == {sentence.raw for sentence in build_sample.read_sentences()}


def test_contracted_entity_is_read_back(splits):
    everything = [sentence for split in SPLITS for sentence in splits[split]]
    sentence = next(s for s in everything if s.raw.startswith("부처님 오신 날은"))
    label, morphemes = build_sample.tagged_entities(sentence)[0]
    assert label == "DT"
    assert [(m.form, m.ner) for m in morphemes] == [
        ("부처", "B_DT"),
        ("님", "I"),
        ("오", "I"),
        ("시", "I"),
        ("ㄴ", "I"),
        ("날", "I"),
    ]


def test_reader_rejects_lf_line_endings(tmp_path):
    path = tmp_path / "lf.txt"
    path.write_bytes((SAMPLE_DIR / "test.txt").read_bytes().replace(b"\r\n", b"\n"))
    with pytest.raises(build_sample.SampleError, match="lf.txt: expected the file to end with a blank CRLF"):
        build_sample.read_klp(path)


def test_reader_rejects_i_without_open_entity(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes("; 추석 밤\r\n$<추석:DT> 밤\r\n1\t추석\tNNG\tO\r\n2\t밤\tNNG\tI\r\n\r\n".encode())
    with pytest.raises(build_sample.SampleError, match="bad.txt:4: I tag with no open entity before it"):
        build_sample.read_klp(path)


def test_reader_rejects_tags_that_disagree_with_the_marked_line(tmp_path):
    path = tmp_path / "bad.txt"
    lines = ["; 추석 밤", "$<추석:DT> 밤", "1\t추석\tNNG\tB_DT", "2\t밤\tNNG\tI", ""]
    path.write_bytes("\r\n".join(lines + [""]).encode("utf-8"))
    with pytest.raises(build_sample.SampleError, match="bad.txt:1: tagged span '추석밤'/DT; expected '추석'/DT"):
        build_sample.read_klp(path)


def test_marked_line_rejects_unknown_entity_type():
    with pytest.raises(build_sample.SampleError, match=r"x:1: entity type 'EV'"):
        build_sample.parse_marked("<강릉단오제:EV>가 열린다.", "x:1")


def test_rebuild_is_byte_identical():
    kiwipiepy = pytest.importorskip("kiwipiepy", reason="kiwipiepy is needed to rebuild the sample")
    if kiwipiepy.__version__ != "0.24.1":
        # Another Kiwi release may analyse some sentences differently: the committed files say 0.24.1.
        pytest.skip(f"the sample was built with kiwipiepy 0.24.1, this is {kiwipiepy.__version__}")
    assert build_sample.check(build_sample.build()) == []
