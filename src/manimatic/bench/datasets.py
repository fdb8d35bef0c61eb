"""Benchmark tasks: ManimBench (local Parquet/CSV or the Hugging Face hub) and our own JSONL format.

    from manimatic.bench.datasets import load_dataset
    taskset = load_dataset("manimbench", split="test", types=["Basic"], limit=10)
    for task in taskset.tasks: task.id, task.prompt, task.reference_code, task.tags

Dataset specs:

* `manimbench`: the directory in `$MANIMBENCH_DIR` when set, else the hub id below.
* `SuienR/ManimBench-v1` (or `hf:OWNER/NAME`): loaded with `datasets.load_dataset` (needs the
  `train` extra and the network, or the local hub cache).
* a `.parquet` or `.csv` file with ManimBench's columns, or a directory holding the v2 files
  (`manim_sft_dataset_{test,train}_v2.parquet`, `manim_sft_dataset_v2.parquet`).
* a `.jsonl` file of our format, one task per line:
  `{"id": "circle-1", "prompt": "...", "reference_code": "...", "tags": {"type": "Basic"}}`.
  `tags` may also be a list of strings: `"key:value"` (or `key=value`) items become that tag,
  plain ones go to `tags["labels"]` (`["type:Basic", "geometry"]`); `--type` matches labels too.

Column mapping for ManimBench: prompt = `Reviewed Description`, reference = `Code`, tags
`{"type": Type, "split": Split}`. Task ids are positional and stable: `manimbench-{split}-{i:03d}`
where `i` is the row's index among the rows of its split, in file order (the combined file and
the per-split files give the same ids, and filters or limits never renumber). A table without a
`Split` column gives `manimbench-{i:03d}`. Each task also carries `tags["sha"]`, a hash of its
content, and `TaskSet.content_hash()` hashes the whole set, so a stored run can tell whether it
was made on the same data.

Splits: `train`, `test` or `all`. A JSONL task is in a split when its `tags["split"]` says so; a
task with no split tag belongs to every split. Malformed JSONL lines (bad JSON or UTF-8, missing
or mistyped fields, duplicate ids) become `DatasetProblem`s with file and line; the valid lines
still load.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HF_DATASET_ID = "SuienR/ManimBench-v1"
MANIMBENCH_ENV = "MANIMBENCH_DIR"
SPLITS = ("train", "test", "all")
PROMPT_COLUMN = "Reviewed Description"
CODE_COLUMN = "Code"
TYPE_COLUMN = "Type"
SPLIT_COLUMN = "Split"
V2_FILES = {
    "test": "manim_sft_dataset_test_v2.parquet",
    "train": "manim_sft_dataset_train_v2.parquet",
    "all": "manim_sft_dataset_v2.parquet",
}
JSONL_FIELDS = ("id", "prompt", "reference_code", "tags")


class DatasetError(ValueError):
    """The dataset cannot be loaded at all (missing file, unknown split, no access)."""


@dataclass
class Task:
    """One benchmark task.

    Attributes:
        id: Stable identifier, unique within its dataset.
        prompt: The description given to the model.
        reference_code: The reference Manim program.
        tags: Free-form labels, e.g. `{"type": "Basic", "split": "test", "sha": "..."}`.
    """

    id: str
    prompt: str
    reference_code: str
    tags: dict = field(default_factory=dict)

    def content_hash(self) -> str:
        """Hash of the prompt and reference code (what a result depends on)."""
        return _sha(json.dumps([self.prompt, self.reference_code]))

    def to_dict(self) -> dict[str, Any]:
        """The JSONL form of the task."""
        return {
            "id": self.id,
            "prompt": self.prompt,
            "reference_code": self.reference_code,
            "tags": dict(self.tags),
        }


@dataclass
class DatasetProblem:
    """A row that could not be used, and why.

    Attributes:
        file: The dataset file.
        line: 1-based line of a JSONL file; None for a table row (the message says which).
        message: What is wrong and how to fix it.
    """

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


@dataclass
class TaskSet:
    """Tasks loaded from one dataset spec.

    Attributes:
        tasks: The tasks, in dataset order, after split, type filter and limit.
        problems: Rows that were skipped, with file and line.
        source: Where the tasks came from (a resolved path or a hub id, plus the split).
    """

    tasks: list[Task]
    problems: list[DatasetProblem]
    source: str

    def __len__(self) -> int:
        return len(self.tasks)

    def content_hash(self) -> str:
        """One hash over every task's id, prompt, reference and tags (order matters)."""
        h = hashlib.sha256()
        for task in self.tasks:
            tags = {k: v for k, v in task.tags.items() if k != "sha"}
            h.update(_canonical([task.id, task.prompt, task.reference_code, tags]).encode())
            h.update(b"\n")
        return h.hexdigest()

    def by_id(self) -> dict[str, Task]:
        """Tasks keyed by id."""
        return {task.id: task for task in self.tasks}


