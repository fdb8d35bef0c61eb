"""The viewer's pages over real HTTP: content, escaping, the file route's containment, guards."""

from __future__ import annotations

import http.client
import os
import re
from pathlib import Path

import httpx
import pytest
from web_helpers import HOSTILE

pytest.importorskip("starlette")


def get(server, path: str, **kw) -> httpx.Response:
    return httpx.get(server.url + path, timeout=60, **kw)


def raw_get(server, path: str, host: str | None = None) -> tuple[int, str]:
    """A request with the path sent exactly as given (no client-side normalisation)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    conn.putrequest("GET", path, skip_host=host is not None)
    if host is not None:
        conn.putheader("Host", host)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read().decode("utf-8", "replace")
    conn.close()
    return response.status, body


def test_runs_run_and_task_pages(server, bench_db) -> None:
    ritl, ref = bench_db["ritl"], bench_db["reference"]
    page = get(server, "/")
    assert page.status_code == 200
    assert ritl in page.text and ref in page.text and "sft / ritl" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]

    run = get(server, f"/runs/{ritl}")
    assert run.status_code == 200
    assert 'id="intervals"' in run.text and "bootstrap" in run.text
    assert "/runs/" + ritl + "/tasks/t1" in run.text and "data:image/png;base64," in run.text

    task = get(server, f"/runs/{ritl}/tasks/t1")
    assert task.status_code == 200
    text = task.text
    # both conditions (the reference run and the RITL run) and the reference render
    assert text.count("<video") == 3, text
    # two rounds: the failed one carries its error and feedback, the diff against the reference
    assert "round 1" in text and "round 2" in text
    assert "ShowCreation" in text and "feedback sent to the next round" in text
    assert "diff against the reference" in text and "diff against the previous round" in text
    # LLM-written and dataset text is escaped, never markup
    assert HOSTILE not in text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in text
    for src in re.findall(r'<video class="clip" src="([^"]+)"', text):
        media = get(server, src)
        assert media.status_code == 200 and media.headers["content-type"] == "video/mp4"
        assert media.content[4:8] == b"ftyp"
        ranged = get(server, src, headers={"Range": "bytes=0-99"})
        assert ranged.status_code == 206 and len(ranged.content) == 100  # seekable <video>


def test_conditions_page_has_intervals_per_condition(server, bench_db) -> None:
    a, b = bench_db["reference"], bench_db["ritl"]
    page = get(server, f"/conditions?run={a}&run={b}")
    assert page.status_code == 200
    body = page.text
    assert 'id="condition-intervals"' in body and "sft / ritl" in body and "reference" in body
    # both runs rendered 2/2: RSR 100%, bootstrap interval [100%, 100%] (no variation seen)
    assert body.count("[100.0%, 100.0%]") >= 2, body
    assert get(server, "/conditions").status_code == 404
    assert get(server, "/conditions?run=nosuchrun").status_code == 404


def test_compare_and_missing_records(server, bench_db) -> None:
    a, b = bench_db["reference"], bench_db["ritl"]
    page = get(server, f"/compare?a={a}&b={b}")
    assert page.status_code == 200
    assert "2 common task(s)" in page.text and 'id="ok-to-fail"' in page.text
    assert get(server, "/compare").status_code == 200  # the picker
    missing = get(server, "/runs/ffffffffffff")
    assert missing.status_code == 404 and "no run" in missing.text
    assert get(server, f"/runs/{b}/tasks/nope").status_code == 404
    assert get(server, "/logs/999999").status_code == 404


def test_file_route_refuses_traversal_and_escapes(server, bench_db, tmp_path) -> None:
    home = Path(os.environ["MANIMATIC_HOME"])
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"not yours")
    (home / "cache").mkdir(parents=True, exist_ok=True)
    link = home / "cache" / "escape.mp4"
    link.unlink(missing_ok=True)
    link.symlink_to(secret)
    text_file = home / "cache" / "notes.txt"
    text_file.write_text("hello")
    attempts = [
        "/files/cache/../../../../etc/passwd",
        "/files/cache/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/files/cache/..%2f..%2f..%2fetc%2fpasswd",
        "/files/cache//etc/passwd",
        "/files/cache/escape.mp4",  # a symlink out of the cache
        "/files/cache/notes.txt",  # inside, but not media
        "/files/elsewhere/x.mp4",  # not a root
    ]
    for path in attempts:
        status, body = raw_get(server, path)
        assert status in (403, 404), (path, status)
        assert "root:" not in body and "not yours" not in body, path
    assert raw_get(server, "/files/cache/escape.mp4")[0] == 403
    assert raw_get(server, "/files/cache/../../../../etc/passwd")[0] == 403


def test_guards_host_and_cross_origin(server) -> None:
    status, body = raw_get(server, "/", host="evil.example:80")
    assert status == 403 and "localhost only" in body
    assert raw_get(server, "/", host=f"localhost:{server.port}")[0] == 200
    cross = httpx.post(
        server.url + "/api/studio/render",
        json={"code": "x"},
        headers={"Origin": "http://evil.example"},
        timeout=30,
    )
    assert cross.status_code == 403
    form = httpx.post(server.url + "/api/studio/render", data={"code": "x"}, timeout=30)
    assert form.status_code == 415  # a cross-site <form> cannot send JSON
    bad = httpx.post(server.url + "/api/studio/generate", json={"description": " "}, timeout=30)
    assert bad.status_code == 400 and "empty" in bad.json()["error"]
    unknown = httpx.post(
        server.url + "/api/studio/generate",
        json={"description": "a circle", "model": "nosuch:model", "strategy": "ritl"},
        timeout=30,
    )
    assert unknown.status_code == 400 and "nosuch" in unknown.json()["error"]


def test_static_report_links_videos_and_carries_transcripts(bench_db, tmp_path) -> None:
    from manimatic.bench import Store
    from manimatic.bench.report import build_report, write_report

    with Store(bench_db["db"]) as store:
        report = build_report(store, [bench_db["reference"], bench_db["ritl"]], frames=0)
    files = write_report(report, tmp_path / "report")
    text = files.html.read_text()
    links = re.findall(r'<a href="(file://[^"]+\.mp4)">', text)
    assert len(links) >= 5  # two references + two tasks of each run, each linked
    for link in links:
        assert Path(link.removeprefix("file://")).is_file()
    assert "round transcripts (2 call(s))" in text and "round transcripts (1 call(s))" in text
    assert HOSTILE not in text and "&lt;script&gt;" in text
    md = files.markdown.read_text()
    assert "round transcripts (2 call(s))" in md and "video: [WebCircle.mp4](file://" in md
