"""The Gradio demo in a real browser: the app serves a tiny model on 127.0.0.1, headless Chromium (driven by
selenium) types a sentence, submits it and reads the highlighted entities.

Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them; elsewhere the tests skip), or the
binaries named by $CHROMIUM and $CHROMEDRIVER. Each run saves a screenshot in the test's temporary folder;
`SPACE_SCREENSHOT=examples/space/screenshot.png` also writes it there (with a Korean font installed, e.g.
Debian's fonts-nanum, for readable text)."""

import json
import os
import re
import shutil

import pytest


pytest.importorskip("selenium", reason="the browser tests need selenium: pip install -e '.[demo]'")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from test_space_app import (  # noqa: E402
    MARKED_SENTENCES,
    SPACE_DIR,
    launch,
    load_script,
    shared_analyzer,
    shared_model_dir,
    unmark,
)

from modeling_mtl_bilstm import KoreanNERPredictor  # noqa: E402


def find_binary(variable: str, names: tuple[str, ...]) -> str | None:
    return os.environ.get(variable) or next(filter(None, map(shutil.which, names)), None)


CHROMIUM = find_binary("CHROMIUM", ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"))
CHROMEDRIVER = find_binary("CHROMEDRIVER", ("chromedriver",))
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        f"no headless Chromium (browser: {CHROMIUM}, driver: {CHROMEDRIVER}): install Debian's chromium and "
        "chromium-driver, as .ci/run does, or set $CHROMIUM and $CHROMEDRIVER",
        allow_module_level=True,
    )

# As root, in a container, with no network: no sandbox, no GPU, and nothing that calls home.
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1300",
]
WAIT_S = 30
# Network URLs: the browser's own pages (chrome://) and inline data are not requests to a server.
NETWORK_URL = re.compile(r"^(https?|wss?)://")
APP_URL = re.compile(r"^(https?|wss?)://127\.0\.0\.1:\d+/")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on 127.0.0.1, served in this process on the tiny model; closed at the end of the module.
    (tests/test_space_app.py starts it with its command line.)"""
    app = load_script(SPACE_DIR / "app.py", "space_app_for_browser")
    predictor = KoreanNERPredictor.from_pretrained(shared_model_dir(tmp_path_factory), analyzer=shared_analyzer())
    blocks = app.build_app(app.NERDemo(predictor), "tiny-test-model")
    try:
        yield launch(blocks)
    finally:
        blocks.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    # The network log: every URL the page asks for.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(server, browser):
    """The app's page, loaded afresh, once its text box takes input."""
    browser.get(server)
    WebDriverWait(browser, WAIT_S).until(
        expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, "#text textarea"))
    )
    return browser


def highlighted_entities(browser) -> list[tuple[str, str]]:
    """(text, label) of each highlighted piece of the entities component."""
    tokens = browser.find_elements(By.CSS_SELECTOR, "#entities .token.highlighted")
    return [
        (token.find_element(By.CSS_SELECTOR, ".text").text, token.find_element(By.CSS_SELECTOR, ".label").text)
        for token in tokens
    ]


def status_text(browser) -> str:
    return browser.find_element(By.ID, "status").text


def requested_urls(browser) -> list[str]:
    messages = (json.loads(entry["message"])["message"] for entry in browser.get_log("performance"))
    return [m["params"]["request"]["url"] for m in messages if m["method"] == "Network.requestWillBeSent"]


def test_typed_sentence_shows_its_entities_by_type(page, tmp_path):
    text, expected = unmark(MARKED_SENTENCES[0])
    page.find_element(By.CSS_SELECTOR, "#text textarea").send_keys(text)
    page.find_element(By.CSS_SELECTOR, "#show-morphemes input[type=checkbox]").click()
    page.find_element(By.ID, "analyse").click()

    WebDriverWait(page, WAIT_S).until(lambda browser: re.search(r" in \d+ ms\.$", status_text(browser)))
    assert highlighted_entities(page) == [(entity, kind) for entity, kind, _, _ in expected]
    assert re.fullmatch(r"3 entities, 14 morphemes in \d+ ms\.", status_text(page))
    table = page.find_element(By.ID, "entity-table").text
    assert all(entity in table and kind in table for entity, kind, _, _ in expected)
    morphemes = page.find_element(By.ID, "morphemes")
    assert morphemes.is_displayed() and "POS (model)" in morphemes.text and "NNP" in morphemes.text

    screenshot = tmp_path / "screenshot.png"
    assert page.save_screenshot(str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("SPACE_SCREENSHOT"):
        shutil.copyfile(screenshot, os.environ["SPACE_SCREENSHOT"])


def test_page_fetches_nothing_from_the_internet(page):
    urls = requested_urls(page)
    assert any(APP_URL.match(url) for url in urls), urls
    foreign = [url for url in urls if NETWORK_URL.match(url) and not APP_URL.match(url)]
    assert not foreign, f"expected requests to the app only, received {foreign}"


def test_empty_input_shows_a_message_not_an_error(page):
    page.find_element(By.ID, "analyse").click()
    WebDriverWait(page, WAIT_S).until(lambda browser: status_text(browser))
    assert status_text(page) == "Type or paste some Korean text, or pick an example, then press Analyse."
    assert highlighted_entities(page) == []
    assert "Error" not in page.find_element(By.TAG_NAME, "body").text


def test_example_fills_the_text_box(page):
    text = unmark(MARKED_SENTENCES[1])[0]
    page.find_element(By.XPATH, f"//button[normalize-space()='{text}']").click()
    textarea = page.find_element(By.CSS_SELECTOR, "#text textarea")
    WebDriverWait(page, WAIT_S).until(lambda browser: textarea.get_attribute("value") == text)
