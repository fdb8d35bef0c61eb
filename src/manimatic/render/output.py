"""Where a render's outputs go: manim's `-o` habit (a file name, or a folder) and `--format`.

`-o out.gif` means "write the video to out.gif" (and, for `generate`, the code to out.py);
`-o renders` means a folder. The extension of a file name also picks the format when
`--format` is not given, so `-o clip.webm` renders a webm.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from manimatic.render.pool import OUTPUT_FORMATS


class OutputError(ValueError):
    """The output path and the format (or the number of outputs) do not fit together."""


@dataclass(frozen=True)
class OutputTarget:
    """Where outputs go.

    Attributes:
        file: The output file when `-o` named one (its extension is a known format), else None.
        folder: The folder outputs are copied into (the file's parent when `file` is set), or
            None to leave them in the cache.
        format: The format to render: mp4, gif, webm, mov or png.
    """

    file: Path | None
    folder: Path | None
    format: str

    @property
    def code_file(self) -> Path | None:
        """Where the scene's code goes beside an output file: NAME.py next to NAME.mp4."""
        return self.file.with_suffix(".py") if self.file is not None else None


def output_target(
    path: Path | str | None, fmt: str | None = None, *, last_frame: bool = False
) -> OutputTarget:
    """Read `-o PATH`, `--format` and `-s` the way manim users mean them.

    Args:
        path: The `-o` value: a name ending in .mp4/.mov/.gif/.webm/.png is a file, anything
            else a folder; None keeps outputs in the cache.
        fmt: The `--format` value, or None to take it from the file name (default mp4).
        last_frame: `-s/--save_last_frame`: render only the last frame as a PNG.

    Returns:
        The target.

    Raises:
        OutputError: An unknown format, or a file name, format and `-s` that disagree.
    """
    if fmt is not None and fmt not in OUTPUT_FORMATS:
        raise OutputError(f"--format must be one of {', '.join(OUTPUT_FORMATS)} (got {fmt!r})")
    if last_frame:
        if fmt not in (None, "png"):
            raise OutputError(
                f"-s/--save_last_frame writes a PNG; it cannot go with --format {fmt}"
            )
        fmt = "png"
    file = None
    folder = Path(path).expanduser() if path is not None else None
    if folder is not None and folder.suffix.lower().lstrip(".") in OUTPUT_FORMATS:
        file, folder = folder, folder.parent
        by_name = file.suffix.lower().lstrip(".")
        if fmt is None:
            fmt = by_name
        elif fmt != by_name:
            raise OutputError(
                f"-o {file} names a .{by_name} file but the format is {fmt}; use -o "
                f"{file.with_suffix('.' + fmt)} or drop --format/-s"
            )
    return OutputTarget(file, folder, fmt or "mp4")


def place_output(src: str | Path, target: OutputTarget) -> Path:
    """Copy one rendered output to the target file (making its folder).

    A scene with no animation renders a still image, whatever the format asked: `-o x.mp4` then
    gets `x.png`, never PNG bytes under an .mp4 name.

    Args:
        src: The rendered file (in the cache or a folder).
        target: A target with `file` set.

    Returns:
        The written file, absolute.
    """
    assert target.file is not None
    target.file.parent.mkdir(parents=True, exist_ok=True)
    dst = target.file.resolve()
    made = Path(src).suffix.lower()
    if made and made != dst.suffix.lower():
        dst = dst.with_suffix(made)
    if Path(src).resolve() != dst:
        shutil.copyfile(src, dst)
    return dst
