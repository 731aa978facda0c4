"""Tests of the Gradio demo (examples/space/app.py) and of its publishing (examples/push_space_to_hub.py):
the handler called directly, the app served on 127.0.0.1 and queried with gradio_client, and the Space folder.

A tiny multi-task model is trained (about a second) on the app's own examples, marked by hand, so that it
tags them as marked; tests/test_space_browser.py reuses it."""

import importlib.metadata
import importlib.util
import json
import os
import re
import site
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


pytest.importorskip("kiwipiepy", reason="the demo needs kiwipiepy: pip install -e '.[demo]'")
pytest.importorskip("gradio", reason="the demo needs gradio: pip install -e '.[demo]'")

from gradio_client import Client  # noqa: E402
from huggingface_hub import CommitInfo, SpaceCard  # noqa: E402
from tiny_models import train_marked_model, unmark  # noqa: E402

from modeling_mtl_bilstm import (  # noqa: E402
    KiwiMorphemeAnalyzer,
    KoreanNERPredictor,
)


REPO = Path(__file__).resolve().parents[1]
SPACE_DIR = REPO / "examples" / "space"
MODEL_REPO_ID = "test-org/mtl-bilstm-ner-ko"
MODEL_REVISION = "0123456789abcdef0123456789abcdef01234567"
SPACE_REPO_ID = "test-org/mtl-bilstm-ner-demo"

# The app's examples with their entities marked <surface:TYPE>, and two more sentences.
MARKED_SENTENCES = [
    "<세종대왕:PS>은 <1443년:DT>에 <경복궁:LC>에서 훈민정음을 만들었다.",
    "<정조:PS>는 <1796년:DT>에 <수원:LC> <화성:LC>을 완성했다.",
    "<안동:LC> <하회마을:LC>에서는 <매년 10월:DT>에 탈춤 축제가 열린다.",
    "<국립중앙박물관:OG>은 <오전 10시:TI>에 문을 열고 <조선:LC> 백자를 전시한다.",
    "<전주:LC> 비빔밥은 <조선:LC> 시대부터 전해 내려온 음식이다.",
    "<이순신:PS>은 <한산도:LC>에서 크게 이겼다.",
    "떡국은 새해 첫날 먹는 음식이다.",
]


