"""Tests of the Korean NER builder (data_scripts) and of modeling_mtl_bilstm.data.

Fixtures are written into tmp_path by the tests; the real corpora (KLP 2016, the 2016
competition data) are read from <repo>/../shared/data/ and never copied into the repository.
"""

import logging
import re
from collections import Counter, namedtuple
from pathlib import Path

import datasets
import pytest
import yaml
from huggingface_hub import constants as hub_constants

from modeling_mtl_bilstm.data import export_to_parquet, load_korean_ner
from modeling_mtl_bilstm.data_scripts import korean_ner
from modeling_mtl_bilstm.data_scripts.formats import (
    CorpusFormatError,
    EntitySpan,
    Line,
    Sentence,
    load_entity_spans,
    parse_entity_marks,
    read_conll,
    read_gazette,
    read_klp,
    read_ner2016,
)
from modeling_mtl_bilstm.data_scripts.korean_ner import (
    KLP2016_URLS,
    SAMPLE_DIR,
    KoreanNER,
    LabelSetError,
    project_entities,
    reanalyse_with_kiwi,
    rebuild_text,
    shared_label_names,
)


SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
KLP2016_DIR = SHARED_DATA / "klp2016"
NER2016_DIR = SHARED_DATA / "ner2016-competition"
KLP_NER_LABELS = ["O", "B-DT", "I-DT", "B-LC", "I-LC", "B-OG", "I-OG", "B-PS", "I-PS", "B-TI", "I-TI"]

# Two sentences, given as (eojeol index, morpheme, POS tag, IOB2 tag) rows.
SENTENCES = [
    (
        "세종대왕 이도는 한양에 살았다.",
        [
            (1, "세종", "NNP", "B-PS"),
            (1, "대왕", "NNG", "I-PS"),
            (2, "이도", "NNP", "I-PS"),
            (2, "는", "JX", "O"),
            (3, "한양", "NNP", "B-LC"),
            (3, "에", "JKB", "O"),
            (4, "살", "VV", "O"),
            (4, "았", "EP", "O"),
            (4, "다", "EF", "O"),
            (4, ".", "SF", "O"),
        ],
    ),
    (
        "서울 부산을 잇다.",
        [
            (1, "서울", "NNP", "B-LC"),
            (2, "부산", "NNP", "B-LC"),
            (2, "을", "JKO", "O"),
            (3, "잇", "VV", "O"),
            (3, "다", "EF", "O"),
            (3, ".", "SF", "O"),
        ],
    ),
]
GOLD_NER = [[row[3] for row in rows] for _, rows in SENTENCES]
# The same entities in every scheme the builder reads.
TAGS_BY_SCHEME = {
    "iob2": GOLD_NER,
    "iob1": [
        ["I-PS", "I-PS", "I-PS", "O", "I-LC", "O", "O", "O", "O", "O"],
        ["I-LC", "B-LC", "O", "O", "O", "O"],
    ],
    "bioes": [
        ["B-PS", "I-PS", "E-PS", "O", "S-LC", "O", "O", "O", "O", "O"],
        ["S-LC", "S-LC", "O", "O", "O", "O"],
    ],
    "klp": [
        ["B_PS", "I", "I", "O", "B_LC", "O", "O", "O", "O", "O"],
        ["B_LC", "B_LC", "O", "O", "O", "O"],
    ],
}


def conll_text(tags=GOLD_NER, separator="\t", with_index=False, with_text=False, sentences=SENTENCES):
    blocks = []
    for (text, rows), sentence_tags in zip(sentences, tags, strict=True):
        lines = [f"# text = {text}"] if with_text else []
        for (index, morpheme, pos_tag, _), ner_tag in zip(rows, sentence_tags, strict=True):
            fields = ([str(index)] if with_index else []) + [morpheme, pos_tag, ner_tag]
            lines.append(separator.join(fields))
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def klp_text(sentences=SENTENCES, tags=TAGS_BY_SCHEME["klp"]):
    """KLP 2016 layout with LF endings; write it with CRLF through write_file."""
    blocks = []
    for (text, rows), sentence_tags in zip(sentences, tags, strict=True):
        lines = [f"; {text}", f"${text}"]
        lines += [
            f"{index}\t{morpheme}\t{pos_tag}\t{ner_tag}"
            for (index, morpheme, pos_tag, _), ner_tag in zip(rows, sentence_tags, strict=True)
        ]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks) + "\n"


def write_file(path: Path, text: str, crlf: bool = False) -> Path:
    path.write_bytes((text.replace("\n", "\r\n") if crlf else text).encode("utf-8"))
    return path


