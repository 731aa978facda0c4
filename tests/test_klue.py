"""KLUE-NER as a corpus: its TSV reader and writer, the fixed split of its dev file, the builder's Kiwi projection,
the Hub layout of klue/klue (ner), and its licence terms.

Fixtures are sentences written here; the real dev file is read from <repo>/../shared/data/klue-ner/.
"""

import json
from collections import Counter
from pathlib import Path

import datasets
import pytest

from modeling_mtl_bilstm.data import klue_hub_to_files, load_korean_ner
from modeling_mtl_bilstm.data_scripts import korean_ner
from modeling_mtl_bilstm.data_scripts.corpora import CORPORA
from modeling_mtl_bilstm.data_scripts.formats import (
    KLUE_FILE_HEADER,
    CorpusFormatError,
    EntitySpan,
    parse_entity_marks,
    read_klue,
    write_klue,
)
from modeling_mtl_bilstm.data_scripts.korean_ner import KLUE_SPLIT_FRACTIONS, klue_split


KLUE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "klue-ner"
# klue/klue (ner)'s ClassLabel names, in its id order.
HUB_NER_NAMES = ["B-DT", "I-DT", "B-LC", "I-LC", "B-OG", "I-OG", "B-PS", "I-PS", "B-QT", "I-QT", "B-TI", "I-TI", "O"]
MARKED = [
    "<김철수:PS> 씨는 <서울:LC>에서 <세 명:QT>을 만났다.",
    "<한국은행:OG>은 <어제:DT> <오후 3시:TI>에 금리를 올렸다.",
    "영화가 정말 재밌었어요 ㅋㅋ <박:PS>배우 최고!",
    "<부산:LC> 사람 <이영희:PS>는 <사과 두 개:QT>를 샀다.",
]


def char_rows(marked: str) -> tuple[str, list[str], list[str]]:
    """A marked sentence as KLUE writes it: the marked line, its characters and their IOB2 tags."""
    text, entities = parse_entity_marks(marked)
    tags = ["O"] * len(text)
    for entity in entities:
        tags[entity.start : entity.end] = [f"B-{entity.type}"] + [f"I-{entity.type}"] * (entity.end - entity.start - 1)
    return marked, list(text), tags


def sentence_ids(count: int, part: str = "dev") -> list[str]:
    sources = ("wikitree", "nsmc")
    return [f"klue-ner-v1_{part}_{index:05d}-{sources[index % 2]}" for index in range(count)]


def write_dev_file(folder: Path, count: int = 40, name: str = "klue-ner-v1.1_dev.tsv", part: str = "dev") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        (sentence_id, *char_rows(MARKED[i % len(MARKED)])) for i, sentence_id in enumerate(sentence_ids(count, part))
    ]
    return write_klue(folder / name, rows)


@pytest.fixture
def shared_kiwi(monkeypatch, kiwi_analyzer):
    """The builder's analyser is the session's: a new Kiwi takes a second or two to load."""
    monkeypatch.setattr(korean_ner, "_default_analyzer", lambda: kiwi_analyzer)
    return kiwi_analyzer


def test_read_klue_gives_text_and_character_spans(tmp_path):
    path = write_dev_file(tmp_path, count=2)
    assert path.read_text(encoding="utf-8").startswith(KLUE_FILE_HEADER)
    first, second = read_klue(path)
    assert first.text == "김철수 씨는 서울에서 세 명을 만났다."
    assert first.entities == [EntitySpan(0, 3, "PS"), EntitySpan(7, 9, "LC"), EntitySpan(12, 15, "QT")]
    assert (first.source_id, first.line_number, first.trimmed_entities) == ("klue-ner-v1_dev_00000-wikitree", 6, 0)
    assert second.entities[2] == EntitySpan(9, 14, "TI") and second.text[9:14] == "오후 3시"


def test_read_klue_trims_whitespace_at_entity_ends_and_counts_it(tmp_path):
    _, characters, tags = char_rows("나이는 <24살:QT>이다")
    tags[3] = "B-QT"  # the space before the entity, as 2 of KLUE dev's entities are tagged
    tags[4] = "I-QT"
    (sentence,) = read_klue(
        write_klue(tmp_path / "klue-ner-v1.1_dev.tsv", [("klue-ner-v1_dev_00000-nsmc", "", characters, tags)])
    )
    assert sentence.entities == [EntitySpan(4, 7, "QT")] and sentence.trimmed_entities == 1


