#!/usr/bin/env python
"""Korean named entities and part-of-speech tags in the browser: a Gradio demo of the multi-task Bi-LSTM.

    python examples/space/app.py --model runs/compare/best_model
    python examples/space/app.py --model your-name/mtl-bilstm-ner-ko --revision <commit sha>
    MTL_BILSTM_MODEL=your-name/mtl-bilstm-ner-ko MTL_BILSTM_REVISION=<commit sha> python examples/space/app.py

The model is a folder written by `save_pretrained` (a training run's best_model/) or a Hub model repository,
pinned to --revision. Without --model or $MTL_BILSTM_MODEL, the app reads the model and revision from
model.json beside this file, which examples/push_space_to_hub.py writes into the Space it publishes.

The server listens on 127.0.0.1 only, unless --host or $GRADIO_SERVER_NAME says otherwise (a Hub Space sets
0.0.0.0). Gradio's telemetry is off unless $GRADIO_ANALYTICS_ENABLED turns it on.
"""

import argparse
import json
import logging
import os
import time
from pathlib import Path


# Before gradio is imported: no telemetry or version check leaves the machine unless asked for.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
from gradio_client import Client  # noqa: E402
from huggingface_hub.errors import HFValidationError  # noqa: E402
from huggingface_hub.utils import validate_repo_id  # noqa: E402

from modeling_mtl_bilstm import KoreanNERPredictor  # noqa: E402


logger = logging.getLogger(__name__)

MODEL_ENV = "MTL_BILSTM_MODEL"
REVISION_ENV = "MTL_BILSTM_REVISION"
MODEL_FILE = Path(__file__).with_name("model.json")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_MAX_CHARS = 2000
API_NAME = "analyze"

TITLE = "Korean NER + POS: a multi-task Bi-LSTM"
# Written for this demo, in the domain of the bundled sample corpus: palaces, kings, festivals, crafts, food.
EXAMPLES = [
    "세종대왕은 1443년에 경복궁에서 훈민정음을 만들었다.",
    "정조는 1796년에 수원 화성을 완성했다.",
    "안동 하회마을에서는 매년 10월에 탈춤 축제가 열린다.",
    "국립중앙박물관은 오전 10시에 문을 열고 조선 백자를 전시한다.",
    "전주 비빔밥은 조선 시대부터 전해 내려온 음식이다.",
]
ENTITY_TYPES = {"PS": "person", "LC": "location", "OG": "organisation", "DT": "date", "TI": "time"}
ENTITY_COLORS = {"PS": "#f4a261", "LC": "#2a9d8f", "OG": "#e9c46a", "DT": "#8ab4f8", "TI": "#c39bd3"}
ENTITY_HEADERS = ["text", "type", "start", "end", "score"]
MORPHEME_HEADERS = ["morpheme", "POS (model)", "Kiwi tag", "NER tag", "start", "end"]


class NERDemo:
    """The app's handler: one text in, every output component's value out.

    Args:
        predictor: the model, with its Kiwi analyser.
        max_chars: longer texts are refused with a message, so that one request cannot hold the server.
    """

    def __init__(self, predictor: KoreanNERPredictor, max_chars: int = DEFAULT_MAX_CHARS):
        if not isinstance(max_chars, int) or isinstance(max_chars, bool) or max_chars < 1:
            raise ValueError(f"max_chars: expected a positive int, received {max_chars!r}.")
        self.predictor = predictor
        self.max_chars = max_chars

    def analyze(self, text: str | None) -> tuple[list | None, list[list], dict | None, list[list], str]:
        """(highlighted text, entity rows, JSON result, morpheme rows, status message) of `text`.

        Empty or over-long input, and any failure of the model, give empty outputs and a message in the status;
        never an exception, so that the page shows no traceback."""
        text = text or ""
        if not text.strip():
            return _nothing("Type or paste some Korean text, or pick an example, then press **Analyse**.")
        if len(text) > self.max_chars:
            return _nothing(
                f"The text has {len(text):,} characters: expected at most {self.max_chars:,}. "
                "Shorten it, or run the model locally on long texts (`mtl-bilstm-ner` command)."
            )
        began = time.perf_counter()
        try:
            result = self.predictor(text)
        except Exception as error:  # the log keeps the traceback, the page gets one line
            logger.exception("Analysis failed")
            return _nothing(f"The analysis failed ({type(error).__name__}: {error}).")
        outputs = (highlight(result), entity_rows(result), result, morpheme_rows(result))
        milliseconds = (time.perf_counter() - began) * 1000
        entities, morphemes = len(result["entities"]), len(result["tokens"])
        status = (
            f"{entities} {'entity' if entities == 1 else 'entities'}, "
            f"{morphemes} {'morpheme' if morphemes == 1 else 'morphemes'} in {milliseconds:.0f} ms."
        )
        return (*outputs, status)


