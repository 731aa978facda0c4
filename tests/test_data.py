"""Tests of the Korean NER builder (data_scripts) and of modeling_mtl_bilstm.data.

Fixtures are written into tmp_path by the tests; the real KLP 2016 corpus is read from
<repo>/../shared/data/klp2016 and never copied into the repository.
"""

import logging
from pathlib import Path

import datasets
import pytest
import yaml
from huggingface_hub import constants as hub_constants

from modeling_mtl_bilstm.data import export_to_parquet, load_korean_ner
from modeling_mtl_bilstm.data_scripts import korean_ner
from modeling_mtl_bilstm.data_scripts.formats import CorpusFormatError
from modeling_mtl_bilstm.data_scripts.korean_ner import KLP2016_URLS, SAMPLE_DIR, KoreanNER, LabelSetError

KLP2016_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "klp2016"

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
