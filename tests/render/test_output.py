"""`-o` as a file or a folder, `--format` and `-s`, and `-p` without a display."""

from __future__ import annotations

from pathlib import Path

import pytest

from manimatic.render.output import OutputError, output_target, place_output
from manimatic.render.preview import preview, viewer_command


@pytest.mark.parametrize("name", ["out.mp4", "out.MOV", "a/b/out.gif", "out.webm", "out.png"])
def test_a_known_extension_is_the_output_file(name):
    t = output_target(name)
    assert t.file == Path(name) and t.folder == Path(name).parent
    assert t.format == Path(name).suffix.lower().lstrip(".")
    assert t.code_file == Path(name).with_suffix(".py")


@pytest.mark.parametrize("name", ["out", "renders/", "out.mp4.d", "v1.2"])
def test_anything_else_is_a_folder(name):
    t = output_target(name, "gif")
    assert t.file is None and t.folder == Path(name) and t.format == "gif"


def test_defaults_and_last_frame():
    assert output_target(None) == output_target(None, "mp4")
    assert output_target(None).folder is None
    assert output_target(None, last_frame=True).format == "png"
    assert output_target("f.png", last_frame=True).file == Path("f.png")


@pytest.mark.parametrize(
    ("path", "fmt", "last", "needle"),
    [
        ("x.gif", "mp4", False, "x.mp4"),
        ("x.mp4", None, True, "x.png"),
        (None, "avi", False, "mp4, gif, webm, mov, png"),
        (None, "gif", True, "PNG"),
    ],
)
def test_disagreements_are_one_clear_error(path, fmt, last, needle):
    with pytest.raises(OutputError, match=needle.replace(".", r"\.")):
        output_target(path, fmt, last_frame=last)


def test_place_output_copies_into_new_folders(tmp_path):
    src = tmp_path / "Intro.gif"
    src.write_bytes(b"GIF89a")
    dst = place_output(src, output_target(tmp_path / "deep" / "er" / "x.gif"))
    assert dst.read_bytes() == b"GIF89a" and dst.is_absolute()


def test_no_display_means_no_viewer(monkeypatch, tmp_path):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert viewer_command(tmp_path / "a.mp4", "linux") is None
    done = preview(tmp_path / "a.mp4")
    assert not done.opened and "no display" in done.message and "a.mp4" in done.message
    assert viewer_command(tmp_path / "a.mp4", "darwin") == ["open", str(tmp_path / "a.mp4")]


def test_display_uses_xdg_open(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr("subprocess.Popen", lambda argv, **kw: calls.append(argv))
    done = preview(tmp_path / "a.mp4")
    assert done.opened and calls == [["/usr/bin/xdg-open", str(tmp_path / "a.mp4")]]


def test_a_still_scene_keeps_its_png_suffix(tmp_path):
    """`-o x.mp4` for a scene with no animation: manim wrote a PNG, so x.png is written."""
    src = tmp_path / "Still.png"
    src.write_bytes(b"\x89PNG")
    dst = place_output(src, output_target(tmp_path / "x.mp4"))
    assert dst == (tmp_path / "x.png").resolve() and not (tmp_path / "x.mp4").exists()