@pytest.mark.parametrize(
    ("line", "replacement", "expected"),
    [
        ("철\tI-PS", "철\tI-PS\textra", "a character, a tab and its character-level IOB2 tag; found 3 field(s)"),
        ("철\tI-PS", "철수\tI-PS", "found 2 characters before the tab"),
        ("철\tI-PS", "철\tI-LC", "'I-LC' only after 'B-LC' or 'I-LC'"),
    ],
)
def test_read_klue_errors_name_file_and_line(tmp_path, line, replacement, expected):
    path = write_dev_file(tmp_path, count=1)
    text = path.read_text(encoding="utf-8")
    assert line in text
    path.write_text(text.replace(line, replacement, 1), encoding="utf-8")
    (error,) = read_klue(path)
    assert isinstance(error, CorpusFormatError) and expected in str(error)
    assert f"{path}, line 8:" in str(error)  # the header's 5 lines, the sentence line, then 김, 철


def test_klue_split_is_a_fixed_function_of_the_sentence_number():
    ids = sentence_ids(4000)
    splits = [klue_split(sentence_id) for sentence_id in ids]
    # The same number from a Hub row (no source suffix) lands in the same split.
    assert splits[:50] == [klue_split(f"klue-ner-v1_dev_{index:05d}") for index in range(50)]
    counts = Counter(splits)
    for split, fraction in KLUE_SPLIT_FRACTIONS:
        assert abs(counts[split] / len(ids) - fraction) < 0.02, counts


def test_builder_reads_the_dev_file_into_three_fixed_splits(tmp_path, shared_kiwi):
    folder = tmp_path / "klue"
    write_dev_file(folder)
    corpus = load_korean_ner("klue", data_dir=folder, cache_dir=tmp_path / "cache")
    expected = Counter(klue_split(sentence_id) for sentence_id in sentence_ids(40))
    assert {split: corpus[split].num_rows for split in corpus} == dict(expected)
    for split, dataset in corpus.items():
        assert all(klue_split(sentence_id) == split for sentence_id in dataset["id"])
    names = corpus["train"].features["ner_tags"].feature.names
    assert names == [
        "O",
        "B-DT",
        "I-DT",
        "B-LC",
        "I-LC",
        "B-OG",
        "I-OG",
        "B-PS",
        "I-PS",
        "B-QT",
        "I-QT",
        "B-TI",
        "I-TI",
    ]
    example = next(row for row in corpus["train"] if row["text"].startswith("김철수"))
    tags = [names[tag] for tag in example["ner_tags"]]
    # Kiwi's morphemes carry the projected character spans; QT stays a type.
    assert example["tokens"][:2] == ["김철수", "씨"] and tags[0] == "B-PS"
    assert any(tag == "B-QT" for tag in tags)
    assert "silver" in corpus["train"].info.description and "CC BY-SA 4.0" in corpus["train"].info.license


def test_builder_with_the_official_training_file(tmp_path, shared_kiwi):
    folder = tmp_path / "klue"
    write_dev_file(folder)
    write_dev_file(folder, count=6, name="klue-ner-v1.1_train.tsv", part="train")
    corpus = load_korean_ner("klue", data_dir=folder, cache_dir=tmp_path / "cache")
    assert corpus["train"].num_rows == 6 and all("_train_" in sentence_id for sentence_id in corpus["train"]["id"])
    # The dev file's test share is the same test split as without the training file; the rest validates.
    assert {klue_split(sentence_id) for sentence_id in corpus["test"]["id"]} == {"test"}
    assert corpus["validation"].num_rows + corpus["test"].num_rows == 40


def test_builder_refuses_what_klue_is_not(tmp_path):
    with pytest.raises(FileNotFoundError, match="No KLUE-NER dev file"):
        load_korean_ner("klue", data_dir=tmp_path)
    write_dev_file(tmp_path, count=2)
    with pytest.raises(ValueError, match="needs analyzer='kiwi'"):
        load_korean_ner("klue", data_dir=tmp_path, analyzer="corpus", cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="needs data_dir"):
        load_korean_ner("klue")