def highlight(result: dict) -> list[tuple[str, str | None]]:
    """The value of a `gr.HighlightedText`: the text cut into pieces, each entity's labelled by its type."""
    text, pieces, position = result["text"], [], 0
    for entity in sorted(result["entities"], key=lambda entity: entity["start"]):
        if entity["start"] > position:
            pieces.append((text[position : entity["start"]], None))
        pieces.append((text[entity["start"] : entity["end"]], entity["type"]))
        position = entity["end"]
    if position < len(text):
        pieces.append((text[position:], None))
    return pieces


def entity_rows(result: dict) -> list[list]:
    """One row per entity: text, type, start, end, score (3 decimals)."""
    return [[e["text"], e["type"], e["start"], e["end"], round(e["score"], 3)] for e in result["entities"]]


def morpheme_rows(result: dict) -> list[list]:
    """One row per morpheme: its form, the model's POS tag, Kiwi's tag, the NER tag and its character span."""
    return [[t["form"], t["pos"], t["kiwi_tag"], t["ner"], t["start"], t["end"]] for t in result["tokens"]]


def _nothing(message: str) -> tuple[None, list, None, list, str]:
    return None, [], None, [], message


def build_app(demo: NERDemo, model_name: str) -> gr.Blocks:
    """The page: text and examples on the left; status, entities, tables and JSON on the right."""
    legend = " · ".join(f"**{tag}** {name}" for tag, name in ENTITY_TYPES.items())
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(
            f"# {TITLE}\n"
            "Named entities and part-of-speech tags of Korean text, from one Bi-LSTM with two heads: Kiwi splits "
            f"the text into morphemes, the model tags each one. Model: `{model_name}`.\n\n"
            f"Entity types: {legend}."
        )
        with gr.Row():
            with gr.Column():
                text = gr.Textbox(
                    label="Korean text",
                    lines=4,
                    placeholder="세종대왕은 1443년에 훈민정음을 만들었다.",
                    elem_id="text",
                )
                show_morphemes = gr.Checkbox(
                    label="Show the morphemes with their POS tags (the model's second head)", elem_id="show-morphemes"
                )
                with gr.Row():
                    clear = gr.ClearButton(value="Clear")
                    submit = gr.Button("Analyse", variant="primary", elem_id="analyse")
                gr.Examples(EXAMPLES, inputs=text, label="Examples")
            with gr.Column():
                status = gr.Markdown(elem_id="status")
                highlighted = gr.HighlightedText(label="Entities", color_map=ENTITY_COLORS, elem_id="entities")
                table = gr.Dataframe(
                    headers=ENTITY_HEADERS, label="Entity table", interactive=False, elem_id="entity-table"
                )
                morphemes = gr.Dataframe(
                    headers=MORPHEME_HEADERS,
                    label="Morphemes and POS tags",
                    interactive=False,
                    visible=False,
                    elem_id="morphemes",
                )
                with gr.Accordion("JSON output", open=False):
                    result_json = gr.JSON(label="Result", elem_id="json")
        outputs = [highlighted, table, result_json, morphemes, status]
        gr.on([submit.click, text.submit], demo.analyze, inputs=text, outputs=outputs, api_name=API_NAME)
        show_morphemes.change(
            lambda show: gr.Dataframe(visible=show), show_morphemes, morphemes, api_visibility="private"
        )
        clear.add([text, *outputs])
    return app