def write_klp_dir(folder: Path, names=("train.txt", "dev.txt", "test.txt"), text=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        write_file(folder / name, text or klp_text(), crlf=True)
    return folder


def ner_names(dataset):
    names = dataset.features["ner_tags"].feature.names
    return [[names[label] for label in sentence] for sentence in dataset["ner_tags"]]


def line_of(path: Path, number: int) -> str:
    return path.read_bytes().decode("utf-8").split("\n")[number - 1]


def assert_names_line(error: Exception, path: Path, number: int, line=None):
    message = str(error)
    assert f"{path}, line {number}:" in message
    assert repr(line_of(path, number) if line is None else line) in message
    assert "expected" in message


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


# --- the KLP 2016 corpus -----------------------------------------------------------------


@pytest.fixture(scope="module")
def klp2016(tmp_path_factory):
    if not (KLP2016_DIR / "train.txt").is_file():
        pytest.skip(
            f"KLP 2016 corpus not found at {KLP2016_DIR}: put the files 2016klp/ner.{{train,dev,test}} of "
            "https://github.com/kmounlp/NER there as train.txt, dev.txt, test.txt"
        )
    return load_korean_ner("klp2016", data_dir=KLP2016_DIR, cache_dir=tmp_path_factory.mktemp("klp2016_cache"))


def test_klp2016_sizes(klp2016):
    assert {split: dataset.num_rows for split, dataset in klp2016.items()} == {
        "train": 2928,
        "validation": 366,
        "test": 366,
    }
    assert sum(map(len, klp2016["train"]["tokens"])) == 114_256
    assert sum(map(len, klp2016["validation"]["tokens"])) == 14_077
    assert sum(map(len, klp2016["test"]["tokens"])) == 13_799


def test_klp2016_entity_spans_and_labels(klp2016):
    spans = {
        split: sum(tag.startswith("B-") for sentence in ner_names(dataset) for tag in sentence)
        for split, dataset in klp2016.items()
    }
    assert spans == {"train": 6275, "validation": 750, "test": 754}
    assert klp2016["train"].features["ner_tags"].feature.names == [
        "O", "B-DT", "I-DT", "B-LC", "I-LC", "B-OG", "I-OG", "B-PS", "I-PS", "B-TI", "I-TI",
    ]  # fmt: skip
    pos_names = klp2016["train"].features["pos_tags"].feature.names
    assert len(pos_names) == 42 and pos_names == sorted(pos_names)
    assert {"NNG", "NNP", "VV", "JKS", "EF", "SF"} <= set(pos_names)


def test_klp2016_first_sentence_matches_file(klp2016):
    block = (KLP2016_DIR / "train.txt").read_bytes().decode("utf-8").split("\r\n\r\n")[0].split("\r\n")
    first = klp2016["train"][0]
    assert first["id"] == "0"
    assert first["text"] == block[0][len("; ") :]
    rows = [line.split("\t") for line in block[2:]]
    assert first["tokens"] == [row[1] for row in rows]
    assert first["word_ids"] == [int(row[0]) - 1 for row in rows]
    assert first["word_ids"][0] == 0 and first["word_ids"][-1] == len(first["text"].split()) - 1
    expected_tags, open_type = [], None
    for row in rows:
        if row[3].startswith("B_"):
            open_type = row[3][2:]
        expected_tags.append("O" if row[3] == "O" else f"{'I' if row[3] == 'I' else 'B'}-{open_type}")
    assert ner_names(klp2016["train"].select([0]))[0] == expected_tags
    assert "B-PS" in expected_tags


def test_klp2016_upstream_file_names(tmp_path, cache_dir):
    folder = write_klp_dir(tmp_path / "upstream", names=("ner.train", "ner.dev", "ner.test"))
    dataset = load_korean_ner("klp2016", data_dir=folder, cache_dir=cache_dir)
    assert list(dataset) == ["train", "validation", "test"]
    assert ner_names(dataset["test"]) == GOLD_NER


# --- formats and tag schemes ----------------------------------------------------------------


@pytest.mark.parametrize("scheme", sorted(TAGS_BY_SCHEME))
@pytest.mark.parametrize("separator", ["\t", "  "])
def test_conll_tag_schemes_are_detected_and_normalised(tmp_path, cache_dir, scheme, separator):
    path = write_file(tmp_path / "train.conll", conll_text(TAGS_BY_SCHEME[scheme], separator=separator))
    dataset = load_korean_ner("conll", data_files=str(path), cache_dir=cache_dir)["train"]
    assert ner_names(dataset) == GOLD_NER
    assert dataset["tokens"][1] == ["서울", "부산", "을", "잇", "다", "."]
    assert dataset["word_ids"] == [[-1] * 10, [-1] * 6]
    assert dataset["text"] == ["", ""]
    forced = load_korean_ner("conll", data_files=str(path), cache_dir=cache_dir, tag_scheme=scheme)["train"]
    assert ner_names(forced) == GOLD_NER


def test_conll_eojeol_column_text_comments_and_docstart(tmp_path, cache_dir):
    # With a byte-order mark, which Windows editors write.
    text = "\ufeff-DOCSTART- -X- -X- O\n\n# sent_id = 1\n" + conll_text(with_index=True, with_text=True)
    path = write_file(tmp_path / "train.tsv", text)
    dataset = load_korean_ner("conll", data_files={"train": str(path)}, cache_dir=cache_dir)["train"]
    assert dataset.num_rows == 2
    assert dataset["text"] == [sentence_text for sentence_text, _ in SENTENCES]
    assert dataset["word_ids"] == [[index - 1 for index, *_ in rows] for _, rows in SENTENCES]
    assert ner_names(dataset) == GOLD_NER


@pytest.mark.parametrize("crlf", [False, True])
@pytest.mark.parametrize("ending", ["\n\n", "\n", ""])
def test_last_sentence_is_kept_whatever_the_file_ending(tmp_path, cache_dir, crlf, ending):
    conll = write_file(tmp_path / "train.conll", conll_text().rstrip("\n") + ending, crlf=crlf)
    klp_dir = tmp_path / "klp"
    klp_dir.mkdir()
    write_file(klp_dir / "train.txt", klp_text().rstrip("\n") + ending, crlf=True)
    for dataset in (
        load_korean_ner("conll", data_files=str(conll), cache_dir=cache_dir)["train"],
        load_korean_ner("klp2016", data_dir=klp_dir, cache_dir=cache_dir)["train"],
    ):
        assert dataset.num_rows == 2
        assert dataset["tokens"][-1][-1] == "."


def test_splits_and_label_ordering(tmp_path, cache_dir):
    train = [["B-TI", "O", "B-DT", "I-DT", "B-PS", "O", "O", "O", "O", "O"], ["O"] * 6]
    paths = {
        "train": write_file(tmp_path / "train.txt", conll_text(train)),
        "validation": write_file(tmp_path / "dev.txt", conll_text([["B-PS", "I-PS"] + ["O"] * 8, ["O"] * 6])),
    }
    dataset = load_korean_ner(
        "conll", data_files={split: str(path) for split, path in paths.items()}, cache_dir=cache_dir
    )
    assert list(dataset) == ["train", "validation"]
    assert dataset["train"].features["ner_tags"].feature.names == ["O", "B-DT", "I-DT", "B-PS", "I-PS", "B-TI", "I-TI"]
    assert dataset["train"].features["pos_tags"].feature.names == "EF EP JKB JKO JX NNG NNP SF VV".split()
    # I-PS never occurs in train, but PS does: I-PS is a known label.
    assert ner_names(dataset["validation"])[0][:2] == ["B-PS", "I-PS"]


def test_builder_reads_each_file_once_and_knows_features_before_preparing(tmp_path, cache_dir, monkeypatch):
    folder = write_klp_dir(tmp_path / "klp")
    reads = []
    original = korean_ner.READERS["klp"]
    monkeypatch.setitem(korean_ner.READERS, "klp", lambda path: reads.append(Path(path).name) or original(path))
    builder = KoreanNER(config_name="klp2016", data_dir=str(folder), cache_dir=str(cache_dir))
    assert builder.info.features["ner_tags"].feature.names == ["O", "B-LC", "I-LC", "B-PS", "I-PS"]
    builder.download_and_prepare()
    assert builder.as_dataset("test").num_rows == 2
    assert sorted(reads) == ["dev.txt", "test.txt", "train.txt"]


# --- errors ---------------------------------------------------------------------------------


def load_conll(path: Path, cache_dir: Path, **kwargs):
    return load_korean_ner("conll", data_files=str(path), cache_dir=cache_dir, **kwargs)


def test_wrong_column_count(tmp_path, cache_dir):
    text = conll_text().replace("한양\tNNP\tB-LC", "한양\tNNP")
    path = write_file(tmp_path / "train.conll", text)
    with pytest.raises(CorpusFormatError) as error:
        load_conll(path, cache_dir)
    assert_names_line(error.value, path, 5)
    assert "3 tab-separated fields" in str(error.value) and "; found 2:" in str(error.value)


def test_column_count_must_match_the_first_line(tmp_path, cache_dir):
    text = conll_text(with_index=True).replace("3\t한양\tNNP\tB-LC", "한양\tNNP\tB-LC")
    path = write_file(tmp_path / "train.conll", text)
    with pytest.raises(CorpusFormatError, match="expected 4 tab-separated fields") as error:
        load_conll(path, cache_dir)
    assert_names_line(error.value, path, 5)


def test_empty_morpheme(tmp_path, cache_dir):
    path = write_file(tmp_path / "train.conll", conll_text(with_index=True).replace("2\t이도\t", "2\t\t"))
    with pytest.raises(CorpusFormatError, match="non-empty field 2") as error:
        load_conll(path, cache_dir)
    assert_names_line(error.value, path, 3)


@pytest.mark.parametrize(
    "index, expected",
    [("x", "an integer eojeol index; found 'x'"), ("3", "eojeol index 1 or 2; found 3")],
)
def test_bad_eojeol_index(tmp_path, cache_dir, index, expected):
    path = write_file(tmp_path / "train.conll", conll_text(with_index=True).replace("2\t이도", f"{index}\t이도"))
    with pytest.raises(CorpusFormatError, match=expected) as error:
        load_conll(path, cache_dir)
    assert_names_line(error.value, path, 3)


@pytest.mark.parametrize(
    "scheme, first_sentence_tags, line, found",
    [
        ("iob2", ["B-PS", "I-PS", "I-PS", "O", "I-LC", "O", "O", "O", "O", "O"], 5, "'I-LC' after 'O'"),
        ("iob2", ["B-PS", "I-PS", "I-LC", "O", "B-LC", "O", "O", "O", "O", "O"], 3, "'I-LC' after 'I-PS'"),
        (
            "iob2",
            ["I-PS", "I-PS", "I-PS", "O", "B-LC", "O", "O", "O", "O", "O"],
            1,
            "'I-PS' at the start of the sentence",
        ),
        ("bioes", ["B-PS", "I-PS", "O", "O", "S-LC", "O", "O", "O", "O", "O"], 3, "'O' after 'I-PS'"),
        ("bioes", ["O", "E-PS", "O", "O", "S-LC", "O", "O", "O", "O", "O"], 2, "'E-PS' after 'O'"),
        ("bioes", ["O"] * 9 + ["B-PS"], 10, "the end of the sentence after 'B-PS'"),
        ("iob2", ["PER"] + ["O"] * 9, 1, "'PER'"),
    ],
)
def test_invalid_tag_sequences(tmp_path, cache_dir, scheme, first_sentence_tags, line, found):
    tags = [first_sentence_tags, TAGS_BY_SCHEME[scheme][1]]
    path = write_file(tmp_path / "train.conll", conll_text(tags))
    with pytest.raises(CorpusFormatError, match=f"; found {found}:") as error:
        load_conll(path, cache_dir, tag_scheme=scheme)
    assert_names_line(error.value, path, line)
    assert f"tag scheme '{scheme}'" in str(error.value)


def test_iob1_openings_are_detected_not_rejected(tmp_path, cache_dir):
    tags = [["B-PS", "I-PS", "I-LC", "O", "I-LC", "O", "O", "O", "O", "O"], ["O"] * 6]
    path = write_file(tmp_path / "train.conll", conll_text(tags))
    assert ner_names(load_conll(path, cache_dir)["train"])[0][:5] == ["B-PS", "I-PS", "B-LC", "O", "B-LC"]


@pytest.mark.parametrize(
    "tags, line, found",
    [
        (
            [["I", "I", "I", "O", "B_LC", "O", "O", "O", "O", "O"], TAGS_BY_SCHEME["klp"][1]],
            3,
            "'I' at the start of the sentence",
        ),
        ([TAGS_BY_SCHEME["klp"][0], ["B_LC", "O", "I", "O", "O", "O"]], 18, "'I' after 'O'"),
        ([TAGS_BY_SCHEME["klp"][0], ["B-LC", "B_LC", "O", "O", "O", "O"]], 16, "'B-LC'"),
    ],
)
def test_klp_bare_i_without_open_entity(tmp_path, cache_dir, tags, line, found):
    folder = write_klp_dir(tmp_path / "klp", names=("train.txt",), text=klp_text(tags=tags))
    with pytest.raises(CorpusFormatError, match=f"; found {found}:") as error:
        load_korean_ner("klp2016", data_dir=folder, cache_dir=cache_dir)
    assert_names_line(error.value, folder / "train.txt", line)


def klp_error(tmp_path, cache_dir, text, crlf=True):
    folder = tmp_path / "klp"
    folder.mkdir()
    path = write_file(folder / "train.txt", text, crlf=crlf)
    with pytest.raises(CorpusFormatError) as error:
        load_korean_ner("klp2016", data_dir=folder, cache_dir=cache_dir)
    return path, error.value


def test_klp_line_without_carriage_return(tmp_path, cache_dir):
    text = klp_text().replace("\n", "\r\n").replace("1\t서울\tNNP\tB_LC\r\n", "1\t서울\tNNP\tB_LC\n")
    path, error = klp_error(tmp_path, cache_dir, text, crlf=False)
    assert_names_line(error, path, 16, "1\t서울\tNNP\tB_LC")
    assert "expected a CRLF line ending like the first line of the file; found a bare LF" in str(error)


def test_stray_carriage_return_in_lf_file(tmp_path, cache_dir):
    path = write_file(tmp_path / "train.conll", conll_text().replace("대왕\tNNG", "대왕\r\tNNG"))
    with pytest.raises(CorpusFormatError, match="bare LF\\); found '\\\\r' at column 3:") as error:
        load_conll(path, cache_dir)
    assert_names_line(error.value, path, 2)


def test_header_line_without_dollar_line(tmp_path, cache_dir):
    text = klp_text().replace("$서울 부산을 잇다.\n", "")
    path, error = klp_error(tmp_path, cache_dir, text)
    assert_names_line(error, path, 15, "1\t서울\tNNP\tB_LC\r")
    assert "'$<annotated sentence>' line" in str(error)


def test_klp_sentence_without_header(tmp_path, cache_dir):
    text = klp_text().replace("; 서울 부산을 잇다.\n$서울 부산을 잇다.\n", "")
    path, error = klp_error(tmp_path, cache_dir, text)
    assert_names_line(error, path, 14, "1\t서울\tNNP\tB_LC\r")
    assert "'; <raw sentence>' line" in str(error)


def test_klp_wrong_column_count_and_word_count(tmp_path, cache_dir):
    path, error = klp_error(tmp_path, cache_dir, klp_text().replace("1\t서울\tNNP\tB_LC", "1\t서울\tNNP"))
    assert_names_line(error, path, 16)
    assert "expected 4 tab-separated fields" in str(error)


def test_klp_eojeol_indexes_must_cover_the_text(tmp_path, cache_dir):
    path, error = klp_error(tmp_path, cache_dir, klp_text().replace("; 서울 부산을 잇다.", "; 서울 부산을 잇다 ."))
    assert_names_line(error, path, 21)
    assert "last eojeol index to be 4" in str(error) and "; found 3:" in str(error)


def test_file_that_is_not_utf8(tmp_path, cache_dir):
    path = tmp_path / "train.conll"
    path.write_bytes(conll_text().encode("cp949"))
    with pytest.raises(CorpusFormatError, match="expected UTF-8 text") as error:
        load_conll(path, cache_dir)
    assert f"{path}, line 1:" in str(error.value)
    assert repr("세종\tNNP\tB-PS".encode("cp949")) in str(error.value)


def test_file_without_sentences(tmp_path, cache_dir):
    path = write_file(tmp_path / "train.conll", "# only a comment\n\n")
    with pytest.raises(CorpusFormatError, match="expected at least one sentence; found none"):
        load_conll(path, cache_dir)


def test_errors_skip_drops_bad_sentences_with_one_warning(tmp_path, cache_dir, caplog):
    bad_columns = conll_text().replace("한양\tNNP\tB-LC", "한양\tNNP")
    bad_tags = conll_text([GOLD_NER[0], ["O", "I-LC", "O", "O", "O", "O"]])
    path = write_file(tmp_path / "train.conll", bad_columns + "\n" + bad_tags + "\n" + conll_text())
    with caplog.at_level(logging.WARNING):
        dataset = load_conll(path, cache_dir, errors="skip", tag_scheme="iob2")["train"]
    assert dataset.num_rows == 4
    assert ner_names(dataset) == [GOLD_NER[1], GOLD_NER[0]] + GOLD_NER
    warnings = [
        record for record in caplog.records if record.levelno == logging.WARNING and "skipped" in record.message
    ]
    assert len(warnings) == 1
    assert f"skipped 2 malformed sentence(s) ({path}: 2)" in warnings[0].message
    assert f"{path}, line 5:" in warnings[0].message and f"{path}, line 31:" in warnings[0].message


def test_tag_only_in_dev_names_tag_split_file_and_line(tmp_path, cache_dir):
    train = write_file(tmp_path / "train.conll", conll_text([["B-PS", "I-PS", "I-PS"] + ["O"] * 7, ["O"] * 6]))
    dev = write_file(tmp_path / "dev.conll", conll_text())
    data_files = {"train": str(train), "validation": str(dev)}
    with pytest.raises(LabelSetError) as error:
        load_korean_ner("conll", data_files=data_files, cache_dir=cache_dir)
    message = str(error.value)
    assert "IOB2 NER tag 'B-LC' in the 'validation' split" in message
    assert f"({dev}, line 5: '한양\\tNNP\\tB-LC')" in message
    assert "ner_labels=" in message

    labels = ["O", "B-PS", "I-PS", "B-LC", "I-LC"]
    dataset = load_korean_ner("conll", data_files=data_files, cache_dir=cache_dir, ner_labels=labels)
    assert dataset["validation"].features["ner_tags"].feature.names == labels
    assert ner_names(dataset["validation"]) == GOLD_NER


def test_pos_tag_only_in_dev_and_supplied_pos_labels(tmp_path, cache_dir):
    train = write_file(tmp_path / "train.conll", conll_text())
    dev = write_file(tmp_path / "dev.conll", conll_text().replace("잇\tVV", "잇\tVA"))
    data_files = {"train": str(train), "validation": str(dev)}
    with pytest.raises(LabelSetError, match=f"POS tag 'VA' in the 'validation' split \\({dev}, line 15"):
        load_korean_ner("conll", data_files=data_files, cache_dir=cache_dir)
    pos_labels = ["VA", "VV", "EF", "EP", "JKB", "JKO", "JX", "NNG", "NNP", "SF"]
    dataset = load_korean_ner("conll", data_files=data_files, cache_dir=cache_dir, pos_labels=pos_labels)
    assert dataset["validation"].features["pos_tags"].feature.names == pos_labels


def test_supplied_labels_must_cover_the_data_and_be_iob2(tmp_path, cache_dir):
    path = write_file(tmp_path / "train.conll", conll_text())
    with pytest.raises(LabelSetError, match="does not occur in the supplied ner_labels"):
        load_conll(path, cache_dir, ner_labels=["O", "B-PS", "I-PS"])
    with pytest.raises(ValueError, match="ner_labels must be IOB2 labels"):
        load_conll(path, cache_dir, ner_labels=["O", "B_PS"])


def test_invalid_options(tmp_path, cache_dir):
    path = write_file(tmp_path / "train.conll", conll_text())
    with pytest.raises(ValueError, match="errors='ignore' is not supported"):
        load_conll(path, cache_dir, errors="ignore")
    with pytest.raises(ValueError, match="tag_scheme='bio' is not supported"):
        load_conll(path, cache_dir, tag_scheme="bio")
    with pytest.raises(ValueError, match="either data_dir or data_files"):
        load_korean_ner("conll", data_dir=tmp_path, data_files=str(path), cache_dir=cache_dir)
    with pytest.raises(ValueError, match="needs data_files"):
        load_korean_ner("conll", cache_dir=cache_dir)


def test_data_dir_with_two_files_for_one_split(tmp_path, cache_dir):
    folder = write_klp_dir(tmp_path / "klp", names=("train.txt", "dev.txt", "ner.dev"))
    with pytest.raises(ValueError, match="several validation files"):
        load_korean_ner("klp2016", data_dir=folder, cache_dir=cache_dir)


# --- download, cache, export ----------------------------------------------------------------


def set_offline(monkeypatch, offline: bool):
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", offline)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", offline)


