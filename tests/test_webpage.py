"""The browser page: the file chapter 9 exports for it (one face, built-in operators, the page's
metadata inside), and the page itself in headless Chromium, which must find the same faces and
give the same answers as `course predict --detect --json`, with no request beyond 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from helpers.photos import deploy

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]  # a test webcam


@pytest.fixture(scope="module")
def page_run(trained_scratch, tmp_path_factory) -> Path:
    """A copy of the smoke scratch run whose config asks for the mirror and an interval per band
    of predicted age, so that the page's handling of both is compared with Python's."""
    run = tmp_path_factory.mktemp("page-run") / "run"
    shutil.copytree(trained_scratch, run)
    config = json.loads((run / "config.json").read_text())
    config["test_time_mirror"] = True
    bands = {"0-2": 1.5, "3-9": 3.0, "10-19": 5.0, "20-29": 7.0, "30-39": 9.0, "40-49": 11.0,
             "50-59": 13.0, "60+": 15.0}
    config["age_interval"] = {"coverage": 0.9, "q": 8.0, "spread": "1 year", "q_by_band": bands,
                              "calibrated_on": "a test's made-up scales"}
    (run / "config.json").write_text(json.dumps(config))
    return run


@pytest.fixture(scope="module")
def page_file(page_run, tmp_path_factory) -> Path:
    """The run's model exported for the page, as chapter 9 exports it."""
    from helpers.learn.folder import RunFolder

    folder = RunFolder(page_run)
    return deploy.export_for_page(folder.load_model(), folder.config(),
                                  tmp_path_factory.mktemp("export") / "my-model.tflite")


@pytest.fixture(scope="module")
def book_file(page_run, tmp_path_factory) -> Path:
    """The run exported as the book's build exports it (tools.webpage: its run folder named)."""
    from tools import webpage

    return webpage.export_run(page_run, tmp_path_factory.mktemp("book-export") / "course.tflite")


def test_page_file_takes_one_face_with_builtin_operators_only(page_file, page_run):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(page_file))
    (image,) = interpreter.get_input_details()
    assert list(image["shape_signature"]) == list(image["shape"])  # nothing left dynamic
    assert image["shape"][0] == 1
    operators = deploy.operator_names(page_file)
    assert operators and not [op for op in operators if op.startswith(("CUSTOM", "FLEX"))]
    outputs = interpreter.get_signature_runner().get_output_details()
    assert {"age", "gender"} <= set(outputs)


def test_page_file_carries_what_predict_reads(page_file, page_run):
    from helpers.learn.calibration import prediction_settings
    from helpers.photos import faces

    meta = deploy.read_page_metadata(page_file)
    config = json.loads((page_run / "config.json").read_text())
    mirror, q = prediction_settings(page_run / "model.keras")
    assert meta["mirror"] is mirror is True
    assert meta["interval"]["q"] == q
    assert meta["input"] == {"size": config["image_size"], "channels": config["channels"],
                             "resize": "area"}
    assert meta["detector"]["box_to_haar"] == faces.BLAZE_CROP
    assert meta["detector"]["haar_crop"] == faces.UTKFACE_CROP
    assert meta["trained_on"].startswith(f"{config['n_train']:,} ")
    assert "preset smoke" in meta["trained_on"]
    assert meta["run"] is None  # chapter 9's export; the book's names its run folder


def test_page_file_answers_like_the_keras_model(page_file, page_run):
    from ai_edge_litert.interpreter import Interpreter

    from helpers.learn.folder import RunFolder

    model = RunFolder(page_run).load_model()
    size = int(model.inputs[0].shape[1])
    face = np.random.default_rng(0).uniform(0, 255, (1, size, size, 3)).astype(np.float32)
    runner = Interpreter(model_path=str(page_file)).get_signature_runner()
    got = runner(image=face)
    want = model(face, training=False)
    for head in ("age", "gender"):
        assert np.allclose(got[head], np.asarray(want[head]), atol=1e-3), head


def test_a_file_without_the_metadata_is_refused_clearly(tmp_path):
    from helpers.photos import blazeface

    with pytest.raises(ValueError, match="no course metadata"):
        deploy.read_page_metadata(blazeface.model_path("short"))


# ------------------------------------------------------------------------ in a real browser


def browser_or_skip():
    """Playwright for Python driving Debian's Chromium, or a skip that says what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e .[dev])")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: tasks.py test installs Debian's chromium "
                    "where it can (apt-get, as root); it could not here")
    return sync_playwright


@pytest.fixture(scope="module")
def built_page(book_file, tmp_path_factory) -> Path:
    """The page, built by tools.webpage with the exported model, in a folder of its own."""
    from tools import webpage

    if not webpage.ensure_runtime():
        pytest.skip("npm could not install LiteRT.js: the page has no runtime here")
    html = tmp_path_factory.mktemp("html")
    webpage.build_page(html, book_file)
    return html


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    """Public-domain photos from installed packages (never a UTKFace face): scikit-image's
    astronaut as PNG, the astronaut beside her mirror image as a large JPEG (two faces, searched
    shrunk as Python does), and a photo with no face."""
    from PIL import Image

    from helpers.photos.faces import demo_photos

    folder = tmp_path_factory.mktemp("photos")
    demo = demo_photos()
    paths = {"astronaut": folder / "astronaut.png", "pair": folder / "pair.jpg",
             "coffee": folder / "coffee.png"}
    astronaut = demo["astronaut"]
    Image.fromarray(astronaut).save(paths["astronaut"])
    pair = Image.fromarray(np.concatenate([astronaut, astronaut[:, ::-1]], axis=1))
    pair.resize((pair.width * 2, pair.height * 2)).save(paths["pair"], quality=92)
    Image.fromarray(demo["coffee"]).save(paths["coffee"])
    return paths


class Page:
    """The page served on 127.0.0.1 and opened in headless Chromium; every request is kept."""

    def __init__(self, html: Path, sync_playwright):
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(html))
        handler.log_message = lambda *args: None
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/try/index.html"
        self.requests: list[str] = []
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        self.page = self.browser.new_page()
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.open()

    def open(self) -> None:
        """Load the page afresh."""
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-ready]")

    def give(self, selector: str, path: Path) -> str:
        """Give a file to one of the page's file inputs; what the page ended with."""
        self.page.evaluate("() => { delete document.body.dataset.done; }")
        self.page.set_input_files(selector, str(path))
        self.page.wait_for_selector("body[data-done]", timeout=180_000)
        return self.page.get_attribute("body", "data-done")

    def answers(self) -> list[dict]:
        """The page's answers as JSON, one entry per model."""
        return json.loads(self.page.text_content("#json") or "[]")

    def close(self) -> None:
        """Close the browser and stop the server."""
        self.browser.close()
        self.playwright.stop()
        self.server.shutdown()


