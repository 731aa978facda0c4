"""Tests of publishing on the Hub (modeling_mtl_bilstm.hub, and the `mtl-bilstm-ner push` / `push-dataset`
commands that examples/push_to_hub.py and examples/push_dataset_to_hub.py run), all offline: a tiny model trained on a hand-written corpus, its
dry-run folder loaded with remote code in a fresh process, and uploads sent to a stand-in for the
Hub API on 127.0.0.1."""

import base64
import itertools
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import datasets
import huggingface_hub
import pytest
import torch
from huggingface_hub import HfApi, ModelCard
from remote_code import run_without_package

import modeling_mtl_bilstm
from modeling_mtl_bilstm import MTLBiLSTMForTokenClassification, MTLBiLSTMTokenizer, cli, load_korean_ner
from modeling_mtl_bilstm.data_scripts.korean_ner import SAMPLE_DIR
from modeling_mtl_bilstm.hub import RestrictedLicenseError, build_hub_folder, check_self_contained


REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIR = Path(modeling_mtl_bilstm.__file__).parent
REPO_ID = "test-org/mtl-bilstm-ner-ko"
REVISION = "v1.0"
# The remote-code modules: those the auto_map names and those they import relatively.
MODELING_CODE = [
    "configuration_mtl_bilstm.py",
    "crf.py",
    "embeddings_mtl_bilstm.py",
    "features_mtl_bilstm.py",
    "inputs_mtl_bilstm.py",
    "modeling_mtl_bilstm.py",
    "outputs_mtl_bilstm.py",
    "tags_mtl_bilstm.py",
    "tokenization_mtl_bilstm.py",
]
HUB_MODEL_FILES = sorted(
    [
        "README.md",
        "config.json",
        "gazetteer.json",  # the default features include the training gazetteer, which travels with the model
        "handler.py",  # the Inference Endpoints handler (tests/test_endpoint_handler.py), and its requirements
        "model.safetensors",
        "requirements.txt",
        "results.json",
        "results.png",
        "tokenizer_config.json",
        "vocab.json",
        *MODELING_CODE,
    ]
)


# Morphemes to tag, with some the model never saw (훈민정음, 창제).
MORPHEMES = [
    ["세종", "이", "한양", "에", "살", "았", "다", "."],
    ["1443", "년", "에", "훈민정음", "을", "창제", "하", "였", "다"],
]

# A small hand-written corpus: sentences as eojeols (space-separated words) of (morpheme, POS, NER).
PEOPLE = ["세종", "이순신", "정약용", "김홍도", "신사임당"]
PLACES = ["한양", "경주", "수원", "전주", "안동", "부산"]
YEARS = ["1443", "1592", "1794", "1776"]


def subject(person):
    has_final_consonant = (ord(person[-1]) - ord("가")) % 28 != 0
    return [(person, "NNP", "B-PS"), ("이" if has_final_consonant else "가", "JKS", "O")]


def corpus_sentence(index, person, place, year):
    verb_ending = [("었" if index % 2 else "았", "EP", "O"), ("다", "EF", "O"), (".", "SF", "O")]
    templates = [
        [subject(person), [(place, "NNP", "B-LC"), ("에", "JKB", "O")], [("살", "VV", "O"), *verb_ending]],
        [
            [(year, "SN", "B-DT")],
            [("년", "NNB", "I-DT"), ("에", "JKB", "O")],
            subject(person),
            [(place, "NNP", "B-LC"), ("에서", "JKB", "O")],
            [("태어나", "VV", "O"), *verb_ending],
        ],
        [
            [(place, "NNP", "B-LC"), ("에서", "JKB", "O")],
            subject(person),
            [("책", "NNG", "O"), ("을", "JKO", "O")],
            [("쓰", "VV", "O"), *verb_ending],
        ],
    ]
    return templates[index % len(templates)]


SENTENCES = [
    corpus_sentence(index, person, place, YEARS[index % len(YEARS)])
    for index, (person, place) in enumerate(itertools.product(PEOPLE, PLACES))
]
SPLITS = {"train": SENTENCES, "validation": SENTENCES[1::3], "test": SENTENCES[2::3]}


def conll_text(sentences):
    return "\n".join("".join(f"{m}\t{p}\t{n}\n" for eojeol in s for m, p, n in eojeol) for s in sentences)