def test_klp2016_offline_without_data_dir(cache_dir, monkeypatch):
    set_offline(monkeypatch, True)
    with pytest.raises(ConnectionError, match="offline mode is on.*Pass data_dir=.*train.txt, dev.txt and test.txt"):
        load_korean_ner("klp2016", cache_dir=cache_dir)


def test_klp2016_online_downloads_through_the_download_manager(tmp_path, cache_dir, monkeypatch):
    set_offline(monkeypatch, False)
    local_copy = write_klp_dir(tmp_path / "downloaded", names=("ner.train", "ner.dev", "ner.test"))
    requested = []

    class LocalDownloadManager(datasets.DownloadManager):
        def download(self, url_or_urls):
            requested.append(url_or_urls)
            return {split: str(local_copy / url.rsplit("/", 1)[1]) for split, url in url_or_urls.items()}

    builder = KoreanNER(config_name="klp2016", cache_dir=str(cache_dir))
    assert builder.info.features is None  # label names are only known once the files are there
    builder.download_and_prepare(dl_manager=LocalDownloadManager(dataset_name="korean_ner"))
    assert requested == [KLP2016_URLS]
    assert KLP2016_URLS["validation"] == "https://raw.githubusercontent.com/kmounlp/NER/master/2016klp/ner.dev"
    dataset = builder.as_dataset()
    assert dataset["train"].features["ner_tags"].feature.names == ["O", "B-LC", "I-LC", "B-PS", "I-PS"]
    assert ner_names(dataset["validation"]) == GOLD_NER


