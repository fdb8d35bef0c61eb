"""The critic on its corpus: each defective scene gets exactly its kind, clean scenes get nothing.

Each scene in tests/critic/scenes says what it expects on its first line (`# expect: KIND` or
`# expect: clean`). Clean scenes include the intentional compositions the critic must not flag:
a label inside a box, a formula on a filled shape, transforms in place, cross-fades, objects
entering and leaving, text sliding past text, grids, strike-outs, a zooming camera.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from manimatic.critic import KINDS, critique_render

SCENES = Path(__file__).parent / "scenes"


def _expected(path: Path) -> str:
    match = re.match(r"# expect: (\w+)", path.read_text())
    assert match, f"{path.name} does not say what it expects"
    return match.group(1)


CORPUS = sorted(SCENES.glob("*.py"))


def test_corpus_covers_every_kind_twice_and_has_clean_scenes():
    expected = [_expected(p) for p in CORPUS]
    for kind in KINDS:
        assert expected.count(kind) >= 2, kind
    assert expected.count("clean") >= 8


@pytest.fixture(scope="module")
def reports(render_pool):
    futures = {
        p.name: render_pool.submit(p.read_text(), trace=True, file=p.name, timeout=120)
        for p in CORPUS
    }
    return {name: critique_render(f.result()) for name, f in futures.items()}


@pytest.mark.slow
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_scene_gets_exactly_its_kind(reports, path):
    report = reports[path.name]
    assert report.rendered, report.error
    kinds = sorted({f.kind for f in report.findings})
    expected = _expected(path)
    if expected == "clean":
        assert report.findings == [], [f.message for f in report.findings]
        assert report.ok
    else:
        assert kinds == [expected], [f.message for f in report.findings]
        assert not report.ok
        for finding in report.findings:
            assert finding.message and finding.suggestion
            assert finding.time >= 0


@pytest.mark.slow
def test_findings_name_the_objects_and_when(reports):
    overlap = reports["overlap_two_texts.py"].findings
    assert overlap[0].objects == ["Text('Pythagoras')", "MathTex('a^2 + b^2 = c^2')"]
    assert overlap[0].time >= 1.0  # the formula is written over the title after the first second
    crossed = reports["overlap_label_on_axis.py"].findings
    assert crossed[0].objects == ["Text('origin here')", "Axes"]
    gap = reports["empty_frame_long_wait.py"].findings
    assert len(gap) == 1 and 1.6 <= gap[0].time <= 3.0  # the square fades out from 1.0 s
    tiny = reports["tiny_text_font.py"].findings
    assert "font_size=" in tiny[0].suggestion