def resolve_model(model: str | None, revision: str | None, model_file: Path = MODEL_FILE) -> tuple[str, str | None]:
    """(model, revision): from the arguments, else from the environment, else from `model_file`."""
    model = model or os.environ.get(MODEL_ENV) or None
    revision = revision or os.environ.get(REVISION_ENV) or None
    if model is None and model_file.is_file():
        pinned = json.loads(model_file.read_text(encoding="utf-8"))
        if not isinstance(pinned, dict) or not isinstance(pinned.get("model"), str):
            raise ValueError(
                f'{model_file}: expected {{"model": "<repo id>", "revision": "<sha>"}}, received {pinned!r}'
            )
        model, revision = pinned["model"], revision or pinned.get("revision")
    if model is None:
        raise ValueError(f"No model: expected --model, ${MODEL_ENV} or {model_file}, found none of them")
    return model, revision


def load_demo(
    model: str, revision: str | None = None, max_chars: int = DEFAULT_MAX_CHARS, **predictor_kwargs
) -> NERDemo:
    """The handler over a loaded predictor, warmed up so that the first request is as fast as the next."""
    if not Path(model).exists():
        try:
            validate_repo_id(model)
        except HFValidationError:
            raise FileNotFoundError(
                f"Model {model!r}: expected a model folder or a Hub repository id (namespace/name); it is neither "
                "an existing folder nor a repository id"
            ) from None
    predictor = KoreanNERPredictor.from_pretrained(model, revision=revision, **predictor_kwargs)
    predictor(EXAMPLES[0])  # creates Kiwi and loads its model now, not on the first request
    return NERDemo(predictor, max_chars=max_chars)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help=f"Model folder or Hub repository id (default: ${MODEL_ENV}, else model.json).")
    parser.add_argument("--revision", help=f"Hub branch, tag or commit to pin (default: ${REVISION_ENV}).")
    parser.add_argument(
        "--host",
        default=os.environ.get("GRADIO_SERVER_NAME", DEFAULT_HOST),
        help="Address to listen on (default: $GRADIO_SERVER_NAME, else 127.0.0.1).",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("GRADIO_SERVER_PORT", DEFAULT_PORT)),
        help="Port (default: $GRADIO_SERVER_PORT, else 7860).",
    )
    parser.add_argument("--max_chars", type=int, default=DEFAULT_MAX_CHARS, help="Longest text accepted.")
    parser.add_argument("--device", help="torch device (default: CUDA when available, else CPU).")
    parser.add_argument("--quantize", action="store_true", help="int8 dynamic quantization (CPU).")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # gradio's own start-up requests
    try:
        model, revision = resolve_model(args.model, args.revision)
        demo = load_demo(model, revision, max_chars=args.max_chars, device=args.device, quantize=args.quantize)
    # A missing or bad model: a message, not a traceback (HfHubHTTPError and missing files are OSErrors).
    except (OSError, ValueError) as error:
        raise SystemExit(f"app.py: {error}") from error
    logger.info("Model %s (revision %s) loaded", model, revision or "default")
    app = build_app(demo, model if revision is None else f"{model}@{revision}")
    app.launch(server_name=args.host, server_port=args.port, footer_links=["api"], prevent_thread_lock=True)
    warm_up_server(app.local_url)
    logger.info("Serving on %s", app.local_url)
    app.block_thread()


def warm_up_server(url: str) -> None:
    """Sends one request through the served app, so that Gradio's lazy set-up is paid for now, not by the first
    visitor."""
    try:
        client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
        client.predict(EXAMPLES[0], api_name=f"/{API_NAME}")
    except Exception as error:  # the app serves anyway; its first request is only slower
        logger.warning("The warm-up request failed: %s", error)


if __name__ == "__main__":
    main()