def test_edited_file_is_never_served_from_cache(tmp_path, cache_dir):
    path = write_file(tmp_path / "train.conll", conll_text())
    first = load_conll(path, cache_dir)["train"]
    again = load_conll(path, cache_dir)["train"]
    assert again.cache_files == first.cache_files  # unchanged file: prepared data reused
    write_file(path, conll_text().replace("B-LC\n", "B-OG\n"))
    edited = load_conll(path, cache_dir)["train"]
    assert edited.cache_files != first.cache_files
    assert ner_names(edited)[1][:2] == ["B-OG", "B-OG"]


def test_edited_file_in_data_dir_is_never_served_from_cache(tmp_path, cache_dir):
    folder = write_klp_dir(tmp_path / "klp")
    first = load_korean_ner("klp2016", data_dir=folder, cache_dir=cache_dir)["test"]
    write_file(folder / "test.txt", klp_text().replace("B_LC", "B_PS"), crlf=True)
    edited = load_korean_ner("klp2016", data_dir=folder, cache_dir=cache_dir)["test"]
    assert edited.cache_files != first.cache_files
    assert ner_names(edited)[1][:2] == ["B-PS", "B-PS"]


def test_parquet_round_trip(tmp_path, cache_dir):
    folder = write_klp_dir(tmp_path / "klp")
    original = load_korean_ner("klp2016", data_dir=folder, cache_dir=cache_dir)
    output = export_to_parquet(
        original, tmp_path / "export", dataset_name="Tiny KLP", license="other", description="Two sentences."
    )
    assert sorted(path.name for path in (output / "data").iterdir()) == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00001.parquet",
        "validation-00000-of-00001.parquet",
    ]
    card = (output / "README.md").read_text(encoding="utf-8")
    metadata = yaml.safe_load(card.split("---\n")[1])
    assert metadata["configs"] == [
        {
            "config_name": "default",
            "data_files": [{"split": split, "path": f"data/{split}-*"} for split in ("train", "validation", "test")],
        }
    ]
    assert metadata["license"] == "other"
    assert "`-1` at every position" in card and "Two sentences." in card

    reloaded = datasets.load_dataset(str(output), cache_dir=str(tmp_path / "reload_cache"))
    assert list(reloaded) == list(original)
    for split in original:
        assert reloaded[split].features == original[split].features
        assert reloaded[split].to_list() == original[split].to_list()