def load_script(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app():
    return load_script(SPACE_DIR / "app.py", "space_app")


@pytest.fixture(scope="module")
def push_space():
    return load_script(REPO / "examples" / "push_space_to_hub.py", "push_space_to_hub")


# One Kiwi and one tiny model per test session, for this module and tests/test_space_browser.py: a new Kiwi takes
# seconds to warm up.
_SHARED = {}


def shared_analyzer() -> KiwiMorphemeAnalyzer:
    if "analyzer" not in _SHARED:
        _SHARED["analyzer"] = KiwiMorphemeAnalyzer()
    return _SHARED["analyzer"]


def shared_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if "model_dir" not in _SHARED:
        directory = tmp_path_factory.mktemp("tiny-test-model")
        _SHARED["model_dir"] = train_marked_model(directory, shared_analyzer(), MARKED_SENTENCES)
    return _SHARED["model_dir"]


def launch(blocks) -> str:
    """Serves `blocks` on 127.0.0.1 in this process (close it with `blocks.close()`); returns its URL."""
    port = free_port()
    _, local_url, _ = blocks.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    assert local_url == f"http://127.0.0.1:{port}/"
    return local_url


@pytest.fixture(scope="module")
def analyzer():
    return shared_analyzer()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return shared_model_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def demo(app, model_dir, analyzer):
    return app.NERDemo(KoreanNERPredictor.from_pretrained(model_dir, analyzer=analyzer), max_chars=200)


# ---------------------------------------------------------------- the handler, called directly


def test_examples_are_the_marked_sentences(app):
    assert app.EXAMPLES == [unmark(marked)[0] for marked in MARKED_SENTENCES[: len(app.EXAMPLES)]]


@pytest.mark.parametrize("marked", MARKED_SENTENCES[:5])
def test_entities_are_highlighted_and_tabulated(demo, marked):
    text, expected = unmark(marked)
    highlighted, rows, result, morphemes, status = demo.analyze(text)

    assert "".join(piece for piece, _ in highlighted) == text
    assert [piece for piece in highlighted if piece[1] is not None] == [(e[0], e[1]) for e in expected]
    assert all(piece for piece, _ in highlighted)
    assert [row[:4] for row in rows] == [list(entity) for entity in expected]
    assert all(isinstance(row[4], float) and 0 < row[4] <= 1 and row[4] == round(row[4], 3) for row in rows)
    assert [(e["text"], e["type"], e["start"], e["end"]) for e in result["entities"]] == expected
    assert result["text"] == text
    json.dumps(result)  # the JSON component's value
    assert re.fullmatch(rf"{len(expected)} entities, {len(morphemes)} morphemes in \d+ ms\.", status)


def test_morphemes_carry_the_pos_head_tags(demo, analyzer):
    text = unmark(MARKED_SENTENCES[0])[0]
    _, _, result, rows, _ = demo.analyze(text)
    (morphemes,) = analyzer.analyze([text])[0]
    # The tiny model learnt Kiwi's tags: its POS head gives them back.
    assert [row[:3] for row in rows] == [[m.form, m.tag, m.kiwi_tag] for m in morphemes]
    assert [row[4:] for row in rows] == [[m.start, m.end] for m in morphemes]
    assert [row[3] for row in rows] == [token["ner"] for token in result["tokens"]]
    assert rows[0][:4] == ["세종", "NNP", "NNP", "B-PS"]


def test_text_without_entities(demo):
    highlighted, rows, result, morphemes, status = demo.analyze("떡국은 새해 첫날 먹는 음식이다.")
    assert highlighted == [("떡국은 새해 첫날 먹는 음식이다.", None)]
    assert rows == [] and result["entities"] == [] and morphemes
    assert status.startswith("0 entities, ")


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_empty_input_gives_a_message(demo, text):
    assert demo.analyze(text) == (
        None,
        [],
        None,
        [],
        "Type or paste some Korean text, or pick an example, then press **Analyse**.",
    )


def test_over_long_input_gives_a_message(demo):
    highlighted, rows, result, morphemes, status = demo.analyze("가" * 201)
    assert (highlighted, rows, result, morphemes) == (None, [], None, [])
    assert status.startswith("The text has 201 characters: expected at most 200.")
    assert demo.analyze("가" * 200)[4].endswith(" ms.")


def test_odd_input_is_answered(demo):
    for text in ["Hello world", "😀😀", "ㅋㅋㅋ", "\ud800서울", "a\x00b", "...!!!???"]:
        highlighted, rows, result, _, status = demo.analyze(text)
        assert "".join(piece for piece, _ in highlighted) == text and status.endswith(" ms."), text
        assert all(row[0] == text[row[2] : row[3]] for row in rows), text


def test_a_failing_model_gives_a_message_not_an_exception(app, caplog):
    def broken(text):
        raise RuntimeError("out of memory")

    outputs = app.NERDemo(broken).analyze("서울")
    assert outputs == (None, [], None, [], "The analysis failed (RuntimeError: out of memory).")
    assert "Traceback" in caplog.text


def test_bad_max_chars_is_refused(app, demo):
    with pytest.raises(ValueError, match=r"max_chars: expected a positive int, received 0\."):
        app.NERDemo(demo.predictor, max_chars=0)


# ---------------------------------------------------------------- which model


def test_model_from_flag_then_environment_then_model_file(app, tmp_path, monkeypatch):
    model_file = tmp_path / "model.json"
    monkeypatch.delenv(app.MODEL_ENV, raising=False)
    monkeypatch.delenv(app.REVISION_ENV, raising=False)
    with pytest.raises(ValueError, match=r"No model: expected --model, \$MTL_BILSTM_MODEL or .*model\.json"):
        app.resolve_model(None, None, model_file)

    model_file.write_text(json.dumps({"model": MODEL_REPO_ID, "revision": MODEL_REVISION}))
    assert app.resolve_model(None, None, model_file) == (MODEL_REPO_ID, MODEL_REVISION)
    assert app.resolve_model(None, "v2", model_file) == (MODEL_REPO_ID, "v2")
    monkeypatch.setenv(app.MODEL_ENV, "env-org/model")
    assert app.resolve_model(None, None, model_file) == ("env-org/model", None)
    monkeypatch.setenv(app.REVISION_ENV, "v3")
    assert app.resolve_model(None, None, model_file) == ("env-org/model", "v3")
    assert app.resolve_model("runs/compare/best_model", None, model_file) == ("runs/compare/best_model", "v3")
    assert app.resolve_model("flag-org/model", "v4", model_file) == ("flag-org/model", "v4")

    model_file.write_text(json.dumps(["not", "a", "dict"]))
    monkeypatch.delenv(app.MODEL_ENV)
    with pytest.raises(ValueError, match=r"model\.json: expected \{\"model\": .*received \['not', 'a', 'dict'\]"):
        app.resolve_model(None, None, model_file)


def test_default_host_is_loopback(app, monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    args = app.parse_args(["--model", "m"])
    assert (args.host, args.port) == ("127.0.0.1", 7860)


def test_missing_model_folder_is_a_message(app, tmp_path):
    with pytest.raises(SystemExit, match=r"^app\.py: Model '.*/no-such-model': expected a model folder or a Hub"):
        app.main(["--model", str(tmp_path / "no-such-model")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match=r"^app\.py: .*empty"):
        app.main(["--model", str(tmp_path / "empty")])


# ---------------------------------------------------------------- served, through gradio_client


@pytest.fixture(scope="module")
def served(app, demo):
    """The app on 127.0.0.1, in this process; closed at the end of the module."""
    blocks = app.build_app(demo, "tiny-test-model")
    try:
        yield launch(blocks)
    finally:
        blocks.close()


@pytest.fixture(scope="module")
def client(served):
    return Client(served, verbose=False, analytics_enabled=False, download_files=False)


def test_served_app_answers_through_gradio_client(client):
    text, expected = unmark(MARKED_SENTENCES[0])
    highlighted, table, result, morphemes, status = client.predict(text, api_name="/analyze")

    assert [(token["token"], token["class_or_confidence"]) for token in highlighted] == [
        ("세종대왕", "PS"),
        ("은 ", None),
        ("1443년", "DT"),
        ("에 ", None),
        ("경복궁", "LC"),
        ("에서 훈민정음을 만들었다.", None),
    ]
    assert table["headers"] == ["text", "type", "start", "end", "score"]
    assert [row[:4] for row in table["data"]] == [list(entity) for entity in expected]
    assert [(e["text"], e["type"]) for e in result["entities"]] == [entity[:2] for entity in expected]
    assert morphemes["headers"][:2] == ["morpheme", "POS (model)"] and morphemes["data"][0][:2] == ["세종", "NNP"]
    assert status.startswith("3 entities, ")


def test_served_app_gives_messages_for_edge_inputs(client):
    highlighted, table, result, morphemes, status = client.predict("  ", api_name="/analyze")
    assert status.startswith("Type or paste some Korean text")
    assert highlighted is None and result is None and not any(table["data"][0] if table["data"] else [])
    status = client.predict("가" * 201, api_name="/analyze")[4]
    assert status.startswith("The text has 201 characters: expected at most 200.")


def test_served_app_exposes_one_public_endpoint(client):
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/analyze"]


# ---------------------------------------------------------------- the command line


def test_one_command_serves_the_app(model_dir, tmp_path):
    """`python examples/space/app.py --model <folder>` serves on 127.0.0.1 and answers its first request fast."""
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "OMP_NUM_THREADS": "1"}
    env.pop("GRADIO_SERVER_NAME", None)
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, str(SPACE_DIR / "app.py"), "--model", str(model_dir), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        url = wait_for_server(server, port, tmp_path / "server.log")
        assert url == f"http://127.0.0.1:{port}/"
        client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
        began = time.perf_counter()
        status = client.predict(unmark(MARKED_SENTENCES[1])[0], api_name="/analyze")[4]
        # Kiwi and Gradio were warmed up at start: a first request takes tens of ms (a wide margin for busy CI).
        assert time.perf_counter() - began < 2
        assert status.startswith("4 entities, ")
        assert "warm-up request failed" not in (tmp_path / "server.log").read_text()
    finally:
        stop(server)
        log.close()


def test_failed_warm_up_is_a_warning(app, caplog):
    app.warm_up_server(f"http://127.0.0.1:{free_port()}/")  # nothing listens there
    assert "The warm-up request failed" in caplog.text


def wait_for_server(server: subprocess.Popen, port: int, log_path: Path, timeout: float = 90) -> str:
    """The URL the app logs once it serves, warmed up; fails with the app's output if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = log_path.read_text(errors="replace")
        match = re.search(r"Serving on (\S+)", log)
        if match:
            return match.group(1)
        if server.poll() is not None:
            pytest.fail(f"app.py exited with {server.returncode}:\n{log}")
        time.sleep(0.2)
    pytest.fail(f"app.py did not serve on port {port} within {timeout} s:\n{log_path.read_text(errors='replace')}")


def stop(server: subprocess.Popen):
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# ---------------------------------------------------------------- the Space folder and its upload


@pytest.fixture(scope="module")
def space_folder(push_space, tmp_path_factory):
    local_dir = tmp_path_factory.mktemp("space") / "hub_space"
    push_space.main([
        "--repo_id", SPACE_REPO_ID, "--model_repo_id", MODEL_REPO_ID, "--model_revision", MODEL_REVISION,
        "--dry_run", "--local_dir", str(local_dir),
    ])  # fmt: skip
    return local_dir


def test_dry_run_writes_the_space_and_lists_it(push_space, tmp_path, capsys):
    local_dir = tmp_path / "hub_space"
    push_space.main([
        "--repo_id", SPACE_REPO_ID, "--model_repo_id", MODEL_REPO_ID, "--model_revision", MODEL_REVISION,
        "--dry_run", "--local_dir", str(local_dir),
    ])  # fmt: skip
    listing = capsys.readouterr().out.splitlines()
    assert listing[0] == f"{local_dir}:"
    listed = {line.split("  (")[0].strip() for line in listing[1:]}
    assert {"README.md", "app.py", "model.json", "requirements.txt", "screenshot.png"} <= listed
    assert "modeling_mtl_bilstm/__init__.py" in listed and "modeling_mtl_bilstm/data_scripts/korean_ner.py" in listed
    assert not [path for path in listed if "__pycache__" in path or path.endswith(".pyc")]


def test_space_files_card_and_pinned_model(space_folder, app, monkeypatch):
    for name in ("app.py", "requirements.txt", "screenshot.png"):
        assert (space_folder / name).read_bytes() == (SPACE_DIR / name).read_bytes(), name
    assert json.loads((space_folder / "model.json").read_text()) == {
        "model": MODEL_REPO_ID,
        "revision": MODEL_REVISION,
    }
    # What app.py loads on the Space, where neither --model nor $MTL_BILSTM_MODEL is given.
    monkeypatch.delenv(app.MODEL_ENV, raising=False)
    monkeypatch.delenv(app.REVISION_ENV, raising=False)
    assert app.resolve_model(None, None, space_folder / "model.json") == (MODEL_REPO_ID, MODEL_REVISION)

    card = SpaceCard.load(space_folder / "README.md")
    assert (card.data.sdk, card.data.app_file, card.data.license) == ("gradio", "app.py", "apache-2.0")
    assert card.data.models == [MODEL_REPO_ID]
    assert card.data.title and len(card.data.short_description) <= 60
    assert f"[{MODEL_REPO_ID}](https://huggingface.co/{MODEL_REPO_ID})" in card.text
    assert "your-name/mtl-bilstm-ner-ko" not in card.content
    assert "python examples/space/app.py --model runs/compare/best_model" in card.text
    assert "![" in card.text and "(screenshot.png)" in card.text


def test_space_requirements_cover_the_package(space_folder):
    names = {
        re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower().replace("_", "-")
        for line in (space_folder / "requirements.txt").read_text().splitlines()
        if line and not line.startswith(("#", "-"))
    }
    core = {
        re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        for requirement in importlib.metadata.requires("mtl-bilstm-ner")
        # The base install and the torch extra: the Space runs the torch predictor.
        if "extra ==" not in requirement or re.search(r"extra == .torch.", requirement)
    }
    assert "torch" in core and "transformers" in core
    assert core | {"kiwipiepy"} <= names, f"expected {sorted(core | {'kiwipiepy'})}, received {sorted(names)}"
    assert "gradio" not in names  # the Space's sdk_version installs it


def test_space_imports_its_copy_of_the_package(space_folder):
    """In the Space's folder, `import modeling_mtl_bilstm` (as app.py does) finds the copy, with no trace of this
    installation: `python -S` skips the .pth file of the editable install."""
    code = f"""
import json, sys
sys.path[:0] = ["."]
sys.path += {site.getsitepackages()!r}
import modeling_mtl_bilstm
print(json.dumps([m.__file__ for name, m in sys.modules.items() if name.split(".")[0] == "modeling_mtl_bilstm"]))
"""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=space_folder, env=env
    )
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout.strip().splitlines()[-1])
    assert any(file.endswith("predictor.py") for file in files), files
    assert all(Path(file).is_relative_to(space_folder) for file in files), files


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--model_repo_id", "bad//id"], r"push_space_to_hub\.py: .*bad//id"),
        (["--local_dir", "{non_empty}"], r"push_space_to_hub\.py: .*expected a new or empty folder"),
    ],
)
def test_bad_input_is_a_message(push_space, tmp_path, arguments, message):
    non_empty = tmp_path / "non_empty"
    non_empty.mkdir()
    (non_empty / "stale.txt").write_text("old")
    options = {"--model_repo_id": MODEL_REPO_ID, "--local_dir": str(tmp_path / "new")}
    options.update(zip(arguments[::2], (value.format(non_empty=non_empty) for value in arguments[1::2])))
    argv = ["--repo_id", SPACE_REPO_ID, "--model_revision", "main", "--dry_run"]
    with pytest.raises(SystemExit, match=message):
        push_space.main(argv + [item for pair in options.items() for item in pair])


def test_dry_run_needs_local_dir(push_space, capsys):
    with pytest.raises(SystemExit):
        push_space.main(
            ["--repo_id", SPACE_REPO_ID, "--model_repo_id", MODEL_REPO_ID, "--model_revision", "v1", "--dry_run"]
        )
    assert "--dry_run needs --local_dir" in capsys.readouterr().err


class RecordingHub:
    """Stands in for HfApi: records create_repo and upload_folder, and the files uploaded."""

    token = "fake-token"

    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))
        return f"https://huggingface.co/spaces/{repo_id}"

    def upload_folder(self, *, folder_path, repo_id, **kwargs):
        files = sorted(p.relative_to(folder_path).as_posix() for p in Path(folder_path).rglob("*") if p.is_file())
        self.calls.append(("upload_folder", repo_id, {**kwargs, "files": files}))
        return CommitInfo(
            commit_url=f"https://huggingface.co/spaces/{repo_id}/commit/{'b' * 40}",
            commit_message=kwargs["commit_message"],
            commit_description="",
            oid="b" * 40,
        )


def test_upload_creates_a_gradio_space_and_sends_the_folder(push_space, monkeypatch, capsys):
    hub = RecordingHub()
    monkeypatch.setattr(push_space, "HfApi", lambda: hub)
    push_space.main([
        "--repo_id", SPACE_REPO_ID, "--model_repo_id", MODEL_REPO_ID, "--model_revision", MODEL_REVISION,
        "--private", "--commit_message", "Demo",
    ])  # fmt: skip
    (create, space, create_kwargs), (upload, upload_space, upload_kwargs) = hub.calls
    assert (create, space, upload, upload_space) == ("create_repo", SPACE_REPO_ID, "upload_folder", SPACE_REPO_ID)
    assert create_kwargs == {"repo_type": "space", "space_sdk": "gradio", "private": True, "exist_ok": True}
    assert upload_kwargs["repo_type"] == "space" and upload_kwargs["commit_message"] == "Demo"
    assert {"README.md", "app.py", "model.json", "requirements.txt", "screenshot.png"} <= set(upload_kwargs["files"])
    out = capsys.readouterr().out
    assert f"Uploaded to https://huggingface.co/spaces/{SPACE_REPO_ID}/commit/{'b' * 40}" in out
    assert f"The Space: https://huggingface.co/spaces/{SPACE_REPO_ID}" in out


def test_upload_without_token_is_a_message(push_space, monkeypatch, tmp_path):
    hub = RecordingHub()
    hub.token = None
    monkeypatch.setattr(push_space, "get_token", lambda: None)
    with pytest.raises(PermissionError, match="No Hugging Face token"):
        push_space.push_space_folder(tmp_path, SPACE_REPO_ID, api=hub)
    assert hub.calls == []


def test_demo_packages_are_an_extra_that_dev_includes():
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(requirements):
        return {re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower() for requirement in requirements}

    extras = project["optional-dependencies"]
    assert {"gradio", "selenium", "kiwipiepy"} <= names(extras["demo"])
    assert names(extras["demo"]) <= names(extras["dev"]), "expected dev to include the demo packages (CI runs them)"
    assert not names(project["dependencies"]) & {"gradio", "gradio-client", "selenium", "playwright"}