def load_dataset(
    spec: str,
    *,
    split: str = "test",
    types: list[str] | None = None,
    limit: int | None = None,
) -> TaskSet:
    """Load benchmark tasks.

    Args:
        spec: `manimbench`, a hub id (`SuienR/ManimBench-v1`, `hf:OWNER/NAME`), a `.parquet` /
            `.csv` / `.jsonl` file, or a directory with the ManimBench v2 parquet files.
        split: `train`, `test` or `all`.
        types: Keep only tasks whose type is one of these (case-insensitive), e.g. `["Basic"]`.
        limit: Keep the first `limit` tasks (after the split and type filters).

    Returns:
        The tasks, the rows that were skipped, and the resolved source.

    Raises:
        DatasetError: The dataset cannot be found or read, or an argument is invalid (unknown
            split or type, limit < 1). Individual bad rows are not errors: see `problems`.
    """
    split = (split or "").strip().lower()
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DatasetError(f"limit must be a positive number of tasks; got {limit!r}.")
    taskset = _load_unfiltered(spec, split)
    if types:
        taskset = _filter_types(taskset, types)
    if limit is not None:
        taskset.tasks = taskset.tasks[:limit]
    return taskset


def resolve_spec(spec: str) -> str:
    """The canonical form of a dataset spec (absolute path for files), used to identify runs."""
    spec = (spec or "").strip()
    if spec.lower() == "manimbench":
        local = os.environ.get(MANIMBENCH_ENV)
        return str(Path(local).expanduser().resolve()) if local else HF_DATASET_ID
    if spec.startswith("hf:"):
        return spec[3:]
    path = Path(spec).expanduser()
    if path.exists():
        return str(path.resolve())
    return spec


# --- dispatch -----------------------------------------------------------------------------------


def _load_unfiltered(spec: str, split: str) -> TaskSet:
    if not isinstance(spec, str) or not spec.strip():
        raise DatasetError(
            "empty dataset spec; use manimbench, a hub id, or a .parquet/.csv/.jsonl file."
        )
    raw = spec.strip()
    if raw.lower() == "manimbench":
        local = os.environ.get(MANIMBENCH_ENV)
        if local:
            path = Path(local).expanduser()
            if not path.exists():
                raise DatasetError(
                    f"${MANIMBENCH_ENV} points at {path}, which does not exist; set it to the "
                    "directory holding the ManimBench parquet files."
                )
            return _load_path(path, split)
        return _load_hub(HF_DATASET_ID, split)
    path = Path(raw).expanduser()
    if path.exists():
        return _load_path(path, split)
    if raw.startswith("hf:"):
        return _load_hub(raw[3:], split)
    if path.suffix.lower() in (".parquet", ".csv", ".jsonl", ".json") or raw.startswith(
        (".", "/", "~")
    ):
        raise DatasetError(f"dataset file not found: {path}")
    if raw.count("/") == 1 and " " not in raw:
        return _load_hub(raw, split)
    raise DatasetError(
        f"unknown dataset {raw!r}: not a file or directory here, and not a hub id; use "
        f"manimbench, {HF_DATASET_ID}, or a .parquet/.csv/.jsonl file."
    )


def _load_path(path: Path, split: str) -> TaskSet:
    if path.is_dir():
        return _load_dir(path, split)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _load_jsonl(path, split)
    if suffix in (".parquet", ".csv"):
        return _from_table(_read_table(path), str(path.resolve()), split)
    raise DatasetError(
        f"{path}: unsupported dataset file type {suffix or '(none)'!r}; use .parquet, .csv "
        "or .jsonl."
    )


def _load_dir(path: Path, split: str) -> TaskSet:
    for name in (V2_FILES[split], V2_FILES["all"]):
        candidate = path / name
        if candidate.is_file():
            return _from_table(_read_table(candidate), str(candidate.resolve()), split)
    tables = sorted(path.glob("*.parquet")) + sorted(path.glob("*.csv"))
    if len(tables) == 1:
        return _from_table(_read_table(tables[0]), str(tables[0].resolve()), split)
    raise DatasetError(
        f"{path}: expected the ManimBench v2 files ({', '.join(sorted(set(V2_FILES.values())))})"
        f" or a single .parquet/.csv file; found {len(tables)} table file(s)."
    )