def test_sample_corpus(tmp_path):
    if not (SAMPLE_DIR / "train.txt").is_file():
        pytest.skip(f"The sample corpus is not in the package yet ({SAMPLE_DIR}/train.txt missing)")
    dataset = load_korean_ner("sample", cache_dir=tmp_path / "cache")
    assert list(dataset) == ["train", "validation", "test"]
    assert all(split.num_rows > 0 for split in dataset.values())
    assert all(dataset["train"]["text"])
    assert dataset["train"].features["ner_tags"].feature.names[0] == "O"


# --- the 2016 competition corpus (ner2016) ---------------------------------------------------

NER2016_TEXT = """\
세종	NNP	B_PS
은	JX	O
한양	NNP	B_LC
에	JKB	O
살	VV	O
았	EP	O
다	EF	O
.	SF	O

#	SW	O
서울	NNP	B_LC
시청	NNG	I
"""


def skip_without(folder: Path, name: str, origin: str):
    if not (folder / "train.txt").is_file():
        pytest.skip(f"{name} not found at {folder}: put {origin} there (read its SOURCE.md)")


@pytest.fixture(scope="module")
def ner2016(tmp_path_factory):
    skip_without(
        NER2016_DIR, "The 2016 competition corpus", "train.txt, dev.txt and gazette.txt of dsindex/Wapiti ner2016/"
    )
    return load_korean_ner("ner2016", data_dir=NER2016_DIR, cache_dir=tmp_path_factory.mktemp("ner2016_cache"))


def test_ner2016_sizes_and_labels(ner2016):
    assert {split: dataset.num_rows for split, dataset in ner2016.items()} == {"train": 3555, "validation": 501}
    assert [sum(map(len, dataset["tokens"])) for dataset in ner2016.values()] == [121_009, 17_394]
    spans = [sum(tag.startswith("B-") for tags in ner_names(dataset) for tag in tags) for dataset in ner2016.values()]
    assert spans == [10_206, 1_589]
    assert ner2016["train"].features["ner_tags"].feature.names == KLP_NER_LABELS
    # Two dev-only POS tags, kept as written: the labels come from both splits.
    assert {"SKG", "NKB"} <= set(ner2016["train"].features["pos_tags"].feature.names)
    for dataset in ner2016.values():
        assert set(dataset["text"]) == {""}
        assert {word_id for word_ids in dataset["word_ids"] for word_id in word_ids} == {-1}


def test_ner2016_gazette():
    skip_without(NER2016_DIR, "The 2016 competition corpus", "dsindex/Wapiti ner2016/ (see SOURCE.md)")
    entries = read_gazette(NER2016_DIR / "gazette.txt", entity_types=("PS", "LC", "OG", "DT", "TI"))
    assert len(entries) == 3755
    assert Counter(entry.type for entry in entries) == {"OG": 1223, "PS": 1219, "DT": 624, "LC": 549, "TI": 140}
    assert entries[0] == ("(주)한조", "OG") and entries[0].surface == "(주)한조"


def test_ner2016_shares_no_sentence_with_klp2016(ner2016, klp2016):
    def sentences(dataset_dict):
        return {"".join(tokens) for dataset in dataset_dict.values() for tokens in dataset["tokens"]}

    assert len(sentences(ner2016)) > 4000
    assert sentences(ner2016).isdisjoint(sentences(klp2016))


def test_ner2016_and_klp2016_concatenate_with_shared_label_names(ner2016, klp2016, tmp_path):
    labels = shared_label_names(
        KoreanNER(config_name="klp2016", data_dir=str(KLP2016_DIR), cache_dir=str(tmp_path)).info.features,
        ner2016,
    )
    assert labels["ner_labels"] == KLP_NER_LABELS
    assert set(labels["pos_labels"]) == set(klp2016["train"].features["pos_tags"].feature.names) | set(
        ner2016["train"].features["pos_tags"].feature.names
    )
    klp = load_korean_ner("klp2016", data_dir=KLP2016_DIR, cache_dir=tmp_path / "klp", **labels)
    ner = load_korean_ner("ner2016", data_dir=NER2016_DIR, cache_dir=tmp_path / "ner", **labels)
    train = datasets.concatenate_datasets([klp["train"], ner["train"]])
    assert train.num_rows == 2928 + 3555
    # Ids are re-mapped, not shifted: a sentence reads the same tags through either label set.
    assert ner_names(train.select([2928])) == ner_names(ner2016["train"].select([0]))
    assert ner_names(train.select([0])) == ner_names(klp2016["train"].select([0]))


def test_ner2016_layout(tmp_path, cache_dir):
    folder = tmp_path / "ner2016"
    folder.mkdir()
    write_file(folder / "train.txt", NER2016_TEXT)
    write_file(folder / "dev.txt", NER2016_TEXT.replace("#\tSW", "#\tSX"))
    write_file(folder / "gazette.txt", "서울\tLC\n")  # not a split: ignored by the loader
    dataset = load_korean_ner("ner2016", data_dir=folder, cache_dir=cache_dir)
    assert list(dataset) == ["train", "validation"]
    train = dataset["train"]
    # A '#' line opening a sentence is a morpheme: this layout has no comments.
    assert train["tokens"][1] == ["#", "서울", "시청"]
    assert ner_names(train) == [["B-PS", "O", "B-LC", "O", "O", "O", "O", "O"], ["O", "B-LC", "I-LC"]]
    assert train["word_ids"] == [[-1] * 8, [-1] * 3] and train["text"] == ["", ""]
    # The dev-only POS tag has a label id: labels come from train and validation.
    assert "SX" in train.features["pos_tags"].feature.names


def test_rebuild_text_writes_morphemes_out_as_kiwi_joins_them(kiwi_analyzer):
    # Sejong's ending ㄴ (compatibility jamo) composes onto the syllable before; JBK, a tag Kiwi does not know (a
    # typo of ner2016's), joins as UN instead of failing.
    rows = [
        ("포항", "NNP", "B-LC"),
        ("에", "JBK", "O"),
        ("속하", "VV", "O"),
        ("ㄴ", "ETM", "O"),
        ("팀", "NNG", "B-OG"),
    ]
    line = Line(7, "포항\tNNP\tB_LC", "포항\tNNP\tB_LC")
    tokens, tags, ner_tags = map(list, zip(*rows))
    sentence = Sentence(Path("train.txt"), tokens, tags, ner_tags, [-1] * 5, "", [line] * 5)
    marked = rebuild_text(sentence, kiwi_analyzer.kiwi)
    assert marked.text == "포항에 속한 팀" and marked.line_number == 7
    assert [(marked.text[start:end], kind) for start, end, kind in marked.entities] == [("포항", "LC"), ("팀", "OG")]


