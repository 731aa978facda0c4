"""What the serving benchmarks (document_length.py, serving_speed.py) share: the raw KLUE-NER dev sentences, a model of
examples/train.py's default sizes, and the record of their numbers in benchmarks/results/serving.json."""

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
from pathlib import Path

from benchmark_common import REPO_ROOT, emit


DEFAULT_KLUE_FILE = REPO_ROOT.parent / "shared" / "data" / "klue-ner" / "klue-ner-v1.1_dev.part.tsv"
SERVING_RESULTS = REPO_ROOT / "benchmarks" / "results" / "serving.json"
# examples/train.py's default model sizes (training/arguments.py), with its default eojeol features.
DEFAULT_MODEL_SIZES = {
    "embedding_dim": 100,
    "char_embedding_dim": 30,
    "char_cnn_filters": 50,
    "shared_hidden_size": 200,
    "pos_hidden_size": 100,
    "ner_hidden_size": 100,
    "use_eojeol_features": True,
}
# KLUE's entity types in IOB2, for the random model's NER head.
KLUE_NER_LABELS = ["O"] + [f"{prefix}-{kind}" for kind in ("DT", "LC", "OG", "PS", "QT", "TI") for prefix in "BI"]


def read_klue_sentences(path: Path) -> list[str]:
    """The raw sentences of a KLUE-NER file (its SOURCE.md describes the format: a `## <id>\\t<marked sentence>`
    line, then one `<character>\\t<tag>` line per character). Exits with a message where the file is absent."""
    if not path.is_file():
        raise SystemExit(
            f"--klue_file {path}: expected the KLUE-NER dev sentences (klue-ner-v1.1_dev.part.tsv, see its SOURCE.md), "
            "found none; these benchmarks need raw sentences, so they are skipped."
        )
    from modeling_mtl_bilstm.data_scripts.formats import CorpusFormatError, read_klue

    return [sentence.text for sentence in read_klue(path) if not isinstance(sentence, CorpusFormatError)]


def add_serving_arguments(parser: argparse.ArgumentParser, threads: int, repeats: int) -> None:
    """The arguments both serving benchmarks take: the sentences, the model, threads, repeats and where results go."""
    parser.add_argument("--klue_file", type=Path, default=DEFAULT_KLUE_FILE)
    parser.add_argument(
        "--model_dir", type=Path, default=None, help="A saved model (default: a random default-size one)."
    )
    parser.add_argument(
        "--threads", type=int, default=threads, help=f"torch / onnxruntime intra-op threads (default {threads})."
    )
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--record", action="store_true", help="Write the result into benchmarks/results/serving.json.")
    parser.add_argument("--output", type=Path, default=None, help="Also write the JSON result to this file.")


def default_size_model(analyzer, sentences: list[str], folder: Path | None = None):
    """`(model, tokenizer)`: the model of `folder` where given; else a model of examples/train.py's default sizes with
    random weights and a vocabulary of Kiwi's analysis of `sentences`. Speed depends on the sizes, not the weights,
    so the random model times what a trained one would."""
    import torch

    from modeling_mtl_bilstm import MTLBiLSTMConfig, MTLBiLSTMForTokenClassification, MTLBiLSTMTokenizer
    from modeling_mtl_bilstm.inference.morphology import to_sejong_tag

    if folder is not None:
        return MTLBiLSTMForTokenClassification.from_pretrained(folder), MTLBiLSTMTokenizer.from_pretrained(folder)
    documents = analyzer.analyze(sentences)
    forms = [[morpheme.form for sentence in document for morpheme in sentence] for document in documents]
    tokenizer = MTLBiLSTMTokenizer.build(forms, eojeol_features=True)
    pos_tags = sorted({to_sejong_tag(m.kiwi_tag) for d in documents for s in d for m in s})
    config = MTLBiLSTMConfig(
        **DEFAULT_MODEL_SIZES,
        vocab_size=tokenizer.vocab_size,
        char_vocab_size=tokenizer.char_vocab_size,
        pos_id2label=dict(enumerate(pos_tags)),
        ner_id2label=dict(enumerate(KLUE_NER_LABELS)),
    )
    torch.manual_seed(0)
    return MTLBiLSTMForTokenClassification(config).eval(), tokenizer


def model_description(model_dir: Path | None) -> str:
    """What the result's `model` field says: the folder timed, or the random default-size model."""
    return str(model_dir) if model_dir else "random weights, examples/train.py's default sizes"


def report(key: str, result: dict, args: argparse.Namespace) -> dict:
    """Writes `result` where the serving arguments ask (`--record` under `key` in serving.json, `--output`, stdout)."""
    if args.record:
        record(key, result)
    emit(result, args.output)
    return result


def record(key: str, result: dict, path: Path = SERVING_RESULTS) -> None:
    """Writes `result` under `key` in serving.json (other keys kept), with the command that made it, the date and the
    machine."""
    entries = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    entries[key] = {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.date.today().isoformat(),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        **result,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
