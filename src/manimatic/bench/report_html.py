"""The report as one self-contained HTML file: inline CSS, images as base64 PNG, no script.

No external asset, font or CDN: the file opens offline, can be attached to a review, and shows
the same thing in ten years. Every string from the records (prompts, code, error messages) is
escaped.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING

from manimatic.bench.report_media import e, transcript_html, video_links_html

if TYPE_CHECKING:
    from manimatic.bench.report_model import Report, TaskEntry, TaskView
    from manimatic.bench.report_plots import FrameStrip
    from manimatic.bench.report_tables import TableModel

CSS = """
:root { --fg: #1d2329; --muted: #5f6b76; --line: #d9dee3; --bg2: #f5f7f9; --ok: #1f7a3f;
        --bad: #b42318; --accent: #2f5d9b; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--fg); background: #fff; }
header { background: #1f2a36; color: #fff; padding: 16px 28px 10px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header .meta { color: #c9d3dd; margin: 0 0 8px; font-size: 13px; }
nav a { color: #dfe8f2; margin-right: 16px; text-decoration: none; font-size: 13px; }
nav a:hover { text-decoration: underline; }
main { max-width: 1260px; padding: 8px 28px 40px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line);
     padding-bottom: 4px; }
.notes { background: #fff8e6; border: 1px solid #f0d9a0; border-radius: 6px;
         padding: 8px 16px; margin-top: 18px; }
.notes h2 { border: 0; margin: 4px 0; font-size: 15px; }
.notes ul { margin: 4px 0 6px; padding-left: 20px; }
table { border-collapse: collapse; margin: 6px 0; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; vertical-align: top; }
td.wrap { overflow-wrap: anywhere; min-width: 12em; }
th { background: var(--bg2); text-align: left; font-weight: 600; }
th.group { text-align: center; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
.foot { color: var(--muted); font-size: 12px; margin: 2px 0; }
.scroll { overflow-x: auto; }
figure { margin: 12px 0 20px; }
figure img { max-width: 100%; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 12px; }
td.ok { color: var(--ok); } td.bad { color: var(--bad); } td.low { color: #9a6700; }
td.cell-link a { color: inherit; text-decoration: none; }
.task { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px 12px;
        margin: 18px 0; }
.task h3 { margin: 2px 0 6px; font-size: 16px; }
.tag { display: inline-block; background: #e8eef6; color: var(--accent); border-radius: 10px;
       padding: 0 8px; font-size: 12px; font-weight: 500; margin-left: 6px; }
.prompt { white-space: pre-wrap; background: var(--bg2); border-left: 3px solid var(--accent);
          padding: 6px 10px; margin: 4px 0 10px; max-height: 9.5em; overflow-y: auto;
          font-size: 13px; }
.missing { color: var(--muted); font-style: italic; }
.row { display: grid; grid-template-columns: 190px 1fr; gap: 12px; padding: 8px 0;
       border-top: 1px dashed var(--line); }
.row .who { font-weight: 600; overflow-wrap: anywhere; }
.row .who .m { display: block; font-weight: 400; color: var(--muted); font-size: 12px; }
.status-ok { color: var(--ok); } .status-bad { color: var(--bad); }
.strip img { display: block; max-width: 100%; border-radius: 3px; }
.times { color: var(--muted); font-size: 11px; margin-top: 2px; }
.error { background: #fdecea; border: 1px solid #f5c2bd; color: #7a1b12; border-radius: 4px;
         padding: 6px 10px; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace;
         white-space: pre-wrap; overflow-wrap: anywhere; }
.attempts { margin: 4px 0 0; padding-left: 18px; font-size: 12px; color: var(--muted); }
details.code { margin-top: 6px; }
details.code summary { cursor: pointer; color: var(--accent); font-size: 12px; }
pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 4px; padding: 8px 10px;
      overflow-x: auto; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace;
      margin: 4px 0; }
"""

SECTIONS = (("summary", "Results"), ("intervals", "Intervals"), ("paired", "Paired tests"),
            ("per-type", "Per Type"), ("plots", "Plots"),
            ("correlation", "Correlation"), ("failures", "Failures"), ("layout", "Layout"),
            ("runs", "Runs"),
            ("tasks", "Tasks"))  # fmt: skip
LOW_FIDELITY = 0.5  # flags a render that likely shows another scene (see bench/RESULTS.md)
PLOT_CAPTIONS = {
    "metrics": "Mean metrics per condition (the table's numbers).",
    "correlation": "Each point is a scored task; x marks a failed render (VS = fidelity = 0).",
    "rounds": "Tasks that rendered, by the attempt that first rendered; and those that never did.",
}


def render_html(report: Report) -> str:
    """The whole report as one HTML document."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>manimatic report: {e(', '.join(c.name for c in report.conditions))}</title>",
        f"<style>{CSS}</style></head><body>",
        "<header><h1>manimatic benchmark report</h1>",
        f'<p class="meta">{len(report.conditions)} run(s), {len(report.tasks)} task(s) from '
        f"<code>{e(report.db)}</code>, made {e(report.created)}</p>",
        "<nav>" + "".join(f'<a href="#{k}">{v}</a>' for k, v in SECTIONS) + "</nav></header>",
        "<main>",
    ]
    if report.notes:
        parts.append('<section class="notes"><h2>Read the numbers with these notes</h2><ul>')
        parts += [f"<li>{e(n)}</li>" for n in report.notes]
        parts.append("</ul></section>")
    for anchor, key in (("summary", "summary"), ("intervals", "intervals"),
                        ("paired", "paired"), ("per-type", "per_type")):  # fmt: skip
        parts.append(_section(anchor, report.tables[key]))
    parts.append('<section id="plots"><h2>Plots</h2>')
    for key, png in report.plots.items():
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure><img src="{uri}" alt="{e(key)} plot">'
            f"<figcaption>{e(PLOT_CAPTIONS.get(key, ''))}</figcaption></figure>"
        )
    if "rounds" not in report.plots:
        parts.append('<p class="foot">No RITL / RITL-DOC run among these: no rounds plot.</p>')
    parts.append("</section>")
    for anchor, key in (("correlation", "correlation"), ("failures", "failures"),
                        ("layout", "layout"), ("runs", "runs")):  # fmt: skip
        parts.append(_section(anchor, report.tables[key]))
    parts.append(_tasks(report))
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _section(anchor: str, table: TableModel) -> str:
    return f'<section id="{anchor}"><h2>{e(table.title)}</h2>{table_html(table)}</section>'


def table_html(table: TableModel) -> str:
    """A `TableModel` as an HTML table with its footnotes."""
    out = ['<div class="scroll"><table><thead>']
    if table.groups:
        out.append(
            "<tr>"
            + "".join(
                f'<th class="group" colspan="{span}">{e(label)}</th>'
                for label, span in table.groups
            )
            + "</tr>"
        )
    out.append("<tr>" + "".join(f"<th>{e(c)}</th>" for c in table.columns) + "</tr></thead><tbody>")
    for row in table.rows:
        cells = []
        for c in row:
            classes = " ".join(k for k, on in (("num", c.numeric), ("wrap", c.wrap)) if on)
            attrs = f' class="{classes}"' if classes else ""
            if c.title:
                attrs += f' title="{e(c.title)}"'
            text = f"<b>{e(c.text)}</b>" if c.bold else e(c.text)
            cells.append(f"<td{attrs}>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    if not table.rows:
        out.append(f'<tr><td colspan="{len(table.columns)}" class="missing">none</td></tr>')
    out.append("</tbody></table></div>")
    out += [f'<p class="foot">{e(n)}</p>' for n in table.footnotes]
    return "".join(out)


def task_anchor(index: int, task_id: str) -> str:
    """A unique, URL-safe anchor for a task."""
    return f"task-{index}-" + re.sub(r"[^A-Za-z0-9_-]+", "_", task_id)[:40]


def _tasks(report: Report) -> str:
    names = [c.name for c in report.conditions]
    out = ['<section id="tasks"><h2>Tasks</h2>']
    out.append(
        f'<p class="foot">{len(report.tasks)} task(s); {report.frames} evenly spaced frame(s) '
        "per render, first and last included, from the 5 fps samples VS compares. Click a task "
        f"to jump to its frames. Amber: rendered, but fidelity below {LOW_FIDELITY:.0%} (it "
        "likely shows something else than the reference).</p>"
    )
    head = "".join(f"<th>{e(n)}</th>" for n in names)
    out.append(f'<div class="scroll"><table><thead><tr><th>task</th><th>Type</th>{head}</tr>')
    out.append("</thead><tbody>")
    for i, t in enumerate(report.tasks):
        by_cond = {en.condition: en for en in t.entries}
        cells = []
        for n in names:
            en = by_cond.get(n)
            if en is None:
                cells.append('<td class="missing">-</td>')
            elif en.row.get("ok"):
                vs, fid = (_pct0(en.row.get(k)) for k in ("vs", "fidelity"))
                low = (en.row.get("fidelity") or 0.0) < LOW_FIDELITY
                cells.append(f'<td class="{"low" if low else "ok"}">✓ VS {vs} · fid {fid}</td>')
            else:
                cat = en.row.get("error_category") or "failed"
                cells.append(f'<td class="bad">✗ {e(cat)}</td>')
        link = f'<a href="#{task_anchor(i, t.task_id)}">{e(t.task_id)}</a>'
        out.append(f"<tr><td>{link}</td><td>{e(t.type or '-')}</td>{''.join(cells)}</tr>")
    out.append("</tbody></table></div>")
    out += [_task(i, t) for i, t in enumerate(report.tasks)]
    out.append("</section>")
    return "\n".join(out)


def _pct0(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _task(index: int, task: TaskView) -> str:
    tag = f'<span class="tag">{e(task.type)}</span>' if task.type else ""
    out = [f'<article class="task" id="{task_anchor(index, task.task_id)}">']
    out.append(f"<h3>{e(task.task_id)}{tag}</h3>")
    if task.prompt:
        out.append(f'<div class="prompt">{e(task.prompt.strip())}</div>')
    else:
        out.append(
            '<p class="missing">prompt not stored (no transcript, and the dataset is not a '
            "local file this report could read)</p>"
        )
    ref_extra = (
        f'<div class="error">{e(task.reference_error)}</div>' if task.reference_error else ""
    )
    ref_extra += video_links_html(task.reference_result)
    out.append(_row("reference render", "what the task asks for", task.reference, ref_extra))
    for entry in task.entries:
        out.append(_entry(entry))
    out.append("</article>")
    return "\n".join(out)


def _entry(entry: TaskEntry) -> str:
    r = entry.row
    status = (
        '<span class="status-ok">rendered</span>'
        if r.get("ok")
        else '<span class="status-bad">failed</span>'
    )
    metrics = "".join(f"<br>{label} {e(text)}" for label, text in entry.metrics)
    extra = []
    if entry.error:
        extra.append(f'<div class="error">{e(entry.error)}</div>')
    if entry.attempts:
        extra.append(
            '<ul class="attempts">' + "".join(f"<li>{e(a)}</li>" for a in entry.attempts) + "</ul>"
        )
    extra.append(video_links_html(r.get("render_result")))
    extra.append(transcript_html(entry.rounds))
    code = r.get("code")
    if code:
        lines = code.count("\n") + (0 if code.endswith("\n") else 1)
        extra.append(
            f'<details class="code"><summary>generated code ({lines} lines)</summary>'
            f"<pre><code>{e(code)}</code></pre></details>"
        )
    return _row(entry.condition, status + metrics, entry.strip, "".join(extra))


def _row(who: str, meta: str, strip: FrameStrip, extra: str) -> str:
    uri = strip.data_uri()
    if uri is not None:
        note = f" · {e(strip.note)}" if strip.note else ""
        frames = (
            f'<div class="strip"><img src="{uri}" alt="frames of {e(who)}">'
            f'<div class="times">{e(strip.caption())}{note}</div></div>'
        )
    else:
        frames = f'<div class="missing">{e(strip.note or "no frames")}</div>'
    meta_html = f'<span class="m">{meta}</span>' if meta else ""
    who_html = f'<div class="who">{e(who)}{meta_html}</div>'
    return f'<div class="row">{who_html}<div>{frames}{extra}</div></div>'
