"""`manimatic similarity` through typer's CliRunner on generated PNG / MP4 / .py files."""

from __future__ import annotations

import json

import pytest
from metrics_helpers import other_frame, scene_frame, write_png, write_video
from typer.testing import CliRunner

from manimatic.cli import app
from manimatic.commands._common import UserError

KEYS = {"vs", "ssim_term", "semantic_term", "fidelity", "frames_a", "frames_b", "elapsed_s"}


@pytest.fixture(autouse=True)
def _no_clip(monkeypatch, tmp_path):
    from manimatic.metrics import embedders

    monkeypatch.setattr(embedders, "_default_cache", {})
    monkeypatch.setenv(embedders.CLIP_PATH_ENV, str(tmp_path / "no-clip-here"))


def run(*args: str):
    return CliRunner().invoke(app, ["similarity", *args])


def test_mp4_pair_json(tmp_path):
    a = write_video(tmp_path / "a.mp4", [scene_frame(progress=k / 9) for k in range(10)])
    b = write_video(tmp_path / "b.mp4", [scene_frame(progress=k / 6) for k in range(7)])
    res = run(str(a), str(b), "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert set(data) >= KEYS
    assert (data["frames_a"], data["frames_b"]) == (4, 3)
    assert data["semantic_term"] is None and data["vs"] == data["ssim_term"]
    assert "no image embedder" in data["note"]
    assert 0 < data["fidelity"] <= 1 and 0 < data["vs"] <= 1


def test_png_pair_human_output(tmp_path):
    a = write_png(tmp_path / "a.png", scene_frame())
    b = write_png(tmp_path / "b.png", other_frame())
    res = run(str(a), str(b))
    assert res.exit_code == 0, res.output
    assert "VS" in res.output and "fidelity" in res.output
    assert "VS = SSIM term" in res.output and "no image embedder" in res.output


def test_fps_option(tmp_path):
    a = write_video(tmp_path / "a.mp4", [scene_frame(progress=k / 9) for k in range(10)])
    data = json.loads(run(str(a), str(a), "--json", "--fps", "15").output)
    assert data["frames_a"] == 10 and data["vs"] == 1.0 and data["fidelity"] == pytest.approx(1)


def test_missing_file_is_a_user_error(tmp_path):
    a = write_png(tmp_path / "a.png", scene_frame())
    res = run(str(a), str(tmp_path / "missing.mp4"))
    assert isinstance(res.exception, UserError)
    assert "missing.mp4" in str(res.exception) and "no such file" in str(res.exception)


def test_failed_render_names_file_and_error(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from manim import *\n\nclass Bad(Scene):\n    def construct(self):\n"
        "        self.play(ShowCreation(Circle()))\n"
    )
    a = write_png(tmp_path / "a.png", scene_frame())
    res = run(str(bad), str(a))
    assert isinstance(res.exception, UserError)
    msg = str(res.exception)
    assert "bad.py" in msg and "render failed" in msg and "ShowCreation" in msg


@pytest.mark.slow
def test_py_inputs_are_rendered(tmp_path):
    scene = tmp_path / "scene.py"
    scene.write_text(
        "from manim import *\n\nclass S(Scene):\n    def construct(self):\n"
        "        self.add(Circle(color=RED), Square().shift(2 * RIGHT))\n"
    )
    other = write_png(tmp_path / "other.png", other_frame())
    res = run(str(scene), str(scene), "--json")
    assert res.exit_code == 0, res.output
    same = json.loads(res.output)
    assert same["frames_a"] == 1 and same["fidelity"] == pytest.approx(1.0)
    diff = json.loads(run(str(scene), str(other), "--json").output)
    assert diff["vs"] == 1.0  # two stills: the study's VS cannot tell them apart
    assert diff["fidelity"] < 0.5