def test_ner2016_with_kiwi_trains_on_the_text_kiwi_rebuilds(tmp_path, cache_dir, kiwi_analyzer, monkeypatch):
    monkeypatch.setattr(korean_ner, "_default_analyzer", lambda: kiwi_analyzer)
    folder = tmp_path / "ner2016"
    folder.mkdir()
    write_file(folder / "train.txt", NER2016_TEXT)
    train = load_korean_ner("ner2016", data_dir=folder, cache_dir=cache_dir, analyzer="kiwi")["train"]
    assert train["text"] == ["세종은 한양에 살았다.", "#서울 시청"]
    spans = [
        [(text[span["start"] : span["end"]], span["type"]) for span in spans]
        for text, spans in zip(train["text"], train["entity_spans"])
    ]
    assert spans == [[("세종", "PS"), ("한양", "LC")], [("서울 시청", "LC")]]
    # Kiwi's morphemes, labelled through the rebuilt spans, with the eojeol index of the rebuilt spacing.
    first = dict(zip(train["tokens"][0], ner_names(train)[0]))
    assert first["세종"] == "B-PS" and first["한양"] == "B-LC"
    assert train["word_ids"][0][0] == 0 and max(train["word_ids"][0]) == 2
    # Kiwi reads #서울 as one hashtag: the entity's boundary falls inside it, so no morpheme is labelled.
    assert train["tokens"][1] == ["#서울", "시청"] and ner_names(train)[1] == ["O", "O"]


@pytest.mark.parametrize(
    "old, new, line, expected",
    [
        ("한양\tNNP\tB_LC", "3\t한양\tNNP\tB_LC", 3, "3 tab-separated fields (morpheme, POS tag, NER tag); found 4"),
        ("한양\tNNP\tB_LC", "한양 NNP B_LC", 3, "3 tab-separated fields (morpheme, POS tag, NER tag); found 1"),
        ("한양\tNNP", "한양\t", 3, "a non-empty field 2"),
        ("서울\tNNP\tB_LC", "서울\tNNP\tI", 11, "'I' only after 'B_<TYPE>' or 'I'"),
    ],
)
def test_ner2016_format_errors_name_file_and_line(tmp_path, cache_dir, old, new, line, expected):
    folder = tmp_path / "ner2016"
    folder.mkdir()
    path = write_file(folder / "train.txt", NER2016_TEXT.replace(old, new))
    with pytest.raises(CorpusFormatError, match=re.escape(expected)) as error:
        load_korean_ner("ner2016", data_dir=folder, cache_dir=cache_dir)
    assert_names_line(error.value, path, line)


def test_ner2016_needs_a_folder(cache_dir):
    with pytest.raises(ValueError, match="The 'ner2016' config needs data_files=... or data_dir=..."):
        load_korean_ner("ner2016", cache_dir=cache_dir)


def test_shared_label_names_rejects_other_objects():
    with pytest.raises(TypeError, match=r"corpora\[0\]: expected datasets.Features"):
        shared_label_names({"tokens": []})


def test_read_gazette(tmp_path):
    path = write_file(tmp_path / "gazette.txt", "10월 14일 ~ 16일\tDT\n서울\tLC\n서울\tOG\n", crlf=True)
    assert read_gazette(path) == [("10월 14일 ~ 16일", "DT"), ("서울", "LC"), ("서울", "OG")]


@pytest.mark.parametrize(
    "line, entity_types, expected",
    [
        ("서울", None, "2 tab-separated fields (surface, entity type); found 1"),
        ("서울\tLC\tx", None, "2 tab-separated fields (surface, entity type); found 3"),
        ("", None, "2 tab-separated fields (surface, entity type); found 1"),
        (" 서울\tLC", None, "a non-empty surface without leading or trailing spaces; found ' 서울'"),
        ("서울\tlc", None, "an upper-case entity type; found 'lc'"),
        ("서울\tLOC", ("PS", "LC"), "one of PS, LC; found 'LOC'"),
    ],
)
def test_read_gazette_errors_name_file_and_line(tmp_path, line, entity_types, expected):
    path = write_file(tmp_path / "gazette.txt", f"한양\tLC\n{line}\n세종\tPS\n")
    with pytest.raises(CorpusFormatError, match=re.escape(expected)) as error:
        read_gazette(path, entity_types=entity_types)
    assert_names_line(error.value, path, 2)


def test_read_gazette_mixed_line_endings_and_empty_file(tmp_path):
    path = write_file(tmp_path / "gazette.txt", "한양\tLC\r\n서울\tLC\n세종\tPS\r\n")
    with pytest.raises(CorpusFormatError, match="a CRLF line ending like the first line") as error:
        read_gazette(path)
    assert_names_line(error.value, path, 2)
    with pytest.raises(CorpusFormatError, match="at least one line"):
        read_gazette(write_file(tmp_path / "empty.txt", ""))


@pytest.mark.parametrize("reader", [read_klp, read_conll, read_ner2016])
def test_an_empty_corpus_file_is_refused_as_such(tmp_path, reader):
    path = write_file(tmp_path / "empty.txt", "")
    with pytest.raises(CorpusFormatError, match="expected at least one sentence; found an empty file"):
        list(reader(path))


# --- gold entity spans of raw sentences -------------------------------------------------------

# (raw sentence, '$' line, morpheme rows (eojeol index, morpheme, POS tag, KLP tag))
MARKED_KLP = [
    (
        "세종대왕은 <운동원인>을 <BBC> 10:30에 말했다.",
        "$<세종대왕:PS>은 <운동원인>을 <<BBC:OG>> <10:30:TI>에 말했다.",
        [
            (1, "세종", "NNP", "B_PS"), (1, "대왕", "NNG", "I"), (1, "은", "JX", "O"),
            (2, "<", "SS", "O"), (2, "운동", "NNG", "O"), (2, "원인", "NNG", "O"), (2, ">", "SS", "O"),
            (2, "을", "JKO", "O"), (3, "<", "SS", "O"), (3, "BBC", "SL", "B_OG"), (3, ">", "SS", "O"),
            (4, "10:30", "SN", "B_TI"), (4, "에", "JKB", "O"),
            (5, "말하", "VV", "O"), (5, "았", "EP", "O"), (5, "다", "EF", "O"), (5, ".", "SF", "O"),
        ],
    ),
    (
        "서울 부산을 잇다.",
        "$<서울:LC> <부산:LC>을 잇다.",
        [
            (1, "서울", "NNP", "B_LC"), (2, "부산", "NNP", "B_LC"), (2, "을", "JKO", "O"),
            (3, "잇", "VV", "O"), (3, "다", "EF", "O"), (3, ".", "SF", "O"),
        ],
    ),
]  # fmt: skip


def marked_klp_text(sentences=MARKED_KLP) -> str:
    blocks = []
    for text, marked, rows in sentences:
        lines = [f"; {text}", marked] + ["\t".join(map(str, row)) for row in rows]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks) + "\n"


def spans_of(sentence):
    return [(sentence.text[start:end], entity_type) for start, end, entity_type in sentence.entities]


