"""Fixtures for the viewer tests: a real bench DB and log, the real server, headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_helpers import BROKEN, CIRCLE, HOSTILE, SQUARE, find_browser, reply, scene, write_jsonl

NONCE = "web-viewer"
NO_EMBEDDERS = {"image_embedder": None, "code_embedder": None}


@pytest.fixture(scope="module")
def bench_db(render_pool, tmp_path_factory) -> dict[str, object]:
    """Two real runs over tasks t1 and t2: the references, and a scripted RITL run in which t1
    fails (legacy ShowCreation, with hostile text in the reply) then renders, and t2 renders."""
    pytest.importorskip("starlette")
    from manimatic.bench import run_bench

    tmp = tmp_path_factory.mktemp("webdb")
    dataset = write_jsonl(
        tmp / "tasks.jsonl",
        [
            {"id": "t1", "prompt": f"Draw a blue circle. {HOSTILE}",
             "reference_code": scene(CIRCLE, NONCE), "tags": {"type": "Basic"}},
            {"id": "t2", "prompt": "Fade in a red square.",
             "reference_code": scene(SQUARE, NONCE), "tags": {"type": "Intermediate"}},
        ],
    )  # fmt: skip
    replies = write_jsonl(
        tmp / "replies.jsonl",
        [
            {"content": reply(scene(BROKEN, NONCE), before=HOSTILE)},
            {"content": reply(scene(CIRCLE, NONCE))},
            {"content": reply(scene(SQUARE, NONCE))},
        ],
    )
    db = tmp / "bench.sqlite"
    common = dict(db=db, pool=render_pool, **NO_EMBEDDERS)
    ref = run_bench(str(dataset), "reference", **common)
    ritl = run_bench(
        str(dataset), f"scripted:{replies}", "ritl", label="sft", rounds=1, workers=1, **common
    )
    assert ref.ok == 2 and ritl.ok == 2, (ref, ritl)
    return {"db": db, "reference": ref.run_id, "ritl": ritl.run_id, "tmp": tmp}


@pytest.fixture(scope="module")
def server(bench_db, render_pool) -> Iterator[object]:
    """The real viewer (uvicorn) on a free loopback port, with the session's render pool."""
    from manimatic.web.app import ViewerConfig
    from manimatic.web.server import start_in_thread

    log_db = Path(bench_db["tmp"]) / "generations.sqlite"
    info = start_in_thread(ViewerConfig(db=bench_db["db"], log_db=log_db, pool=render_pool))
    info.log_db = log_db  # type: ignore[attr-defined]
    yield info
    info.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by selenium; skipped where it is not installed."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    found = find_browser()
    if found is None:
        pytest.skip(
            "chromium and chromedriver are not installed (apt-get install chromium "
            "chromium-driver; scripts/setup.sh does it)"
        )
    binary, driver_path = found
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--mute-audio", "--autoplay-policy=no-user-gesture-required"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
