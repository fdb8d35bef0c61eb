"""The report's images: plots (matplotlib, Agg) and frame strips, each as PNG bytes.

* `metrics`: RSR, VS, CBB, fidelity, CodeBLEU per condition (grouped bars).
* `correlation`: per condition, the code metric against VS and fidelity for every scored task,
  with Pearson and Spearman and n in the title (from `Condition.correlations`).
* `rounds`: under RITL / RITL-DOC, how many render attempts the tasks that rendered needed, and
  how many never rendered.

`frame_strip` puts N evenly spaced frames of a render side by side (PIL), for the per-task view.

Figures are made with `matplotlib.figure.Figure` and its Agg canvas, not `pyplot`: no global
backend switch and no figure registry, so the report works in any process (a notebook, a GUI,
threads) without side effects.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manimatic.bench.report_tables import METRIC_LABELS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from manimatic.bench.report_tables import Condition
    from manimatic.metrics.correlation import Correlation

COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")
BAR_METRICS = ("rsr", "vs", "cbb", "fidelity", "codebleu")
DPI = 100


def all_plots(conditions: list[Condition]) -> dict[str, bytes]:
    """Every plot that has data, by name (`metrics`, `correlation`, `rounds`)."""
    plots = {"metrics": metrics_plot(conditions), "correlation": correlation_plot(conditions)}
    rounds = rounds_plot([c for c in conditions if c.is_ritl])
    if rounds is not None:
        plots["rounds"] = rounds
    return plots


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _style(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)


def _value(c: Condition, key: str) -> float | None:
    o = c.overall
    return o["rsr"] if key == "rsr" else o["means"].get(key)


def metrics_plot(conditions: list[Condition]) -> bytes:
    """Grouped bars: one group per condition, one bar per metric (metrics nobody has left out)."""
    keys = [k for k in BAR_METRICS if any(_value(c, k) is not None for c in conditions)]
    fig = _figure(max(6.5, 1.0 + 0.22 * len(keys) * len(conditions) + 0.4 * len(conditions)), 3.8)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(keys))
    ssim_only = [c.vs_basis == "ssim" for c in conditions if c.vs_basis != "none"]
    for i, key in enumerate(keys):
        xs = [j + (i - (len(keys) - 1) / 2) * width for j in range(len(conditions))]
        ys = [_value(c, key) for c in conditions]
        label = METRIC_LABELS[key]
        if key == "vs" and ssim_only and all(ssim_only):
            label += " (SSIM term only)"
        bars = ax.bar(xs, [100 * (y or 0) for y in ys], width, label=label, color=COLORS[i])
        if len(keys) * len(conditions) <= 40:
            ax.bar_label(
                bars,
                labels=["n/a" if y is None else f"{100 * y:.0f}" for y in ys],
                fontsize=7,
                padding=1,
            )
    ax.set_xticks(range(len(conditions)), [c.name for c in conditions])
    if len(conditions) > 4:
        ax.tick_params(axis="x", labelrotation=25)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    ax.set_ylim(0, 112)
    ax.set_ylabel("%")
    ax.set_title("Metrics per condition (mean over tasks, %)", fontsize=11)
    ax.legend(ncols=len(keys), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12)
              if len(conditions) <= 4 else (0.5, -0.3), frameon=False)  # fmt: skip
    _style(ax)
    return _png(fig)


def _corr_line(label: str, c: Correlation) -> str:
    if c.pearson is None and c.spearman is None:
        why = (c.reason or "undefined").split(":")[0]  # the short half of the reason
        return f"{label}: n={c.n}, undefined ({why})"
    r = "-" if c.pearson is None else f"{c.pearson:+.2f}"
    rho = "-" if c.spearman is None else f"{c.spearman:+.2f}"
    return f"{label}: Pearson r={r}  Spearman ρ={rho}  n={c.n}"


def correlation_plot(conditions: list[Condition]) -> bytes:
    """One panel per condition: code metric (x) against VS and fidelity (y), every scored task."""
    cols = min(3, len(conditions))
    nrows = math.ceil(len(conditions) / cols)
    fig = _figure(4.6 * cols, 3.8 * nrows)
    axes = fig.subplots(nrows, cols, squeeze=False)
    for ax in axes.flat[len(conditions) :]:
        ax.set_visible(False)
    for ax, c in zip(axes.flat, conditions, strict=False):
        scored = [r for r in c.rows if not r.get("infra_error")]
        code_label = METRIC_LABELS[c.code_metric]
        for key, marker, color, face in (
            ("vs", "o", COLORS[0], COLORS[0]),
            ("fidelity", "s", COLORS[1], "none"),
        ):
            pts = [
                (r[c.code_metric], r[key], bool(r.get("ok")))
                for r in scored
                if r.get(c.code_metric) is not None and r.get(key) is not None
            ]
            ok = [(x, y) for x, y, good in pts if good]
            label = METRIC_LABELS[key] + (" (SSIM only)" if key == "vs" and c.vs_basis == "ssim"
                                          else "")  # fmt: skip
            ax.scatter([p[0] for p in ok], [p[1] for p in ok], s=22, marker=marker, alpha=0.7,
                       facecolors=face, edgecolors=color, label=label)  # fmt: skip
        failed = [r[c.code_metric] for r in scored if not r.get("ok") and r.get(c.code_metric)
                  is not None and r.get("vs") is not None]  # fmt: skip
        if failed:
            ax.scatter(failed, [0.0] * len(failed), s=30, marker="x", color=COLORS[3],
                       label="failed render (0)")  # fmt: skip
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.05, 1.08)
        ax.set_xlabel(code_label + ("" if c.cbb_available else " (no CodeBERT: CBB null)"),
                      fontsize=8)  # fmt: skip
        ax.set_ylabel("visual metric", fontsize=8)
        title = "\n".join(
            [c.name] + [_corr_line(METRIC_LABELS[k], v) for k, v in c.correlations.items()]
        )
        ax.set_title(title, fontsize=8, loc="left")
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="lower right")
        _style(ax)
    fig.suptitle("Code vs visual metrics per task", fontsize=11)
    return _png(fig)


def rounds_counts(c: Condition) -> tuple[dict[int, int], int]:
    """(tasks that rendered, by render attempts needed; tasks that never rendered)."""
    ok: dict[int, int] = {}
    failed = 0
    for r in c.rows:
        if r.get("infra_error"):
            continue
        if r.get("ok"):
            k = int(r.get("rounds") or 1)
            ok[k] = ok.get(k, 0) + 1
        else:
            failed += 1
    return ok, failed


def rounds_plot(conditions: list[Condition]) -> bytes | None:
    """Grouped bars of render attempts needed (1 = first try) plus failures; None without RITL."""
    if not conditions:
        return None
    counts = [rounds_counts(c) for c in conditions]
    most = max([k for ok, _ in counts for k in ok] + [_max_attempts(c) for c in conditions])
    cats = [str(k) for k in range(1, most + 1)] + ["never rendered"]
    fig = _figure(max(6.0, 1.2 + 0.5 * len(cats) * max(1, len(conditions)) ** 0.5), 3.6)
    ax = fig.add_subplot()
    width = min(0.8, 0.3 * len(conditions)) / len(conditions)  # one condition: no slab
    top = 0
    for i, (c, (ok, failed)) in enumerate(zip(conditions, counts, strict=True)):
        ys = [ok.get(k, 0) for k in range(1, most + 1)] + [failed]
        xs = [j + (i - (len(conditions) - 1) / 2) * width for j in range(len(cats))]
        top = max(top, *ys)
        bars = ax.bar(xs, ys, width, label=c.name, color=COLORS[i % len(COLORS)])
        ax.bar_label(bars, labels=[str(y) if y else "" for y in ys], fontsize=7, padding=1)
    ax.set_xticks(range(len(cats)), cats)
    ax.set_ylim(0, max(1, top) * 1.25)  # room for the labels and the legend
    ax.set_xlabel("render attempts needed (1 = first try, then one per feedback round)")
    ax.set_ylabel("tasks")
    ax.yaxis.get_major_locator().set_params(integer=True)  # counts: no 0.5 task
    ax.set_title("Rounds needed under RITL / RITL-DOC", fontsize=11)
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    _style(ax)
    return _png(fig)


def _max_attempts(c: Condition) -> int:
    """Attempts the strategy allows: 1 + feedback rounds (the study's default K is 3)."""
    args: dict[str, Any] = c.run.strategy_args or {}
    rounds = args.get("rounds")
    return 1 + (int(rounds) if isinstance(rounds, int) else 3)


# --- frame strips ---------------------------------------------------------------------------------


@dataclass
class FrameStrip:
    """Thumbnails of one render, side by side, for the per-task view.

    Attributes:
        png: The frames as one PNG strip (None when there are none to show).
        times: Time in seconds of each frame shown.
        sampled: Frames sampled at 5 fps (the ones VS compares); 1 for a still image.
        still: The render is a still image (a scene with no animation).
        missing: The render's file no longer exists.
        note: Why there are no frames (failed render, missing file...).
    """

    png: bytes | None = None
    times: list[float] = field(default_factory=list)
    sampled: int = 0
    still: bool = False
    missing: bool = False
    note: str | None = None

    def caption(self) -> str:
        """When the frames shown were taken ("still image" for a PNG render)."""
        if self.still:
            return "still image (the scene has no animation)"
        times = ", ".join(f"{t:.1f}" for t in self.times)
        return f"t = {times} s (of {self.sampled} frames sampled at 5 fps)"

    def data_uri(self) -> str | None:
        """The strip as a `data:` URI for the self-contained HTML."""
        if self.png is None:
            return None
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def frame_strip(path: str, count: int, width: int) -> FrameStrip:
    """`count` evenly spaced frames (first and last included) of one render, as a PNG strip."""
    # The scoring rate: the frames shown are among those VS compares.
    from manimatic.scoring import FRAME_FPS, load_frames

    if not Path(path).is_file():
        return FrameStrip(missing=True, note=f"output file missing: {path}")
    try:
        loaded = load_frames(path, fps=FRAME_FPS)
    except ValueError as exc:
        return FrameStrip(note=f"frames unreadable: {exc}")
    n = len(loaded)
    picks = sorted({round(i * (n - 1) / (count - 1)) for i in range(count)}) if count > 1 else [0]
    picks = [i for i in picks if i < n]
    images = [loaded.images[i] for i in picks]
    return FrameStrip(
        png=strip_png(images, width),
        times=[loaded.times[i] for i in picks],
        sampled=n,
        still=loaded.source_fps is None,
    )


def strip_png(images: list[Any], width: int, gap: int = 4) -> bytes:
    """Thumbnails side by side on a grey ground, so that black frames stay distinguishable."""
    from PIL import Image

    thumbs = []
    for array in images:
        im = Image.fromarray(array)
        height = max(1, round(width * im.height / im.width))
        thumbs.append(im.resize((width, height), Image.Resampling.LANCZOS))
    height = max(t.height for t in thumbs)
    strip = Image.new("RGB", (len(thumbs) * (width + gap) - gap, height), (72, 72, 72))
    for i, t in enumerate(thumbs):
        strip.paste(t, (i * (width + gap), 0))
    buf = io.BytesIO()
    strip.save(buf, "PNG", optimize=True)
    return buf.getvalue()
