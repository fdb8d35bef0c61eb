"""The viewer in a real headless Chromium: pages load, videos play, the studio streams rounds."""

from __future__ import annotations

import uuid

import pytest
from web_helpers import BROKEN, CIRCLE, reply, scene, wait_for, write_jsonl

pytest.importorskip("selenium")
from selenium.webdriver.common.by import By  # noqa: E402

pytestmark = pytest.mark.slow

READY = "return Array.from(document.querySelectorAll('video.clip')).map(v => v.readyState)"


def visible_rows(browser, table_id: str) -> list[str]:
    rows = browser.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")
    return [r.find_element(By.CSS_SELECTOR, "td").text for r in rows if r.is_displayed()]


def test_runs_page_sorts_and_filters(server, bench_db, browser) -> None:
    browser.get(server.url + "/")
    assert browser.title.startswith("runs")
    assert set(visible_rows(browser, "runs-table")) == {bench_db["reference"], bench_db["ritl"]}
    box = browser.find_element(By.ID, "runs-filter")
    box.send_keys("scripted")
    assert visible_rows(browser, "runs-table") == [bench_db["ritl"]]
    box.clear()
    box.send_keys(" ")  # an input event with no words: every row again
    assert len(visible_rows(browser, "runs-table")) == 2
    # tick both runs: one table of conditions
    for box in browser.find_elements(By.CSS_SELECTOR, "#runs-table input[name=run]"):
        box.click()
    browser.find_element(By.CSS_SELECTOR, "#conditions-form button").click()
    wait_for(lambda: "/conditions?" in browser.current_url, what="the conditions page")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#condition-intervals tbody tr")) == 2
    # the run page's task table sorts by a numeric column
    browser.get(server.url + f"/runs/{bench_db['ritl']}")
    header = browser.find_element(By.XPATH, "//table[@id='tasks-table']//th[text()='rounds']")
    header.click()
    first = visible_rows(browser, "tasks-table")
    header.click()
    assert visible_rows(browser, "tasks-table") == list(reversed(first))
    assert first == ["t2", "t1"]  # t2 took one attempt, t1 two


def test_task_page_plays_every_video_and_escapes_llm_text(server, bench_db, browser) -> None:
    browser.get(server.url + f"/runs/{bench_db['ritl']}/tasks/t1")
    states = wait_for(
        lambda: (s := browser.execute_script(READY)) and len(s) == 3 and min(s) >= 2 and s,
        what="the reference and both conditions' videos to be playable",
    )
    assert len(states) == 3
    errors = browser.execute_script(
        "return Array.from(document.querySelectorAll('video.clip')).map(v => v.error && v.error.code)"
    )
    assert errors == [None, None, None]
    browser.find_element(By.ID, "play-all").click()
    wait_for(
        lambda: browser.execute_script(
            "return Array.from(document.querySelectorAll('video.clip')).every(v => v.currentTime > 0)"
        ),
        what="every video to play",
    )
    # the hostile prompt and reply are shown as text and never ran
    assert "<script>window.__pwned = 1</script>" in browser.find_element(By.ID, "task-prompt").text
    assert browser.execute_script("return window.__pwned === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, "img[src='x']")
    rounds = browser.find_elements(By.CSS_SELECTOR, "details.round")
    assert len(rounds) == 2  # t1: two rounds in the RITL run; the reference run has none


def test_studio_streams_rounds_plays_and_rerenders(server, browser, tmp_path) -> None:
    from manimatic.agent.genlog import GenerationLog

    nonce = uuid.uuid4().hex  # fresh code: the rounds render for real, not from the cache
    script = write_jsonl(
        tmp_path / "studio.jsonl",
        [{"content": reply(scene(BROKEN, nonce))}, {"content": reply(scene(CIRCLE, nonce))}],
    )
    browser.get(server.url + "/studio")
    browser.find_element(By.ID, "description").send_keys("A blue circle is drawn.")
    browser.find_element(By.ID, "model").send_keys(f"scripted:{script}")
    browser.find_element(By.CSS_SELECTOR, "#strategy option[value='ritl']").click()
    rounds = browser.find_element(By.ID, "rounds")
    rounds.clear()
    rounds.send_keys("1")
    browser.find_element(By.ID, "generate").click()
    wait_for(
        lambda: browser.execute_script("return document.body.dataset.studio") == "done",
        timeout=180,
        what="the studio's generation to finish",
    )
    live = browser.find_elements(By.CSS_SELECTOR, "#rounds-live details.round")
    assert [r.get_attribute("data-round") for r in live] == ["1", "2"]
    assert "ShowCreation" in live[0].text and "failed" in live[0].text
    assert "rendered" in live[1].text
    video_ready = "const v = document.getElementById('studio-video'); return v.readyState"
    wait_for(lambda: browser.execute_script(video_ready) >= 2, what="the studio video")
    first_src = browser.find_element(By.ID, "studio-video").get_attribute("src")
    code = browser.find_element(By.ID, "code")
    assert "class WebCircle" in code.get_attribute("value")
    edited = scene(CIRCLE, nonce).replace("BLUE", "YELLOW")
    browser.execute_script("document.getElementById('code').value = arguments[0]", edited)
    browser.find_element(By.ID, "rerender").click()
    wait_for(
        lambda: "rendered in" in browser.find_element(By.ID, "render-status").text,
        timeout=120,
        what="the re-render",
    )
    wait_for(lambda: browser.execute_script(video_ready) >= 2, what="the re-rendered video")
    assert browser.find_element(By.ID, "studio-video").get_attribute("src") != first_src
    # the studio's generation is in the log, and its page plays the video
    with GenerationLog(server.log_db) as log:
        entry = log.entries(1)[0]
    assert entry.source == "studio" and entry.ok and entry.rounds == 2
    browser.get(server.url + f"/logs/{entry.id}")
    wait_for(lambda: (s := browser.execute_script(READY)) and min(s) >= 2, what="log video")
    assert len(browser.find_elements(By.CSS_SELECTOR, "details.round")) == 2


def test_studio_shows_a_bad_request(server, browser) -> None:
    browser.get(server.url + "/studio")
    browser.find_element(By.ID, "description").send_keys("A circle.")
    browser.find_element(By.ID, "model").send_keys("nosuch:model")
    browser.find_element(By.ID, "generate").click()
    error = browser.find_element(By.ID, "studio-error")
    wait_for(lambda: error.is_displayed() and "nosuch" in error.text, what="the error line")


def test_traversal_is_refused_in_the_browser(server, browser) -> None:
    for path in ("/files/cache/..%2f..%2f..%2f..%2fetc%2fpasswd", "/files/home/../../etc/passwd"):
        browser.get(server.url + path)
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "root:" not in body
        assert "refused" in body or "not found" in body.lower(), body