@pytest.fixture(scope="module")
def page(built_page):
    opened = Page(built_page, browser_or_skip())
    yield opened
    opened.close()


def python_answers(run: Path, photo: Path) -> dict:
    """`course predict --detect --json` on one photo with the run's model."""
    done = subprocess.run([sys.executable, "-m", "helpers.cli", "predict", "--detect", "--json",
                           "--model", str(run / "model.keras"), str(photo)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_same(page_faces: list[dict], python_faces: list[dict]) -> None:
    """The page's faces against Python's: box within 2 pixels, age within half a year, gender
    probability within 0.01, the same gender and interval."""
    assert len(page_faces) == len(python_faces)
    for ours, theirs in zip(page_faces, python_faces, strict=True):
        assert np.abs(np.subtract(ours["box"], theirs["box"])).max() <= 2, (ours, theirs)
        assert abs(ours["age"] - theirs["age"]) <= 0.5, (ours, theirs)
        assert abs(ours["gender_probability"] - theirs["gender_probability"]) <= 0.01
        assert ours["gender"] == theirs["gender"]
        assert np.abs(np.subtract(ours["age_interval"], theirs["age_interval"])).max() <= 0.5


@pytest.mark.parametrize("name", ["astronaut", "pair"])
def test_the_page_finds_the_faces_and_answers_as_predict_does(page, page_run, photos, name):
    page.open()
    assert page.give("#picture", photos[name]) == "faces", page.page.text_content("#status")
    (course,) = page.answers()
    want = python_answers(page_run, photos[name])
    assert course["detector"] == want["detector"]
    assert want["detector"] == ("blazeface (full range)" if name == "pair" else "blazeface")
    assert len(want["faces"]) >= (2 if name == "pair" else 1)
    assert_same(course["faces"], want["faces"])
    assert not [url for url in page.requests if not url.startswith("http://127.0.0.1:")]
    assert "course predict --detect --json --model runs/run/model.keras" in \
        page.page.text_content("#models")


def test_a_photo_without_a_face_says_so(page, photos):
    page.open()
    assert page.give("#picture", photos["coffee"]) == "none"
    assert "found no face" in page.page.text_content("#status")


def test_the_readers_own_model_answers_beside_the_course_model(page, page_file, page_run, photos):
    page.open()
    assert page.give("#own-model", page_file) == "model"
    assert page.give("#picture", photos["astronaut"]) == "faces"
    course, own = page.answers()
    assert own["model"].startswith("your model")
    want = python_answers(page_run, photos["astronaut"])["faces"]
    assert_same(own["faces"], want)


@pytest.mark.parametrize("kind", ["not a model", "no metadata"])
def test_a_file_the_page_cannot_use_is_refused_with_a_clear_message(page, tmp_path, kind):
    from helpers.photos import blazeface

    path = tmp_path / "bad.tflite"
    if kind == "not a model":
        path.write_text("hello")
    else:
        shutil.copy(blazeface.model_path("short"), path)
    page.open()
    assert page.give("#own-model", path) == "error"
    message = page.page.text_content("#status")
    assert ("not a TensorFlow Lite file" if kind == "not a model" else "no course metadata") \
        in message


def test_the_page_allows_no_outside_connection(built_page):
    html = (built_page / "try" / "index.html").read_text()
    policy = html.split('http-equiv="Content-Security-Policy" content="')[1].split('"')[0]
    rules = dict(rule.strip().split(" ", 1) for rule in policy.split(";"))
    assert rules["default-src"] == "'self'" and rules["connect-src"] == "'self'"
    assert "http" not in policy and "*" not in policy
    scripts = [line for line in html.splitlines() if "<script" in line]
    assert scripts and all('src="app.js"' in line for line in scripts)  # nothing inline
    assert not list((built_page / "try").rglob("*.map"))


def test_the_webcam_takes_a_photo_and_the_page_looks_at_it(page):
    page.open()
    page.page.evaluate("() => { delete document.body.dataset.done; }")
    page.page.click("#webcam")
    page.page.wait_for_selector("#camera:not([hidden])")
    page.page.wait_for_timeout(500)  # a few frames
    page.page.click("#webcam")
    page.page.wait_for_selector("body[data-done]", timeout=180_000)
    assert page.page.get_attribute("body", "data-done") in ("none", "faces")
    assert page.page.is_hidden("#camera")  # the camera is off again