def klp_text(sentences):
    """The KLP 2016 layout: raw text, annotated text (not checked by the reader), indexed morphemes,
    tags B_<TYPE> and a bare I."""
    blocks = []
    for sentence in sentences:
        text = " ".join("".join(m for m, _, _ in eojeol) for eojeol in sentence)
        rows = [
            f"{index}\t{m}\t{p}\t{n.replace('B-', 'B_') if n.startswith('B-') else n[0]}"
            for index, eojeol in enumerate(sentence, start=1)
            for m, p, n in eojeol
        ]
        blocks.append("\n".join([f"; {text}", f"${text}", *rows]) + "\n")
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def conll_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("conll")
    for split, sentences in SPLITS.items():
        (folder / f"{split}.txt").write_text(conll_text(sentences), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def run_dir(conll_dir, train, tiny_training_flags, tmp_path_factory):
    """The --output_dir of a one-epoch tiny multi-task training run."""
    output_dir = tmp_path_factory.mktemp("run")
    train(
        ["--task", "mtl", "--seeds", "1", "--num_train_epochs", "1", "--dataset", "conll"]
        + ["--train_file", str(conll_dir / "train.txt"), "--validation_file", str(conll_dir / "validation.txt")]
        + ["--test_file", str(conll_dir / "test.txt"), "--output_dir", str(output_dir), *tiny_training_flags]
    )
    return output_dir


class Command:
    """A publishing command of the `mtl-bilstm-ner` CLI, called like a script's `main(argv)`."""

    def __init__(self, name):
        self.name = name

    def main(self, argv):
        return cli.main([self.name, *argv])


@pytest.fixture(scope="module")
def push_to_hub():
    return Command("push")


@pytest.fixture(scope="module")
def push_dataset_to_hub():
    return Command("push-dataset")


@pytest.fixture(scope="module")
def hub_folder(push_to_hub, run_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hub") / "model"
    push_to_hub.main(
        [
            "--model_dir",
            str(run_dir),
            "--repo_id",
            REPO_ID,
            "--revision",
            REVISION,
            "--dry_run",
            "--local_dir",
            str(folder),
        ]
    )
    return folder


def files_under(folder):
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


def test_dry_run_writes_the_hub_files_and_lists_them(run_dir, push_to_hub, tmp_path, capsys):
    folder = tmp_path / "model"
    # A folder written by Trainer.save_model also holds its pickled TrainingArguments (train.py's does not).
    training_args = run_dir / "best_model" / "training_args.bin"
    training_args.write_bytes(b"pickled TrainingArguments stand-in")
    push_to_hub.main(
        [
            "--model_dir",
            str(run_dir),
            "--repo_id",
            REPO_ID,
            "--revision",
            REVISION,
            "--dry_run",
            "--local_dir",
            str(folder),
        ]
    )
    assert files_under(folder) == HUB_MODEL_FILES
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert listed == HUB_MODEL_FILES
    # Trainer's pickled TrainingArguments stay behind; the code is the package's, as saved with the model.
    assert "training_args.bin" not in files_under(folder)
    training_args.unlink()
    for name in MODELING_CODE:
        assert (folder / name).read_bytes() == (PACKAGE_DIR / name).read_bytes(), name
    assert (folder / "results.json").read_bytes() == (run_dir / "results.json").read_bytes()
    assert (folder / "results.png").read_bytes() == (run_dir / "results.png").read_bytes()
    config = json.loads((folder / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_mtl_bilstm.MTLBiLSTMConfig",
        "AutoModelForTokenClassification": "modeling_mtl_bilstm.MTLBiLSTMForTokenClassification",
    }
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    assert tokenizer_config["auto_map"]["AutoTokenizer"][0] == "tokenization_mtl_bilstm.MTLBiLSTMTokenizer"


def test_hub_folder_loads_with_remote_code_without_the_package(hub_folder, run_dir, tmp_path):
    model = MTLBiLSTMForTokenClassification.from_pretrained(run_dir / "best_model").eval()
    tokenizer = MTLBiLSTMTokenizer.from_pretrained(run_dir / "best_model")
    with torch.no_grad():
        expected = {task: tags.tolist() for task, tags in model.decode(**tokenizer(MORPHEMES)).items()}
    result = run_without_package(
        f"""
        import json
        import torch
        from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer
        folder = {str(hub_folder)!r}
        config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
        model = AutoModelForTokenClassification.from_pretrained(folder, trust_remote_code=True).eval()
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
        classes = [type(config), type(model), type(tokenizer)]
        with torch.no_grad():
            tags = model.decode(**tokenizer({MORPHEMES!r}))
        print(json.dumps({{
            "classes": [f"{{c.__module__}}.{{c.__name__}}" for c in classes],
            "tags": {{task: t.tolist() for task, t in tags.items()}},
            "package_imported": any(name.startswith("modeling_mtl_bilstm") for name in sys.modules),
        }}))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert not loaded["package_imported"]
    for qualified, name in zip(
        loaded["classes"], ["MTLBiLSTMConfig", "MTLBiLSTMForTokenClassification", "MTLBiLSTMTokenizer"]
    ):
        assert qualified.startswith("transformers_modules.") and qualified.endswith(f".{name}"), qualified
    assert loaded["tags"] == expected
    assert expected["ner"][1][-1] != -100 and expected["ner"][0][-1] == -100  # real tags, padding marked


def test_card_metadata_scores_repo_and_revision(hub_folder, run_dir):
    card = ModelCard.load(hub_folder / "README.md")
    assert card.data.language == "ko"
    assert card.data.pipeline_tag == "token-classification"
    assert card.data.library_name == "transformers"
    assert card.data.license == "other" and card.data.datasets == ["conll"]
    assert {"ner", "pos", "custom_code"} <= set(card.data.tags)
    measured = json.loads((run_dir / "results.json").read_text())["mtl"]["seeds"]["1"]
    scores = {result.metric_type: result.metric_value for result in card.data.eval_results}
    assert scores == {"f1": round(measured["ner_f1"], 4), "accuracy": round(measured["pos_accuracy"], 4)}
    assert {result.dataset_split for result in card.data.eval_results} == {"test"}
    assert f'repo = "{REPO_ID}"' in card.text
    assert f'trust_remote_code=True, revision="{REVISION}"' in card.text
    assert "![Test NER F1 per model (mean ± std over seeds) and dev NER F1 per epoch](results.png)" in card.text
    assert "| mtl | " in card.text and "## Citation" in card.text
    assert "syllable ids ─► syllable CNN ─┴─► shared Bi-LSTM ─┬─► POS Bi-LSTM ─► POS head (softmax)" in card.text


def test_best_model_folder_gives_the_same_folder(run_dir, hub_folder, tmp_path):
    folder = build_hub_folder(run_dir / "best_model", tmp_path / "model", repo_id=REPO_ID, revision=REVISION)
    assert files_under(folder) == HUB_MODEL_FILES
    for name in HUB_MODEL_FILES:
        assert (folder / name).read_bytes() == (hub_folder / name).read_bytes(), name


@pytest.fixture
def model_copy(run_dir, tmp_path):
    """A copy of the run (best_model/, results.json, run_info.json) to spoil."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir / "best_model", copy / "best_model")
    for name in ("results.json", "run_info.json"):
        shutil.copy2(run_dir / name, copy / name)
    return copy


def test_pickle_weights_are_refused(model_copy, push_to_hub, tmp_path):
    torch.save({}, model_copy / "best_model" / "pytorch_model.bin")
    with pytest.raises(SystemExit) as raised:
        push_to_hub.main(
            ["--model_dir", str(model_copy), "--repo_id", REPO_ID, "--dry_run", "--local_dir", str(tmp_path / "out")]
        )
    assert "holds pickle files ['pytorch_model.bin']: expected safetensors weights only" in str(raised.value.code)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "spoil, error, message",
    [
        (
            lambda folder: (folder / "crf.py").unlink(),
            FileNotFoundError,
            "modeling_mtl_bilstm.py needs the module crf.py, which is not in the folder",
        ),
        (
            lambda folder: (folder / "tokenization_mtl_bilstm.py").unlink(),
            FileNotFoundError,
            "tokenizer_config.json needs the module tokenization_mtl_bilstm.py",
        ),
        (
            lambda folder: (folder / "crf.py").write_text("from modeling_mtl_bilstm.crf import *\n"),
            ValueError,
            "crf.py imports modeling_mtl_bilstm: expected relative imports only",
        ),
    ],
)
def test_folder_that_needs_the_package_is_refused(model_copy, spoil, error, message):
    folder = model_copy / "best_model"
    check_self_contained(folder)
    spoil(folder)
    with pytest.raises(error, match=message):
        check_self_contained(folder)


def test_non_empty_local_dir_is_refused(model_copy, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "old.txt").write_text("stale")
    with pytest.raises(FileExistsError, match="expected a new or empty folder"):
        build_hub_folder(model_copy, tmp_path / "used", repo_id=REPO_ID)


def test_any_saved_model_folder_publishes_without_run_files(run_dir, tmp_path):
    """A folder saved by save_pretrained alone (no results.json, run_info.json): the card has the model, its
    usage and no scores. Nothing says where its gazetteer's entries come from, so only the owner's word publishes
    it."""
    saved = tmp_path / "saved"
    MTLBiLSTMForTokenClassification.from_pretrained(run_dir / "best_model").save_pretrained(saved)
    MTLBiLSTMTokenizer.from_pretrained(run_dir / "best_model").save_pretrained(saved)
    with pytest.raises(RestrictedLicenseError, match="gazetteer.json: the model's gazetteer is published with it"):
        build_hub_folder(saved, tmp_path / "refused", repo_id=REPO_ID, revision=REVISION)
    folder = build_hub_folder(
        saved, tmp_path / "hub", repo_id=REPO_ID, revision=REVISION, allow_restricted_license=True
    )
    assert files_under(folder) == sorted(set(HUB_MODEL_FILES) - {"results.json", "results.png"})
    card = ModelCard.load(folder / "README.md")
    assert card.data.eval_results is None and card.data.datasets is None
    assert "## How to use" in card.text and f'revision="{REVISION}"' in card.text
    assert "## Results" not in card.text and "## Training data" not in card.text
    assert "None" not in card.text


def test_run_files_enrich_the_card_of_a_run_folder(hub_folder, run_dir):
    card = ModelCard.load(hub_folder / "README.md").text
    # One model, not a comparison: the table is the run's results, titled as such.
    assert "## Results\n" in card and "multi-task vs single-task" not in card
    assert (run_dir / "results.md").read_text(encoding="utf-8").strip() in card
    assert "chosen on the\ndevelopment split (dev NER F1" in card


def test_the_card_of_a_comparison_links_the_learning_curve(tiny_config, hub_folder):
    from modeling_mtl_bilstm.hub.model_card import LEARNING_CURVE_PATH, render_model_card, repository_link

    scores = {"seeds": {"1": {"ner_f1": 0.5}}, "mean": {"ner_f1": 0.5}, "std": {"ner_f1": 0.0}}
    comparison = render_model_card(
        tiny_config(), 100, results={"mtl": scores, "ner": scores}, results_table="| model |\n|---|\n| mtl |"
    ).text
    link = repository_link(LEARNING_CURVE_PATH)
    assert link.endswith(LEARNING_CURVE_PATH)
    assert "Where multi-task learning pays" in comparison and f"[learning-curve.md]({link})" in comparison
    assert "## Results: multi-task vs single-task" in comparison
    # One model, no comparison: nothing to explain.
    assert "learning curve" not in ModelCard.load(hub_folder / "README.md").text


COMMIT_OID = "a" * 40


class StandInHub(BaseHTTPRequestHandler):
    """Answers, like the Hub API, the requests of create_repo, create_branch and upload_folder with
    every file a regular (non-LFS) upload, and records them."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.command, self.path, self.headers.get("Authorization"), body))
        path = self.path.split("?")[0]
        if path == "/api/repos/create":
            request = json.loads(body)
            answer = {"url": f"{self.server.url}/{request['organization']}/{request['name']}"}
        elif path == "/api/validate-yaml":
            answer = {"errors": [], "warnings": []}
        elif "/branch/" in path:
            answer = {}
        elif "/preupload/" in path:
            files = json.loads(body)["files"]
            answer = {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}
        elif "/commit/" in path:
            # /api/{models,datasets}/<namespace>/<name>/commit/<revision>; model URLs have no type prefix.
            _, _, repo_type, namespace, name, *_ = path.split("/")
            prefix = "" if repo_type == "models" else f"/{repo_type}"
            answer = {
                "commitUrl": f"{self.server.url}{prefix}/{namespace}/{name}/commit/{COMMIT_OID}",
                "commitOid": COMMIT_OID,
            }
        else:
            return self._answer(404, {"error": f"no stand-in for {path}"})
        self._answer(200, answer)

    def do_GET(self):
        # huggingface_hub looks up its agent-harness registry once a day, best effort: left unanswered
        # (an answer would be cached in HF_HOME) and not recorded, as it varies with the environment.
        if self.path != "/api/agent-harnesses":
            self.server.requests.append((self.command, self.path, self.headers.get("Authorization"), b""))
        self._answer(404, {"error": f"no stand-in for GET {self.path}"})

    def _answer(self, status, answer):
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stand_in_hub(monkeypatch):
    """A local Hub API: HfApi() talks to it (and only to it) with token "fake-token"."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInHub)
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", server.url)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", "fake-token")
    assert HfApi().endpoint == server.url
    yield server
    server.shutdown()
    server.server_close()


def committed_files(body):
    """{path: content} of the files of an NDJSON commit payload, and its header."""
    entries = [json.loads(line) for line in body.decode().splitlines()]
    assert entries[0]["key"] == "header"
    files = {}
    for entry in entries[1:]:
        assert entry["key"] == "file", entry["key"]  # regular uploads only, no LFS pointer, no deletion
        assert entry["value"]["encoding"] == "base64"
        files[entry["value"]["path"]] = base64.b64decode(entry["value"]["content"])
    return entries[0]["value"], files


def assert_requests_in_order(requests, expected):
    """The `expected` (method, path) pairs each occur exactly once, in this order, and the last one is the
    last request: no request after the commit."""
    sent = [(method, path) for method, path, _, _ in requests]
    for pair in expected:
        assert sent.count(pair) == 1, f"expected one {pair} request, received {sent}"
    positions = [sent.index(pair) for pair in expected]
    assert positions == sorted(positions), f"expected {expected} in this order, received {sent}"
    assert positions[-1] == len(sent) - 1, f"expected the commit to be the last request, received {sent}"
    return [requests[position] for position in positions]


def test_upload_sends_the_dry_run_folder_to_the_hub_api(stand_in_hub, push_to_hub, run_dir, hub_folder, capsys):
    push_to_hub.main(
        [
            "--model_dir",
            str(run_dir),
            "--repo_id",
            REPO_ID,
            "--revision",
            REVISION,
            "--private",
            "--commit_message",
            "Tiny model",
        ]
    )
    requests = stand_in_hub.requests
    # Our part of the exchange, in order: create the repository, then the branch, then one commit to it.
    # huggingface_hub's own requests between them (YAML validation, pre-upload) may change across releases.
    create, _, commit = assert_requests_in_order(
        requests,
        [
            ("POST", "/api/repos/create"),
            ("POST", f"/api/models/{REPO_ID}/branch/{REVISION}"),
            ("POST", f"/api/models/{REPO_ID}/commit/{REVISION}"),
        ],
    )
    assert {authorization for _, _, authorization, _ in requests} == {"Bearer fake-token"}
    assert json.loads(create[3]) == {
        "name": "mtl-bilstm-ner-ko",
        "organization": "test-org",
        "type": "model",
        "visibility": "private",
    }
    header, files = committed_files(commit[3])
    assert header["summary"] == "Tiny model"
    assert sorted(files) == HUB_MODEL_FILES
    assert not [path for path in files if path.endswith((".bin", ".pt", ".pth", ".pkl"))]
    for path, content in files.items():
        assert content == (hub_folder / path).read_bytes(), path
    out = capsys.readouterr().out
    assert f"Uploaded to {stand_in_hub.url}/{REPO_ID}/commit/{COMMIT_OID}" in out
    assert f"revision={COMMIT_OID!r}" in out


def test_dataset_upload_sends_parquet_and_card(stand_in_hub, push_dataset_to_hub, conll_dir):
    push_dataset_to_hub.main(["--dataset", "conll", "--data_dir", str(conll_dir), "--repo_id", "test-org/korean-ner"])
    requests = stand_in_hub.requests
    create, commit = assert_requests_in_order(
        requests,
        [("POST", "/api/repos/create"), ("POST", "/api/datasets/test-org/korean-ner/commit/main")],
    )
    assert json.loads(create[3]) == {"name": "korean-ner", "organization": "test-org", "type": "dataset"}
    _, files = committed_files(commit[3])
    assert sorted(files) == ["README.md"] + [
        f"data/{split}-00000-of-00001.parquet" for split in ("test", "train", "validation")
    ]


def test_klp2016_is_refused_unless_allowed(push_dataset_to_hub, tmp_path, capsys):
    data_dir = tmp_path / "klp2016"
    data_dir.mkdir()
    (data_dir / "train.txt").write_text(klp_text(SENTENCES[:4]), encoding="utf-8")
    argv = ["--dataset", "klp2016", "--data_dir", str(data_dir), "--repo_id", "test-org/klp", "--dry_run"]
    with pytest.raises(SystemExit) as raised:
        push_dataset_to_hub.main([*argv, "--local_dir", str(tmp_path / "refused")])
    message = str(raised.value.code)  # a message (exit status 1), not 0 or None
    assert message.startswith("push-dataset: Refusing to publish 'klp2016': the KLP 2016 corpus")
    assert "--allow_restricted_license" in message
    assert not (tmp_path / "refused").exists()

    push_dataset_to_hub.main([*argv, "--local_dir", str(tmp_path / "allowed"), "--allow_restricted_license"])
    reloaded = datasets.load_dataset(str(tmp_path / "allowed"), cache_dir=str(tmp_path / "cache"))
    assert reloaded["train"]["tokens"][0] == ["세종", "이", "한양", "에", "살", "았", "다", "."]
    assert reloaded["train"]["word_ids"][0] == [0, 0, 1, 1, 2, 2, 2, 2]


@pytest.mark.parametrize("dataset", ["sample", "conll"])
def test_dataset_dry_run_loads_back_with_load_dataset(dataset, push_dataset_to_hub, conll_dir, tmp_path, capsys):
    data_dir = conll_dir if dataset == "conll" else None
    if dataset == "sample" and not (SAMPLE_DIR / "train.txt").is_file():
        pytest.skip(f"the bundled sample corpus is not in this checkout ({SAMPLE_DIR})")
    local_dir = tmp_path / "dataset"
    argv = ["--dataset", dataset, "--repo_id", "test-org/korean-ner", "--dry_run", "--local_dir", str(local_dir)]
    push_dataset_to_hub.main(argv + (["--data_dir", str(data_dir)] if data_dir else []))
    expected = load_korean_ner(dataset, data_dir=data_dir, cache_dir=tmp_path / "builder_cache")
    reloaded = datasets.load_dataset(str(local_dir), cache_dir=str(tmp_path / "cache"))
    assert set(reloaded) == set(expected)
    for split in expected:
        assert reloaded[split].features == expected[split].features
        assert reloaded[split].to_list() == expected[split].to_list()
    card = huggingface_hub.DatasetCard.load(local_dir / "README.md")
    assert card.data.license == ("apache-2.0" if dataset == "sample" else "other")
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert listed == files_under(local_dir)


def test_a_gazetteer_of_restricted_entries_is_refused_unless_allowed(model_copy, tmp_path):
    """The gazetteer is published verbatim with the model: entities of a corpus that may not be redistributed, or
    a dictionary of unknown terms, need --allow_restricted_license."""
    (model_copy / "best_model" / "gazetteer.json").write_text("{}")
    run_info = json.loads((model_copy / "run_info.json").read_text())
    run_info["arguments"]["data"].update(gazetteer_from_training=True, extra_train_corpora=["ner2016=somewhere"])
    (model_copy / "run_info.json").write_text(json.dumps(run_info))
    with pytest.raises(RestrictedLicenseError, match=r"entities of ner2016 \(the 2016 competition data"):
        build_hub_folder(model_copy, tmp_path / "refused", repo_id=REPO_ID)
    run_info["arguments"]["data"].update(gazetteer_from_training=False, gazetteer="gazette.txt")
    (model_copy / "run_info.json").write_text(json.dumps(run_info))
    with pytest.raises(RestrictedLicenseError, match="the dictionary gazette.txt"):
        build_hub_folder(model_copy, tmp_path / "refused", repo_id=REPO_ID)
    build_hub_folder(model_copy, tmp_path / "allowed", repo_id=REPO_ID, allow_restricted_license=True)
    (model_copy / "run_info.json").unlink()
    with pytest.raises(RestrictedLicenseError, match="sources unknown"):
        build_hub_folder(model_copy, tmp_path / "unknown", repo_id=REPO_ID)