# --- tables (ManimBench) ------------------------------------------------------------------------


def _read_table(path: Path) -> Any:
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas comes with the metrics extra
        raise DatasetError(
            "reading .parquet/.csv datasets needs pandas and pyarrow: "
            "pip install 'manimatic[metrics]'"
        ) from exc
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except ImportError as exc:
        raise DatasetError(
            f"{path}: reading parquet needs pyarrow: pip install 'manimatic[metrics]' ({exc})"
        ) from exc
    except Exception as exc:  # corrupt file, wrong format...
        raise DatasetError(f"{path}: cannot read the table ({type(exc).__name__}: {exc})") from exc


def _cell(value: Any) -> str | None:
    """A table cell as a stripped string; None for missing values (NaN, None, empty)."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    text = str(value)
    return text if text.strip() else None


def _from_table(frame: Any, source: str, split: str) -> TaskSet:
    """ManimBench rows -> tasks, ids positional within each row's split."""
    missing = [c for c in (PROMPT_COLUMN, CODE_COLUMN) if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"{source}: missing column(s) {', '.join(missing)}; a ManimBench table has "
            f"{PROMPT_COLUMN!r} (prompt), {CODE_COLUMN!r} (reference), {TYPE_COLUMN!r} and "
            f"{SPLIT_COLUMN!r}. For your own tasks use the JSONL format."
        )
    has_split = SPLIT_COLUMN in frame.columns
    has_type = TYPE_COLUMN in frame.columns
    tasks: list[Task] = []
    problems: list[DatasetProblem] = []
    positions: dict[str, int] = {}
    records = frame.to_dict("records")
    for row_index, row in enumerate(records):
        row_split = (_cell(row.get(SPLIT_COLUMN)) or "").strip().lower() if has_split else ""
        position = positions.get(row_split, 0)
        positions[row_split] = position + 1
        task_id = (
            f"manimbench-{row_split}-{position:03d}" if has_split else f"manimbench-{position:03d}"
        )
        if has_split and split != "all" and row_split != split:
            continue
        prompt, code = _cell(row.get(PROMPT_COLUMN)), _cell(row.get(CODE_COLUMN))
        if prompt is None or code is None:
            empty = [n for n, v in ((PROMPT_COLUMN, prompt), (CODE_COLUMN, code)) if v is None]
            problems.append(
                DatasetProblem(
                    source, None, f"row {row_index} ({task_id}): empty {' and '.join(empty)}"
                )
            )
            continue
        tags: dict[str, Any] = {}
        if has_type and _cell(row.get(TYPE_COLUMN)):
            tags["type"] = str(row[TYPE_COLUMN]).strip()
        if has_split:
            tags["split"] = row_split
        task = Task(id=task_id, prompt=prompt.strip(), reference_code=code, tags=tags)
        task.tags["sha"] = task.content_hash()[:16]
        tasks.append(task)
    label = source if has_split else f"{source} (no {SPLIT_COLUMN} column: every row)"
    return TaskSet(tasks=tasks, problems=problems, source=f"{label} [split={split}]")


# --- the hub ------------------------------------------------------------------------------------


def _load_hub(dataset_id: str, split: str) -> TaskSet:
    no_local = (
        f"set ${MANIMBENCH_ENV} to a directory with the ManimBench parquet files, or go online "
        f"so that {dataset_id} can be downloaded"
    )
    try:
        import datasets as hf_datasets
    except ImportError as exc:
        raise DatasetError(
            f"loading {dataset_id} from the Hugging Face hub needs the `datasets` package "
            f"(pip install 'manimatic[train]'); or {no_local.split(', or ')[0]}."
        ) from exc
    try:
        loaded = hf_datasets.load_dataset(dataset_id)
    except Exception as exc:  # offline, unknown id, no access: one message with the fix
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(
            f"cannot load {dataset_id} from the Hugging Face hub ({first}); {no_local}."
        ) from exc
    import pandas as pd

    parts = []
    for hub_split, part in loaded.items():
        frame = part.to_pandas()
        if SPLIT_COLUMN not in frame.columns:
            # The hub's own split names stand in for the Split column.
            frame[SPLIT_COLUMN] = hub_split
        parts.append(frame)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return _from_table(frame, f"hf:{dataset_id}", split)


# --- JSONL (our format) -------------------------------------------------------------------------