def hub_rows(count: int) -> dict:
    rows = {"sentence": [], "tokens": [], "ner_tags": []}
    for index in range(count):
        marked, characters, tags = char_rows(MARKED[index % len(MARKED)])
        rows["sentence"].append(marked)
        rows["tokens"].append(characters)
        rows["ner_tags"].append([HUB_NER_NAMES.index(tag) for tag in tags])
    return rows


HUB_FEATURES = datasets.Features(
    {
        "sentence": datasets.Value("string"),
        "tokens": datasets.List(datasets.Value("string")),
        "ner_tags": datasets.List(datasets.ClassLabel(names=HUB_NER_NAMES)),
    }
)


def test_hub_layout_gives_the_same_corpus_as_the_files(tmp_path, shared_kiwi):
    hub = datasets.DatasetDict({"validation": datasets.Dataset.from_dict(hub_rows(40), features=HUB_FEATURES)})
    from_hub = load_korean_ner("klue", dataset=hub, cache_dir=tmp_path / "cache")
    folder = tmp_path / "klue"
    write_dev_file(folder)
    from_files = load_korean_ner("klue", data_dir=folder, cache_dir=tmp_path / "cache")
    for split in ("train", "validation", "test"):
        for column in ("tokens", "pos_tags", "ner_tags", "text"):
            assert from_hub[split][column] == from_files[split][column], (split, column)
    # A bare Dataset is the dev set; the folder is keyed by the data, so a second call reuses it.
    single = datasets.Dataset.from_dict(hub_rows(40), features=HUB_FEATURES)
    assert klue_hub_to_files(single, tmp_path / "hub") == klue_hub_to_files(single, tmp_path / "hub")


def test_hub_layout_errors(tmp_path):
    wrong = datasets.DatasetDict({"test": datasets.Dataset.from_dict(hub_rows(2), features=HUB_FEATURES)})
    with pytest.raises(ValueError, match="expected klue/klue's ner splits"):
        load_korean_ner("klue", dataset=wrong, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="expected name='klue'"):
        load_korean_ner("sample", dataset=wrong)
    no_tags = datasets.Dataset.from_dict({"sentence": ["a"], "tokens": [["a"]]})
    with pytest.raises(ValueError, match="missing \\['ner_tags'\\]"):
        load_korean_ner("klue", dataset=no_tags, cache_dir=tmp_path)


def test_klue_may_be_redistributed_with_attribution():
    terms = CORPORA["klue"]
    assert terms.redistribution_forbidden is None and terms.hub_license == "cc-by-sa-4.0"
    assert "Park et al., 2021" in terms.description and "CC BY-SA 4.0" in terms.license


@pytest.mark.skipif(not KLUE_DIR.is_dir(), reason=f"the KLUE-NER dev file is not in {KLUE_DIR}")
def test_shared_klue_dev_file(tmp_path):
    sentences = list(read_klue(KLUE_DIR / "klue-ner-v1.1_dev.part.tsv"))
    assert len(sentences) == 4000 and not any(isinstance(s, CorpusFormatError) for s in sentences)
    assert sum(len(s.entities) for s in sentences) == 11384 and sum(s.trimmed_entities for s in sentences) == 2
    splits = Counter(klue_split(s.source_id) for s in sentences)
    assert splits == {"train": 3040, "validation": 411, "test": 549}
    # Each split keeps the file's news/review mix.
    for split in splits:
        sources = Counter(s.source_id.rsplit("-", 1)[1] for s in sentences if klue_split(s.source_id) == split)
        assert abs(sources["nsmc"] / splits[split] - 1977 / 4000) < 0.05, (split, sources)


def test_push_dataset_publishes_klue_with_its_attribution(tmp_path, shared_kiwi, monkeypatch):
    from modeling_mtl_bilstm.hub.publish import build_dataset_folder

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "klue"
    write_dev_file(folder)
    built = build_dataset_folder("klue", tmp_path / "hub", repo_id="me/klue-ner-ko", data_dir=folder)
    card = (built / "README.md").read_text(encoding="utf-8")
    assert "license: cc-by-sa-4.0" in card and "Park et al., 2021" in card
    assert datasets.load_dataset(str(built))["test"].num_rows == Counter(map(klue_split, sentence_ids(40)))["test"]