def test_parse_entity_marks():
    text, entities = parse_entity_marks("<<BBC:OG>>방송과 <운동원인>, <10:30:TI> <a b:PS>")
    assert text == "<BBC>방송과 <운동원인>, 10:30 a b"
    assert entities == [EntitySpan(1, 4, "OG"), EntitySpan(17, 22, "TI"), EntitySpan(23, 26, "PS")]
    assert entities[0] == (1, 4, "OG")  # a plain (start, end, type) tuple


def test_entity_spans_of_klp_lines(tmp_path):
    path = write_file(tmp_path / "test.txt", marked_klp_text(), crlf=True)
    sentences, errors = load_entity_spans(path)
    assert errors == []
    assert [spans_of(sentence) for sentence in sentences] == [
        [("세종대왕", "PS"), ("BBC", "OG"), ("10:30", "TI")],
        [("서울", "LC"), ("부산", "LC")],
    ]
    assert [sentence.line_number for sentence in sentences] == [2, 22]
    assert sentences[1].sentence.tokens == ["서울", "부산", "을", "잇", "다", "."]
    assert sentences[1].sentence.ner_tags == ["B_LC", "B_LC", "O", "O", "O", "O"]


@pytest.mark.parametrize(
    "marked, expected",
    [
        (
            "$<서울:LC> <부산:LC>를 잇다.",
            "the ';' line has '서울 부산을 잇다.' where the unmarked '$' line has '서울 부산를 잇다.'",
        ),
        ("$<서울:LC> <부산:LC>을 잇다", "a difference at character 10 of the sentence"),
        ("$<서울 :LC> 부산을 잇다.", "an entity surface without leading or trailing whitespace; found '<서울 :LC>'"),
    ],
)
def test_misaligned_dollar_line_names_file_and_line(tmp_path, marked, expected):
    bad = [MARKED_KLP[0], (MARKED_KLP[1][0], marked, MARKED_KLP[1][2])]
    path = write_file(tmp_path / "test.txt", marked_klp_text(bad), crlf=True)
    with pytest.raises(CorpusFormatError, match=re.escape(expected)) as error:
        load_entity_spans(path)
    assert_names_line(error.value, path, 22, line=marked + "\r")
    # Collected instead of raised: counted, never dropped silently.
    sentences, errors = load_entity_spans(path, errors="collect")
    assert len(sentences) == 1 and len(errors) == 1 and errors[0].line_number == 22


def test_marked_sentences_file(tmp_path):
    path = write_file(tmp_path / "sentences.txt", "# comment <x:PS>\n\n<세종:PS>은 <1443년:DT>에 왔다.\n서울\n")
    sentences, errors = load_entity_spans(path, file_format="marked")
    assert errors == [] and [sentence.line_number for sentence in sentences] == [3, 4]
    assert spans_of(sentences[0]) == [("세종", "PS"), ("1443년", "DT")] and sentences[0].sentence is None
    assert sentences[1].entities == []


@pytest.mark.parametrize(
    "line, expected",
    [
        ("<세종:PS>은 <1443년:dt>에 왔다.", "no other angle bracket; found '<' at character 5"),
        ("<세종:PS>은 1443년>에 왔다.", "no other angle bracket; found '>' at character 10"),
        ("<세종:PS>은 왔다. ", "a sentence without leading or trailing whitespace"),
    ],
)
def test_marked_sentences_errors_name_file_and_line(tmp_path, line, expected):
    path = write_file(tmp_path / "sentences.txt", f"서울\n{line}\n")
    with pytest.raises(CorpusFormatError, match=re.escape(expected)) as error:
        load_entity_spans(path, file_format="marked")
    assert_names_line(error.value, path, 2)


def test_entity_span_options_are_checked(tmp_path):
    path = write_file(tmp_path / "sentences.txt", "서울\n")
    with pytest.raises(ValueError, match="file_format='conll' is not supported"):
        load_entity_spans(path, file_format="conll")
    with pytest.raises(ValueError, match="errors='skip' is not supported"):
        load_entity_spans(path, file_format="marked", errors="skip")


def klp_entity_types(sentence):
    return [tag[2:] for tag in sentence.sentence.ner_tags if tag.startswith("B_")]


def test_sample_entity_spans_match_its_split_files():
    marked, errors = load_entity_spans(SAMPLE_DIR / "sentences.txt", file_format="marked")
    assert errors == [] and len(marked) == 730
    split_entities = 0
    for split in ("train", "validation", "test"):
        sentences, errors = load_entity_spans(SAMPLE_DIR / f"{split}.txt")
        assert errors == []
        for sentence in sentences:
            assert [entity.type for entity in sentence.entities] == klp_entity_types(sentence)
            split_entities += len(sentence.entities)
    assert split_entities == sum(len(sentence.entities) for sentence in marked)


def test_klp2016_entity_spans():
    skip_without(KLP2016_DIR, "KLP 2016 corpus", "2016klp/ner.{train,dev,test} of kmounlp/NER")
    counts, disagreements = {}, {}
    for name in ("train", "dev", "test"):
        sentences, errors = load_entity_spans(KLP2016_DIR / f"{name}.txt", errors="collect")
        assert errors == []
        counts[name] = (len(sentences), sum(len(sentence.entities) for sentence in sentences))
        disagreements[name] = sum(
            [entity.type for entity in sentence.entities] != klp_entity_types(sentence) for sentence in sentences
        )
    assert counts == {"train": (2928, 6275), "dev": (366, 750), "test": (366, 754)}
    # Two train sentences whose '$' marks and morpheme tags differ (<한:LC><미:LC> tagged as one span, ...).
    assert disagreements == {"train": 2, "dev": 0, "test": 0}


# --- projection onto Kiwi's morphemes ----------------------------------------------------------

M = namedtuple("M", "form tag start end")


@pytest.mark.parametrize(
    "policy, expected_tags, dropped",
    [
        ("drop", ["O", "O", "O", "O", "O", "B-LC", "O"], [(0, 1, "LC"), (1, 2, "LC")]),
        ("expand", ["B-LC", "O", "O", "O", "O", "B-LC", "O"], [(1, 2, "LC")]),
    ],
)
def test_project_entities_policies(policy, expected_tags, dropped):
    # 한미  공조를 서울에서: '한미' is one morpheme holding two entities; two spaces between words.
    text = "한미  공조를 서울에서"
    morphemes = [
        M("한미", "NNP", 0, 2), M("공조", "NNG", 4, 6), M("를", "JKO", 6, 7), M("이", "VCP", 5, 5),
        M("", "X", 7, 7), M("서울", "NNP", 8, 10), M("에서", "JKB", 10, 12),
    ]  # fmt: skip
    entities = [EntitySpan(8, 10, "LC"), EntitySpan(1, 2, "LC"), EntitySpan(0, 1, "LC")]
    projection = project_entities(text, entities, morphemes, policy)
    assert projection.ner_tags == expected_tags
    assert projection.misaligned == [(0, 1, "LC"), (1, 2, "LC")]
    assert projection.dropped == dropped
    assert projection.word_ids == [0, 1, 1, 1, 1, 2, 2]
    assert projection.tokens[0] == "한미" and projection.pos_tags[:2] == ["NNP", "NNG"]