def _load_jsonl(path: Path, split: str) -> TaskSet:
    source = str(path.resolve())
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    tasks: list[Task] = []
    problems: list[DatasetProblem] = []
    first_line: dict[str, int] = {}
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        task_or_problem = _parse_jsonl_line(raw, source, lineno)
        if isinstance(task_or_problem, DatasetProblem):
            problems.append(task_or_problem)
            continue
        task = task_or_problem
        if task.id in first_line:
            problems.append(
                DatasetProblem(
                    source,
                    lineno,
                    f"duplicate id {task.id!r} (first on line {first_line[task.id]}); "
                    "ids must be unique: this line is skipped",
                )
            )
            continue
        first_line[task.id] = lineno
        task_split = task.tags.get("split")
        if split != "all" and isinstance(task_split, str) and task_split.lower() != split:
            continue
        task.tags.setdefault("sha", task.content_hash()[:16])
        tasks.append(task)
    return TaskSet(tasks=tasks, problems=problems, source=f"{source} [split={split}]")


def _parse_jsonl_line(raw: bytes, source: str, lineno: int) -> Task | DatasetProblem:
    def problem(message: str) -> DatasetProblem:
        return DatasetProblem(source, lineno, message)

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return problem(f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return problem(f"not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(obj, dict):
        return problem(
            f"expected a JSON object with {', '.join(JSONL_FIELDS)}; got {type(obj).__name__}"
        )
    missing = [k for k in ("id", "prompt", "reference_code") if k not in obj]
    if missing:
        return problem(f"missing field(s) {', '.join(missing)}")
    for key in ("id", "prompt", "reference_code"):
        value = obj[key]
        if not isinstance(value, str):
            return problem(f"field {key!r} must be a string; got {type(value).__name__}")
        if not value.strip():
            return problem(f"field {key!r} is empty")
    tags = obj.get("tags", {})
    if tags is None:
        tags = {}
    if isinstance(tags, list):
        tags = tags_from_list(tags)
        if isinstance(tags, str):
            return problem(tags)
    if not isinstance(tags, dict):
        return problem(
            f"field 'tags' must be an object or a list of strings; got {type(tags).__name__}"
        )
    return Task(
        id=obj["id"].strip(),
        prompt=obj["prompt"].strip(),
        reference_code=obj["reference_code"],
        tags=dict(tags),
    )


# --- filters and helpers ------------------------------------------------------------------------


def check_usable(taskset: TaskSet, shown: int = 3) -> TaskSet:
    """Refuse a task set with no task, saying why: every row rejected (the first problems), or
    nothing in the split or types asked for.

    Raises:
        DatasetError: No task to run.
    """
    if taskset.tasks:
        return taskset
    if taskset.problems:
        first = "; ".join(str(p) for p in taskset.problems[:shown])
        more = len(taskset.problems) - shown
        raise DatasetError(
            f"every row of {taskset.source} was rejected ({len(taskset.problems)} problem(s)); "
            f"first: {first}{f' (+{more} more)' if more > 0 else ''}"
        )
    raise DatasetError(
        f"no tasks in {taskset.source}: the file is empty, or no task is in this split or type"
    )


def tags_from_list(items: list[Any]) -> dict[str, Any] | str:
    """Tags written as a list: `"key:value"` / `"key=value"` items set that key, the rest are
    labels (`tags["labels"]`, in order).

    Returns:
        The tags, or a message saying what is wrong (an item that is not a string).
    """
    tags: dict[str, Any] = {}
    labels: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            return f"field 'tags' as a list must hold strings; item {i} is {type(item).__name__}"
        key, sep, value = item.replace("=", ":", 1).partition(":")
        if sep and key.strip() and value.strip():
            tags[key.strip()] = value.strip()
        elif item.strip():
            labels.append(item.strip())
    if labels:
        tags["labels"] = labels
    return tags


def _task_types(task: Task) -> set[str]:
    """What `--type` matches: the `type` tag and any labels."""
    found = {str(task.tags["type"])} if task.tags.get("type") else set()
    labels = task.tags.get("labels")
    if isinstance(labels, list):
        found |= {str(label) for label in labels}
    return found


def _filter_types(taskset: TaskSet, types: list[str]) -> TaskSet:
    wanted = {t.strip().lower() for t in types if t and t.strip()}
    available = sorted({name for t in taskset.tasks for name in _task_types(t)})
    unknown = sorted(w for w in wanted if w not in {a.lower() for a in available})
    if unknown:
        choices = ", ".join(available) if available else "none: the tasks have no type tag"
        raise DatasetError(
            f"unknown task type(s) {', '.join(unknown)} in {taskset.source}; types: {choices}."
        )
    taskset.tasks = [t for t in taskset.tasks if {name.lower() for name in _task_types(t)} & wanted]
    return taskset


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