def test_a_gazetteer_of_klue_entities_may_be_published_and_the_card_credits_every_corpus(tmp_path):
    from modeling_mtl_bilstm.hub.model_card import training_corpora
    from modeling_mtl_bilstm.hub.publish import GAZETTEER_FILE, RestrictedLicenseError, check_gazetteer_terms

    (tmp_path / GAZETTEER_FILE).write_text("{}", encoding="utf-8")
    open_run = {
        "dataset": "klue",
        "arguments": {"data": {"gazetteer_from_training": True, "extra_train_corpora": ["sample"]}},
    }
    check_gazetteer_terms(tmp_path, open_run)  # no refusal
    assert list(training_corpora(open_run)) == ["klue", "sample"]
    restricted = {
        **open_run,
        "arguments": {"data": {"gazetteer_from_training": True, "extra_train_corpora": ["klp2016=x"]}},
    }
    with pytest.raises(RestrictedLicenseError, match="entities of klp2016"):
        check_gazetteer_terms(tmp_path, restricted)


def test_model_card_credits_every_training_corpus_under_the_most_restrictive_licence(tiny_config):
    from modeling_mtl_bilstm.hub.model_card import render_model_card

    config = tiny_config(vocab_size=10, tasks=("ner",), ner_id2label={0: "O", 1: "B-PS", 2: "I-PS"})
    mixed = {"dataset": "klue", "arguments": {"data": {"extra_train_corpora": ["klp2016=x", "sample"]}}}
    card = render_model_card(config, 100, run_info=mixed)
    assert (card.data.license, card.data.license_name) == ("other", "klp2016-non-commercial")
    assert card.data.datasets == ["klue", "klp2016", "sample"] and "Park et al., 2021" in card.text
    open_card = render_model_card(config, 100, run_info={"dataset": "klue", "arguments": {"data": {}}})
    assert open_card.data.license == "cc-by-sa-4.0" and "--max_train_sentences" not in open_card.text
    assert "KLUE's guidelines differ from KLP 2016's" in open_card.text
    subset = {"dataset": "klue", "arguments": {"data": {"max_train_sentences": 1000}}}
    assert (
        "a fixed subset of 1,000 sentences\n(`--max_train_sentences 1000`"
        in render_model_card(config, 100, run_info=subset).text
    )


def test_the_open_recipe_trains_on_redistributable_corpora_and_publishes_without_refusal(
    tmp_path, shared_kiwi, monkeypatch, train, tiny_training_flags
):
    """examples/open_model.json: every corpus it trains on (and so every gazetteer entry) may be redistributed, so
    its Hub folder needs no --allow_restricted_license; the card credits KLUE under CC BY-SA 4.0."""
    from transformers import HfArgumentParser

    from modeling_mtl_bilstm.hub.publish import build_hub_folder
    from modeling_mtl_bilstm.training import ARGUMENT_CLASSES
    from modeling_mtl_bilstm.training.corpus import parse_corpus_argument

    recipe = Path(__file__).resolve().parents[1] / "examples" / "open_model.json"
    _, data_args, _, _ = HfArgumentParser(ARGUMENT_CLASSES).parse_json_file(str(recipe))
    corpora = [data_args.dataset] + [parse_corpus_argument(a)[0] for a in data_args.extra_train_corpora]
    assert all(CORPORA[name].redistribution_forbidden is None for name in corpora) and not data_args.gazetteer

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "klue"
    write_dev_file(folder)
    arguments = json.loads(recipe.read_text())
    arguments.update(data_dir=str(folder), output_dir=str(tmp_path / "run"))
    argv = [f"--{name}={value}" for name, value in arguments.items() if not isinstance(value, list)]
    argv += ["--extra_train_corpora", *arguments["extra_train_corpora"], "--num_train_epochs", "1"]
    train([*argv, *tiny_training_flags])
    hub = build_hub_folder(tmp_path / "run", tmp_path / "hub", repo_id="me/open-ner-ko")
    card = (hub / "README.md").read_text(encoding="utf-8")
    assert "license: cc-by-sa-4.0" in card and "Park et al., 2021" in card and "- sample" in card
    assert "the model is trained on klue and sample (" in card
    assert (hub / "gazetteer.json").is_file()
