"""Tests of streaming corpora through `mtl-bilstm-ner predict` (JSON lines and Parquet inputs, bad records, --resume,
--num_workers) and of tagging a `datasets.Dataset` with `map(num_proc=N)` (modeling_mtl_bilstm.streaming), on a tiny
model trained on hand-written sentences."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


pytest.importorskip("kiwipiepy", reason="raw-text NER needs kiwipiepy: pip install -e '.[korean]'")

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from datasets import Dataset  # noqa: E402
from remote_code import block_imports  # noqa: E402
from tiny_models import train_marked_model, unmark  # noqa: E402

from modeling_mtl_bilstm import KoreanNERPredictor, cli  # noqa: E402
from modeling_mtl_bilstm.inference import predictor as predictor_module  # noqa: E402
from modeling_mtl_bilstm.streaming import resume_output, tag_dataset  # noqa: E402


REPO = Path(__file__).resolve().parents[1]
MARKED_SENTENCES = [
    "<세종대왕:PS>은 <1443년:DT>에 훈민정음을 창제했다.",
    "<이순신:PS>은 <1592년:DT>에 <한산도:LC>에서 크게 이겼다.",
    "어제 <부산:LC>에 갔어요.",
    "<김구:PS>는 <서울:LC>에서 세상을 떠났다.",
]
# Texts to tag, a blank one among them; 11 of them, so that blocks of 3 leave a short last block.
TEXTS = [unmark(marked)[0] for marked in MARKED_SENTENCES] * 2 + ["", "😀 Hello", "부산 서울"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, kiwi_analyzer):
    return train_marked_model(tmp_path_factory.mktemp("tiny-ner-model"), kiwi_analyzer, MARKED_SENTENCES)


@pytest.fixture(scope="module")
def expected_lines(model_dir, kiwi_analyzer) -> list[str]:
    """The JSON lines of TEXTS, from the predictor itself."""
    predictor = KoreanNERPredictor.from_pretrained(model_dir, analyzer=kiwi_analyzer)
    return [json.dumps(result, ensure_ascii=False) + "\n" for result in predictor(TEXTS)]


@pytest.fixture
def small_blocks(monkeypatch, kiwi_analyzer):
    """Blocks of 3 texts, so that an input makes several; predictors built in this process reuse the session's Kiwi
    (a new one takes seconds to load)."""
    monkeypatch.setattr(cli, "LINES_PER_CALL", 3)
    monkeypatch.setattr(predictor_module, "KiwiMorphemeAnalyzer", lambda: kiwi_analyzer)


def predict(model_dir, *flags: str) -> int:
    return cli.main(["predict", "--model", str(model_dir), *flags])


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8")
    return path


def write_parquet(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path, row_group_size=4)  # several row groups
    return path


def test_text_jsonl_and_parquet_inputs_give_the_same_lines(model_dir, expected_lines, small_blocks, tmp_path, capsys):
    text_file = tmp_path / "texts.txt"
    text_file.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    jsonl_file = write_jsonl(tmp_path / "texts.jsonl", [{"id": i, "body": text} for i, text in enumerate(TEXTS)])
    parquet_file = write_parquet(tmp_path / "texts.parquet", pa.table({"id": range(len(TEXTS)), "body": TEXTS}))
    # The suffix chooses the format, --input_format overrides it.
    renamed = tmp_path / "texts.data"
    renamed.write_bytes(parquet_file.read_bytes())
    for source, flags in [
        (text_file, []),
        (jsonl_file, ["--text_field", "body"]),
        (parquet_file, ["--text_field", "body"]),
        (renamed, ["--text_field", "body", "--input_format", "parquet"]),
    ]:
        output = tmp_path / f"{source.name}.out.jsonl"
        assert predict(model_dir, "--input", str(source), "--output", str(output), *flags) == 0
        assert output.read_text(encoding="utf-8") == "".join(expected_lines), source.name
        assert f"{len(TEXTS)}/{len(TEXTS)}" in capsys.readouterr().err  # the progress bar's total


def test_progress_bar_counts_sentences_per_second(model_dir, small_blocks, tmp_path, capsys):
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(TEXTS[:4]) + "\n", encoding="utf-8")
    assert predict(model_dir, "--input", str(source), "--output", str(tmp_path / "out.jsonl")) == 0
    assert "sentence/s" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bad.jsonl", b'{"text": "\xec\x84\x9c\xec\x9a\xb8"}\n["a list"]\n', 'line 2: expected a JSON object with a string field \'text\' \\(--text_field\\), received a JSON list'),
        ("bad.jsonl", b'{"text": "a"}\n{"body": "b"}\n', "line 2: expected a JSON object .*, received an object with the fields \\['body'\\]"),
        ("bad.jsonl", b'{"text": "a"}\n{"text": 3}\n', "line 2: expected a JSON object .*, received 'text' = 3"),
        ("bad.jsonl", b'{"text": "a"}\n\n', "line 2: expected a JSON object .*, received invalid JSON"),
        ("bad.jsonl", b'{"text": "caf\xe9"}\n', "line 1: expected UTF-8 text, found byte 0xe9"),
        ("latin1.txt", "서울\n".encode() + "café\n".encode("latin-1"), "line 2: expected UTF-8 text, found byte 0xe9"),
    ],
)  # fmt: skip
def test_bad_lines_name_the_file_the_line_and_what_was_expected(
    model_dir, small_blocks, tmp_path, capsys, name, content, message
):
    source = tmp_path / name
    source.write_bytes(content)
    with pytest.raises(SystemExit) as exit_info:
        predict(model_dir, "--input", str(source), "--output", str(tmp_path / "out.jsonl"))
    assert exit_info.value.code == 1
    error = capsys.readouterr().err
    assert error.startswith(f"mtl-bilstm-ner: error: {source}, ") or f"\nmtl-bilstm-ner: error: {source}, " in error
    assert re.search(message, error), error


@pytest.mark.parametrize(
    "table, message",
    [
        (pa.table({"body": ["a"]}), "expected a column 'text' \\(--text_field\\), received the columns \\['body'\\]"),
        (pa.table({"text": [1, 2]}), "expected the column 'text' to hold strings, received type int64"),
        (pa.table({"text": ["a", "b", "c", "d", "e", None]}), "row 6: expected a string in the column 'text', received null"),
    ],
)  # fmt: skip
def test_bad_parquet_names_the_file_the_row_and_what_was_expected(
    model_dir, small_blocks, tmp_path, capsys, table, message
):
    source = write_parquet(tmp_path / "bad.parquet", table)
    with pytest.raises(SystemExit) as exit_info:
        predict(model_dir, "--input", str(source), "--output", str(tmp_path / "out.jsonl"))
    assert exit_info.value.code == 1
    assert re.search(f"{re.escape(str(source))}.*{message}", capsys.readouterr().err)


def test_resume_continues_an_interrupted_output_without_loss_or_duplicates(
    model_dir, expected_lines, small_blocks, tmp_path
):
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    complete = "".join(expected_lines)
    for done in (0, 1, 5, len(TEXTS) - 1, len(TEXTS)):
        # An interruption: `done` complete lines, then half of the next one.
        half_line = expected_lines[done][: len(expected_lines[done]) // 2] if done < len(TEXTS) else ""
        output.write_text("".join(expected_lines[:done]) + half_line, encoding="utf-8")
        assert predict(model_dir, "--input", str(source), "--output", str(output), "--resume") == 0
        assert output.read_text(encoding="utf-8") == complete, done
    output.unlink()  # nothing to resume: a fresh output
    assert predict(model_dir, "--input", str(source), "--output", str(output), "--resume") == 0
    assert output.read_text(encoding="utf-8") == complete


def test_resume_refuses_an_output_longer_than_the_input(model_dir, expected_lines, small_blocks, tmp_path, capsys):
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(TEXTS[:2]) + "\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    output.write_text("".join(expected_lines[:3]), encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        predict(model_dir, "--input", str(source), "--output", str(output), "--resume")
    assert exit_info.value.code == 1
    assert (
        f"{source}: expected at least 3 inputs (the lines already in the output), found 2" in capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as exit_info:
        predict(model_dir, "--input", str(source), "--resume")
    assert exit_info.value.code == 2
    assert "--resume: expected an --output file to continue" in capsys.readouterr().err


def test_resume_output_counts_complete_lines_and_truncates_the_rest(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c"')
    assert resume_output(path) == 2
    assert path.read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    assert resume_output(path) == 2
    assert resume_output(tmp_path / "missing.jsonl") == 0


def test_workers_keep_the_input_order(model_dir, expected_lines, small_blocks, tmp_path):
    source = tmp_path / "texts.jsonl"
    write_jsonl(source, [{"text": text} for text in TEXTS])
    output = tmp_path / "out.jsonl"
    assert predict(model_dir, "--input", str(source), "--output", str(output), "--num_workers", "2") == 0
    assert output.read_text(encoding="utf-8") == "".join(expected_lines)


def test_a_predictor_pool_gives_the_predictors_results_in_order(model_dir, expected_lines):
    """Tasks of 3 texts over 2 processes: the results of a call and of a stream are the predictor's, in input
    order."""
    from modeling_mtl_bilstm import KoreanNERPredictorPool

    def lines(results):
        return [json.dumps(result, ensure_ascii=False) + "\n" for result in results]

    with KoreanNERPredictorPool(model_dir, num_workers=2, texts_per_task=3) as pool:
        assert lines(pool(TEXTS)) == expected_lines
        assert lines([pool(TEXTS[1])]) == expected_lines[1:2]
        assert lines(pool.stream(iter(TEXTS))) == expected_lines
        with pytest.raises(TypeError, match=r"^texts\[4\]: expected a str, received int"):
            list(pool.stream(iter([*TEXTS[:4], 7])))
        with pytest.raises(TypeError, match=r"^inputs\[1\]: expected a str"):
            pool(["서울", None])
        assert lines(pool(TEXTS[:2])) == expected_lines[:2]  # usable after an error
        assert repr(pool).startswith("KoreanNERPredictorPool(num_workers=2, KoreanNERPredictor(")


def test_a_predictor_pool_raises_the_error_of_loading_its_model(tmp_path):
    from modeling_mtl_bilstm import KoreanNERPredictorPool

    with pytest.raises(ValueError, match="num_workers: expected a positive int, received 0"):
        KoreanNERPredictorPool(tmp_path, num_workers=0)
    with pytest.raises(OSError, match="no file named model.safetensors"):  # an empty folder: no model in it
        KoreanNERPredictorPool(tmp_path, num_workers=2)


def test_a_process_predictor_keeps_kiwi_to_its_share_of_the_cores(model_dir):
    """Each worker process gets `threads_per_process` threads for the model and as many Kiwi workers: two processes
    with a Kiwi worker per core each would oversubscribe the cores."""
    from modeling_mtl_bilstm.streaming import load_predictor

    assert load_predictor(model_dir, num_threads=1).analyzer.kiwi.num_workers == 1
    assert load_predictor(model_dir).analyzer.kiwi.num_workers == os.cpu_count()


def test_cli_and_streaming_import_neither_torch_nor_transformers(tmp_path):
    """cli.py and streaming.py import torch-dependent modules only inside the commands that need them: with torch and
    transformers blocked, the parser builds and texts are read (the package's own __init__ is bypassed)."""
    source = tmp_path / "texts.jsonl"
    write_jsonl(source, [{"text": "서울"}, {"text": "부산"}])
    script = block_imports("torch", "transformers") + textwrap.dedent(
        f"""
        import sys, types

        package = types.ModuleType("modeling_mtl_bilstm")
        package.__path__ = [{str(REPO / "modeling_mtl_bilstm")!r}]
        sys.modules["modeling_mtl_bilstm"] = package
        from pathlib import Path
        from modeling_mtl_bilstm import cli, streaming

        cli._parser().parse_args(["predict", "--model", "m", "--backend", "onnx", "--num_workers", "2"])
        with open({str(source)!r}, "rb") as file:
            print(list(streaming.read_texts(file, "texts.jsonl", "jsonl")))
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "['서울', '부산']"


def test_tag_dataset_with_processes_adds_the_predictor_columns(model_dir, expected_lines, tmp_path):
    corpus = Dataset.from_dict({"id": list(range(len(TEXTS))), "body": TEXTS})
    expected = [json.loads(line) for line in expected_lines]
    tagged = tag_dataset(corpus, model_dir, text_column="body", batch_size=3, num_proc=2)
    assert tagged.column_names == ["id", "body", "entities", "tokens"]
    assert tagged["id"] == corpus["id"]
    for row, result in zip(tagged, expected):
        assert row["tokens"] == result["tokens"]
        assert [{**e, "score": pytest.approx(e["score"], abs=1e-5)} for e in result["entities"]] == row["entities"]
    with pytest.raises(KeyError, match="text_column: expected one of the columns \\['id', 'body'\\], received 'text'"):
        tag_dataset(corpus, model_dir)


def test_streaming_benchmark_checks_every_output_line(model_dir, tmp_path):
    """benchmarks/streaming.py on a few repeated sentences: the command runs in a child process, and the report has
    its time, peak memory and one output line per input, in order."""
    import importlib.util

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location("benchmark_streaming", REPO / "benchmarks" / "streaming.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    source = tmp_path / "sentences.txt"
    source.write_text("\n".join(TEXTS[:4]) + "\n", encoding="utf-8")
    result = module.main(
        ["--model", str(model_dir), "--sentences", "10", "--source_text", str(source), "--input_format", "parquet"]
        + ["--work_dir", str(tmp_path), "--output", str(tmp_path / "report.json")]
    )
    assert result["output_lines"] == 10 and result["output_in_input_order"] and result["returncode"] == 0
    assert result["peak_rss_mb_all_processes"] > 0 and result["sentences_per_second"] > 0
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8")) == result
