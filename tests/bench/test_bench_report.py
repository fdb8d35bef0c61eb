"""`manimatic bench report`: tables that agree with `summarize`, embedded frames, errors, plots."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest
from bench_scenes import BROKEN, CIRCLE, NO_EMBEDDERS, SQUARE, STILL_TEXT, scene, write_jsonl
from PIL import Image
from typer.testing import CliRunner

from manimatic.bench import Store, run_bench, summarize
from manimatic.bench.report import build_report
from manimatic.cli import app
from manimatic.commands._common import UserError
from manimatic.metrics.correlation import correlate

NONCE = "report"
PNG_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def invoke(*args: str):
    return CliRunner().invoke(app, ["bench", *args], catch_exceptions=False)


def reply(code: str) -> str:
    return f"<CODE>```python\n{code}```</CODE>"


@pytest.fixture(scope="module")
def runs(render_pool, tmp_path_factory) -> dict[str, object]:
    """Three real runs on tasks a (Basic), b (Intermediate), c (Advanced, a still image).

    reference: all render; base (generations): b fails with a NameError; sft (scripted, RITL
    with one feedback round): a fixed on the second attempt, c never renders.
    """
    tmp = tmp_path_factory.mktemp("report")
    refs = {"a": (CIRCLE, "Basic"), "b": (SQUARE, "Intermediate"), "c": (STILL_TEXT, "Advanced")}
    dataset = write_jsonl(
        tmp / "tasks.jsonl",
        [
            {"id": k, "prompt": f"Draw the {k} scene.", "reference_code": scene(code, NONCE),
             "tags": {"type": t}}
            for k, (code, t) in refs.items()
        ],
    )  # fmt: skip
    good, bad = scene(CIRCLE, NONCE), scene(BROKEN, NONCE)
    gens = write_jsonl(
        tmp / "gens.jsonl",
        [{"id": "a", "code": good}, {"id": "b", "code": bad},
         {"id": "c", "code": scene(STILL_TEXT, NONCE)}],
    )  # fmt: skip
    replies = write_jsonl(
        tmp / "replies.jsonl",
        [{"content": reply(c)} for c in (bad, good, scene(SQUARE, NONCE), bad, bad)],
    )
    db = tmp / "bench.sqlite"
    common = dict(db=db, pool=render_pool, **NO_EMBEDDERS)
    ids = {
        "reference": run_bench(str(dataset), "reference", **common).run_id,
        "base": run_bench(str(dataset), "", generations=gens, label="base", **common).run_id,
        "sft": run_bench(
            str(dataset), f"scripted:{replies}", "ritl", label="sft", rounds=1, workers=1, **common
        ).run_id,
    }
    return {"db": db, "ids": ids, "tmp": tmp}


class _Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts, with the <h2> heading before it."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._heading = ""
        self._in_h2 = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self._in_h2, self._heading = True, ""
        elif tag == "table":
            self.tables[self._heading] = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._heading].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_h2:
            self._heading += data
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def test_report_tables_frames_errors_and_correlation(runs, tmp_path: Path) -> None:
    db, ids = runs["db"], runs["ids"]
    out = tmp_path / "rep"
    result = invoke("report", *ids.values(), "--db", str(db), "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    html_path, md_path = Path(data["html"]), Path(data["markdown"])
    assert html_path == (out / "report.html").resolve() and md_path.is_file()
    assert [r["id"] for r in data["runs"]] == list(ids.values())
    with Store(db) as store:
        stats = {k: summarize(store.results(v)) for k, v in ids.items()}
        base_rows = store.results(ids["base"])
    assert [r["rsr"] for r in data["runs"]] == [stats[k]["overall"]["rsr"] for k in ids]
    assert data["runs"][1]["rsr"] == pytest.approx(2 / 3) and data["runs"][1]["vs_basis"] == "ssim"

    html = html_path.read_text(encoding="utf-8")
    t = tables(html)
    # The study's table: one row per condition with summarize's RSR / VS, CBB null said as n/a.
    summary = {row[0]: row for row in t["Results per condition"][1:]}
    assert list(summary) == ["reference", "base", "sft / ritl"]
    header = t["Results per condition"][0]
    for name, key in (("reference", "reference"), ("base", "base"), ("sft / ritl", "sft")):
        row = dict(zip(header, summary[name], strict=True))
        overall = stats[key]["overall"]
        assert row["RSR"] == pct(overall["rsr"]) and row["n"] == "3"
        assert row["VS"] == pct(overall["means"]["vs"]) + "†"  # SSIM term only: marked
        assert row["CBB"] == "n/a" and row["run"] == ids[key]
    assert summary["base"][header.index("RSR")] == "66.7%"
    # Per Type: Basic / Intermediate / Advanced groups, base fails its Intermediate task.
    per_type = t["Results per Type"]
    assert per_type[0] == ["", "Basic", "Intermediate", "Advanced"]
    base_type = next(r for r in per_type if r[0] == "base")
    assert base_type[1:3] == ["1", "100.0%"] and base_type[5:7] == ["1", "0.0%"]
    assert stats["base"]["by_type"]["Intermediate"]["rsr"] == 0.0
    assert "VS is the SSIM term only in every run" in html and "CBB is null in every run" in html
    # Intervals: each number with its 95% bootstrap interval; the --json summary has them too.
    iv = {r[0]: r for r in t["Results with 95% bootstrap intervals"][1:]}
    lo, hi = data["runs"][1]["rsr_ci"]
    assert iv["base"][2] == f"66.7% [{100 * lo:.1f}, {100 * hi:.1f}]" and lo <= 2 / 3 <= hi
    assert iv["base"][7] == "ssim"  # which VS terms
    # Paired tests between conditions that differ in one of label / strategy.
    paired = {r[0]: r for r in t["Paired comparisons (same tasks)"][1:]}
    assert "reference -> base" in paired and paired["reference -> base"][3:5] == [
        "1/0",
        "1 (exact)",
    ]

    # Correlation: the metrics module's numbers, with n, for every condition.
    corr = correlate([r["codebleu"] for r in base_rows], [r["vs"] for r in base_rows])
    rows = [r for r in t["Code vs visual metrics (per task, Pearson and Spearman)"][1:]]
    base_vs = next(r for r in rows if r[0] == "base" and r[2] == "VS")
    assert base_vs[1] == "CodeBLEU" and base_vs[3] == str(corr.n) == "3"
    assert base_vs[4] == f"{corr.pearson:+.3f}" and base_vs[6] == f"{corr.spearman:+.3f}"
    ref_vs = next(r for r in rows if r[0] == "reference" and r[2] == "VS")
    assert "constant" in ref_vs[-1]  # all 1.0: undefined, and said why

    # The failing task: its error instead of frames; RITL attempts listed.
    assert "not_a_colour" in html and "the render failed: no frames" in html
    assert "attempt 1: preflight / name" in html and "attempt 2: rendered" in html
    overview = {r[0]: r for r in t["Tasks"][1:]}
    assert overview["b"][3] == "✗ name" and overview["a"][2].startswith("✓ VS 100%")
    assert "Draw the b scene." in html  # the prompt, from the local dataset file

    # Embedded images only: plots and frame strips, nothing fetched from elsewhere.
    images = [base64.b64decode(m) for m in PNG_URI.findall(html)]
    assert len(images) >= 3 + 3 + 6  # 3 plots, 3 reference strips, one per rendered answer
    assert all(im.startswith(b"\x89PNG") for im in images)
    widths = {Image.open(io.BytesIO(im)).size[0] for im in images}
    assert 240 in widths  # the still image (task c): one 240 px frame
    # Nothing loaded from elsewhere; the only outward links are the renders' video files.
    assert not re.search(r'src="(?!data:)', html)
    assert not re.search(r'href="(?!#|file:///.+\.(?:mp4|png)")', html)
    assert "<script" not in html and "stylesheet" not in html

    md = md_path.read_text(encoding="utf-8")
    assert "| base | generations:gens.jsonl | 3 | 66.7% |" in md
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == len(images)
    assert all((md_path.parent / link).read_bytes().startswith(b"\x89PNG") for link in links)
    assert "plot-rounds.png" in md and "not_a_colour" in md


def test_report_library_plots_and_missing_files(runs, tmp_path: Path) -> None:
    db = tmp_path / "copy.sqlite"
    shutil.copy(runs["db"], db)
    base = runs["ids"]["base"]
    with sqlite3.connect(db) as conn:
        (raw,) = conn.execute(
            "SELECT render_result FROM results WHERE run_id = ? AND task_id = 'a'", (base,)
        ).fetchone()
        gone = json.loads(raw)
        gone["outputs"] = [str(tmp_path / "cleaned" / "BenchCircle.mp4")]
        conn.execute(
            "UPDATE results SET render_result = ? WHERE run_id = ? AND task_id = 'a'",
            (json.dumps(gone), base),
        )
    with Store(db) as store:
        report = build_report(store, list(runs["ids"].values()), frames=2)
    assert set(report.plots) == {"metrics", "correlation", "rounds"}  # sft is a RITL run
    a = report.tasks[0]
    entry = next(e for e in a.entries if e.condition == "base")
    assert entry.strip.png is None and "output file missing" in entry.strip.note
    assert any("no longer exist" in n for n in report.notes)
    assert a.reference.png is not None and len(a.reference.times) == 2
    sft_c = next(e for e in report.tasks[2].entries if e.condition == "sft / ritl")
    assert sft_c.row["rounds"] == 2 and not sft_c.row["ok"] and "name" in sft_c.error
    assert [c.is_ritl for c in report.conditions] == [False, False, True]


def test_report_bad_inputs(runs, tmp_path: Path) -> None:
    db, ids = runs["db"], runs["ids"]
    out = str(tmp_path / "out")
    with pytest.raises(UserError, match="no run 'nope'"):
        invoke("report", "nope", "--db", str(db), "-o", out)
    with pytest.raises(UserError, match="no benchmark database"):
        invoke("report", ids["base"], "--db", str(tmp_path / "missing.sqlite"), "-o", out)
    with pytest.raises(UserError, match="--frames must be between 0 and 12"):
        invoke("report", ids["base"], "--db", str(db), "-o", out, "--frames", "40")
    empty = tmp_path / "empty.sqlite"
    shutil.copy(db, empty)
    with sqlite3.connect(empty) as conn:
        conn.execute("DELETE FROM results WHERE run_id = ?", (ids["sft"],))
    with pytest.raises(UserError, match=f"run {ids['sft']} .* has no results yet"):
        invoke("report", ids["base"], ids["sft"][:6], "--db", str(empty), "-o", out)
    assert not Path(out).exists()  # nothing half-written


def test_report_without_frames_and_human_output(runs, tmp_path: Path) -> None:
    out = tmp_path / "numbers"
    result = invoke("report", runs["ids"]["base"], "--db", str(runs["db"]), "-o", str(out),
                    "--frames", "0")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "66.7%" in result.stdout and "report.html" in result.stdout
    html = (out / "report.html").read_text(encoding="utf-8")
    assert len(PNG_URI.findall(html)) == 2  # the metrics and correlation plots only
    assert "frames not shown (--frames 0)" in html