def test_project_entities_zero_width_morphemes_and_entities_over_nothing():
    text = "산책로예요 ."
    morphemes = [M("산책로", "NNG", 0, 3), M("이", "VCP", 3, 3), M("에요", "EF", 3, 5), M(".", "SF", 6, 7)]
    projection = project_entities(text, [EntitySpan(0, 3, "LC"), EntitySpan(5, 6, "LC")], morphemes)
    # The elided copula at the entity's end is outside it; the entity over the space has no morpheme.
    assert projection.ner_tags == ["B-LC", "O", "O", "O"]
    assert projection.misaligned == [] and projection.dropped == [(5, 6, "LC")]
    with pytest.raises(ValueError, match="misaligned_entities='shift' is not supported"):
        project_entities(text, [], morphemes, "shift")


@pytest.fixture(scope="module")
def kiwi_analyzer():
    pytest.importorskip("kiwipiepy", reason="re-analysis with Kiwi needs kiwipiepy: pip install -e '.[korean]'")
    from modeling_mtl_bilstm import KiwiMorphemeAnalyzer

    return KiwiMorphemeAnalyzer()


@pytest.fixture
def shared_kiwi(monkeypatch, kiwi_analyzer):
    """The builder's analyser is the module's: a new Kiwi takes a second or two to load."""
    monkeypatch.setattr(korean_ner, "_default_analyzer", lambda: kiwi_analyzer)
    return kiwi_analyzer


def test_reanalyse_with_kiwi_known_sentences(kiwi_analyzer):
    marked = [
        "<세종대왕:PS>은 <1443년:DT>에 훈민정음을 창제했다.",
        "<중국:LC>인 관광객이 <서울:LC>에 왔다.",  # Kiwi: 중국인/NNG, one morpheme
    ]
    sentences = [namedtuple("S", "text entities")(*parse_entity_marks(line)) for line in marked]
    projections, stats = reanalyse_with_kiwi(sentences, kiwi_analyzer)
    first, second = projections
    assert first.tokens == ["세종", "대왕", "은", "1443", "년", "에", "훈민정음", "을", "창제", "하", "었", "다", "."]
    assert first.pos_tags == ["NNP", "NNG", "JX", "SN", "NNB", "JKB", "NNP", "JKO", "NNG", "XSV", "EP", "EF", "SF"]
    assert first.ner_tags == ["B-PS", "I-PS", "O", "B-DT", "I-DT"] + ["O"] * 8
    assert first.word_ids == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3]
    assert second.tokens[0] == "중국인" and second.ner_tags[0] == "O" and "B-LC" in second.ner_tags
    assert second.misaligned == second.dropped == [(0, 2, "LC")]
    assert stats.as_dict() == {
        "sentences": 2,
        "entities": 4,
        "misaligned": 1,
        "expanded": 0,
        "dropped": 1,
        "misaligned_by_type": {"LC": 1},
        "trimmed": 0,
    }
    expanded, stats = reanalyse_with_kiwi(sentences[1:], kiwi_analyzer, misaligned_entities="expand")
    assert expanded[0].ner_tags[0] == "B-LC" and (stats.expanded, stats.dropped) == (1, 0)


def test_builder_analyzer_kiwi(tmp_path, cache_dir, shared_kiwi, caplog):
    folder = write_klp_dir(tmp_path / "klp", text=marked_klp_text())
    with caplog.at_level(logging.WARNING):
        builder = KoreanNER(config_name="klp2016", data_dir=str(folder), cache_dir=str(cache_dir), analyzer="kiwi")
        builder.download_and_prepare()
    test = builder.as_dataset("test")
    (expected,), stats = reanalyse_with_kiwi(load_entity_spans(folder / "test.txt")[0][1:], shared_kiwi)
    assert test["tokens"][1] == expected.tokens == ["서울", "부산", "을", "잇", "다", "."]
    assert ner_names(test)[1] == expected.ner_tags == ["B-LC", "B-LC", "O", "O", "O", "O"]
    assert test["word_ids"][1] == [0, 1, 1, 2, 2, 2]
    assert test["text"][1] == "서울 부산을 잇다."
    assert "B-OG" in ner_names(test)[0] and "B-TI" in ner_names(test)[0]
    assert {split: s.entities for split, s in builder.projection_stats.items()} == {
        "train": 5,
        "validation": 5,
        "test": 5,
    }
    assert "analyzer='kiwi'" in test.info.description and "inside a Kiwi morpheme" in test.info.description
    assert any("analyzer='kiwi'" in record.message for record in caplog.records)


def test_builder_analyzer_kiwi_labels_come_from_every_split(tmp_path, cache_dir, shared_kiwi):
    folder = tmp_path / "klp"
    folder.mkdir()
    write_file(folder / "train.txt", marked_klp_text(MARKED_KLP[1:]), crlf=True)
    write_file(folder / "test.txt", marked_klp_text(MARKED_KLP[:1]), crlf=True)
    with pytest.raises(LabelSetError):
        load_korean_ner("klp2016", data_dir=folder, cache_dir=cache_dir)
    dataset = load_korean_ner("klp2016", data_dir=folder, cache_dir=cache_dir, analyzer="kiwi")
    # Kiwi's tags of the test sentence (SN for 10:30, SL for BBC...) have ids though train lacks them.
    assert {"SL", "SN"} <= set(dataset["train"].features["pos_tags"].feature.names)
    assert "B-TI" in ner_names(dataset["test"])[0]


def test_builder_analyzer_kiwi_misaligned_dollar_line(tmp_path, cache_dir, shared_kiwi, caplog):
    bad = [MARKED_KLP[0], (MARKED_KLP[1][0], "$<서울:LC> <부산:LC>를 잇다.", MARKED_KLP[1][2])]
    folder = write_klp_dir(tmp_path / "klp", text=marked_klp_text(bad))
    with pytest.raises(CorpusFormatError, match="without its <surface:TYPE> marks") as error:
        load_korean_ner("klp2016", data_dir=folder, cache_dir=cache_dir, analyzer="kiwi")
    assert ", line 22:" in str(error.value)
    # The corpus's own morphemes do not need the '$' line.
    assert load_korean_ner("klp2016", data_dir=folder, cache_dir=cache_dir)["test"].num_rows == 2
    with caplog.at_level(logging.WARNING):
        dataset = load_korean_ner("klp2016", data_dir=folder, cache_dir=cache_dir, analyzer="kiwi", errors="skip")
    assert dataset["test"].num_rows == 1
    assert any("skipped 3 malformed sentence(s)" in record.message for record in caplog.records)


def test_analyzer_options_are_checked(tmp_path, cache_dir):
    path = write_file(tmp_path / "train.conll", conll_text())
    with pytest.raises(ValueError, match="analyzer='spacy' is not supported"):
        load_conll(path, cache_dir, analyzer="spacy")
    with pytest.raises(ValueError, match="misaligned_entities='shift' is not supported"):
        load_conll(path, cache_dir, misaligned_entities="shift")


def test_builder_licences_come_from_the_corpus_table():
    from modeling_mtl_bilstm.data_scripts.corpora import CORPORA

    configs = {config.name: config for config in KoreanNER.BUILDER_CONFIGS}
    for name in ("sample", "klp2016", "ner2016"):
        assert configs[name].license == CORPORA[name].license != ""
    assert configs["klp2016"].homepage == CORPORA["klp2016"].homepage
