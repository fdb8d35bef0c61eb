"""`run_study`: base -> SFT -> GRPO -> the matrix -> the report, each stage resumable.

    from manimatic.study import load_study_config, run_study, study_status
    config = load_study_config("configs/study_tiny_cpu.yaml")
    run_study(config, "/root/manimatic-studies/tiny")       # again after kill -9: continues
    study_status(config, "/root/manimatic-studies/tiny").to_dict()

The study is orchestration over the library, never a copy of it: SFT and GRPO are `train.run_sft`
/ `train.run_grpo` (each stage directory is a normal `manimatic train` run directory), the matrix
is `bench.run_matrix` into the study's own `bench.sqlite`, and the report is `bench.report` plus
`study.report`'s summary.

Resuming. `state.json` (written atomically) records each stage's status, times and outcome. A
stage marked done is skipped. A training stage that was interrupted restarts from its last
Trainer checkpoint (`checkpoint-N/`: keep `save_strategy: steps` with a small `save_steps`, or
the stage restarts from its beginning); the matrix resumes task by task (every scored task is
one SQLite transaction); the report is rebuilt from the database. `--from STAGE` moves that
stage's outputs (and those of every later stage, which depend on it) aside into `redo/` and runs
them again. An exclusive lock on `study.lock` keeps a second process out of a running study.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from manimatic.provenance import utc_now
from manimatic.study.config import StudyConfig, StudyError

STATE_FILE = "state.json"
LOCK_FILE = "study.lock"
DB_FILE = "bench.sqlite"
SUBSET_FILE = "test_subset.json"
REPORT_DIR = "report"

Say = Callable[[str], None]


@dataclass
class StageState:
    """One stage's record in state.json.

    Attributes:
        status: pending, running (or interrupted, when its process is gone), done, failed.
        started: When it last started (UTC ISO 8601).
        finished: When it finished.
        wall_s: Seconds of every attempt that ended (failed, interrupted by Ctrl-C, or done)
            together; an attempt killed with -9 cannot record its time and is not counted.
        attempts: How many times it was started.
        result: What it produced (a TrainResult dict, the matrix's runs, the report's files).
        error: Why it failed.
    """

    status: str = "pending"
    started: str | None = None
    finished: str | None = None
    wall_s: float = 0.0
    attempts: int = 0
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class StudyStatus:
    """Where a study stands.

    Attributes:
        directory: The study directory.
        name: The config's name.
        config: The config file.
        config_digest: Hash of the config the study was started with.
        stages: Stage name -> its state, in order.
        running_pid: The process running the study now, if any.
        eval_progress: Per matrix run, `{"label", "strategy", "run_id", "done", "total", "rsr"}`.
        training_progress: Per training stage not done, `{"step", "max_steps"}` read from its
            metrics.jsonl and study_stage.yaml (a stopped stage resumes from its last
            checkpoint, which may be a few steps before `step`).
    """

    directory: str
    name: str
    config: str | None
    config_digest: str
    stages: dict[str, StageState]
    running_pid: int | None = None
    eval_progress: list[dict[str, Any]] = field(default_factory=list)
    training_progress: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return all(s.status == "done" for s in self.stages.values())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["done"] = self.done
        return data


def study_directory(config: StudyConfig, directory: str | Path | None) -> Path:
    """The study directory: the argument, else the config's `dir`.

    Raises:
        StudyError: Neither is given.
    """
    chosen = directory or config.directory
    if not chosen:
        raise StudyError("no study directory: give --dir DIR (or `dir:` in the config).")
    return Path(os.path.expandvars(str(chosen))).expanduser().resolve()


class _State:
    """state.json: read, changed, written atomically after every change."""

    def __init__(self, directory: Path, config: StudyConfig) -> None:
        self.path = directory / STATE_FILE
        self.config = config
        data = json.loads(self.path.read_text()) if self.path.is_file() else {}
        self.digest = data.get("config_digest") or config.digest()
        self.created = data.get("created") or utc_now()
        stored = data.get("stages") or {}
        self.stages = {
            name: StageState(**stored[name]) if name in stored else StageState()
            for name in config.stages
        }

    def save(self) -> None:
        data = {
            "name": self.config.name,
            "config": self.config.source,
            "config_digest": self.digest,
            "created": self.created,
            "updated": utc_now(),
            "stages": {k: asdict(v) for k, v in self.stages.items()},
        }
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2, default=str))
        os.replace(tmp, self.path)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold the study's lock; another process holding it is an error, not a wait."""
    directory.mkdir(parents=True, exist_ok=True)
    fh = (directory / LOCK_FILE).open("a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            pid = fh.read().strip() or "?"
            raise StudyError(
                f"the study in {directory} is running in process {pid}; wait for it (`manimatic "
                "study status`), or stop it and run the same command again to resume."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield
    finally:
        fh.close()


def _lock_holder(directory: Path) -> int | None:
    path = directory / LOCK_FILE
    if not path.is_file():
        return None
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            text = fh.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


# --- running ------------------------------------------------------------------------------------


def run_study(
    config: StudyConfig,
    directory: str | Path | None = None,
    *,
    from_stage: str | None = None,
    until: str | None = None,
    progress: bool = True,
    say: Say | None = None,
) -> StudyStatus:
    """Run the study's stages that are not done yet (or redo from `from_stage`).

    Args:
        config: The study config.
        directory: The study directory (default: the config's `dir`).
        from_stage: Redo this stage and every later one (their outputs are moved to `redo/`).
        until: Stop after this stage.
        progress: Progress bars for training and the matrix.
        say: Called with one line per event (stage started, skipped, done).

    Returns:
        The study's status at the end.

    Raises:
        StudyError: A bad stage name, a locked study, or a stage that failed (the state keeps
            what was done; the same command resumes).
    """
    say = say or (lambda line: None)
    stages = config.stages
    for name in (from_stage, until):
        if name is not None and name not in stages:
            raise StudyError(f"unknown stage {name!r}; the stages are {', '.join(stages)}.")
    root = study_directory(config, directory)
    with _locked(root):
        state = _State(root, config)
        if state.digest != config.digest() and from_stage is None:
            say(
                "note: the config changed since this study started; finished stages are kept "
                "(use --from STAGE to redo one with the new config)"
            )
        if from_stage is not None:
            _redo(root, config, state, stages[stages.index(from_stage) :], say)
            state.digest = config.digest()
        state.save()
        for name in stages:
            stage = state.stages[name]
            if stage.status == "done" and _outputs_present(root, name, stage):
                say(f"{name}: done, skipped")
            else:
                _run_stage(root, config, state, name, progress, say)
            if name == until:
                break
        return _status(root, config, state)


def _run_stage(
    root: Path, config: StudyConfig, state: _State, name: str, progress: bool, say: Say
) -> None:
    stage = state.stages[name]
    resumed = stage.attempts > 0
    stage.status, stage.started, stage.error = "running", utc_now(), None
    stage.attempts += 1
    state.save()
    say(f"{name}: {'resuming' if resumed else 'starting'}")
    started = time.perf_counter()
    try:
        if name == "sft" or name in config.grpo_variants:
            result = _train(root, config, state, name, progress)
        elif name == "eval":
            result = _evaluate(root, config, state, progress, say)
        else:
            from manimatic.study.report import write_study_report

            result = write_study_report(root, config, _status(root, config, state))
    except BaseException as exc:
        stage.wall_s += time.perf_counter() - started
        interrupted = isinstance(exc, KeyboardInterrupt)
        stage.status = "interrupted" if interrupted else "failed"
        stage.error = None if interrupted else f"{type(exc).__name__}: {exc}"
        state.save()
        if interrupted or not isinstance(exc, Exception):
            raise
        raise StudyError(
            f"stage {name} failed: {exc}. What was done is kept; fix the cause and run the same "
            "command again to resume."
        ) from exc
    stage.wall_s += time.perf_counter() - started
    stage.status, stage.finished, stage.result = "done", utc_now(), result
    state.save()
    say(f"{name}: done in {stage.wall_s:.0f} s")


def _outputs_present(root: Path, name: str, stage: StageState) -> bool:
    """A done stage whose outputs were deleted since is run again."""
    if name == "eval":
        return (root / DB_FILE).is_file()
    if name == "report":
        return (root / REPORT_DIR / "study.md").is_file()
    adapter = stage.result.get("adapter_dir")
    if not adapter:
        return False
    return Path(adapter).is_dir()


def _redo(root: Path, config: StudyConfig, state: _State, names: list[str], say: Say) -> None:
    """Move the outputs of `names` into redo/<time>/ and mark them pending."""
    aside = root / "redo" / time.strftime("%Y%m%d-%H%M%S")
    for name in names:
        paths = {"eval": [root / DB_FILE, root / SUBSET_FILE], "report": [root / REPORT_DIR]}
        for path in paths.get(name, [root / name]):
            if path.exists():
                aside.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), str(aside / path.name))
        for suffix in ("-wal", "-shm"):
            extra = root / (DB_FILE + suffix)
            if name == "eval" and extra.exists():
                shutil.move(str(extra), str(aside / extra.name))
        state.stages[name] = StageState()
        say(f"{name}: outputs moved to {aside}, will run again")


def _stage_config(root: Path, config: StudyConfig, state: _State, name: str) -> tuple[Any, Any]:
    """(config, explicit) of a training stage, through `train.config.parse_config`."""
    import yaml

    from manimatic.train.config import ManimGRPOConfig, ManimSFTConfig, parse_config

    out = root / name
    out.mkdir(parents=True, exist_ok=True)
    values = config.train_fields(name)
    values["output_dir"] = str(out)
    values["dataset_split"] = "train"  # the test split is the matrix's: never trained on
    if name != "sft":
        sft = state.stages["sft"].result
        if not sft.get("adapter_dir"):
            raise StudyError("GRPO needs the SFT adapter, and the sft stage has none.")
        values["init_adapter"] = sft["adapter_dir"]
    # The stage's input config, beside its run's config.yaml: what `manimatic train` would be
    # given to run this stage by hand.
    spec = out / "study_stage.yaml"
    spec.write_text(yaml.safe_dump(values, sort_keys=True))
    cls = ManimSFTConfig if name == "sft" else ManimGRPOConfig
    try:
        return parse_config(cls, spec, [])
    except ValueError as exc:
        raise StudyError(f"stage {name}: {exc}") from None


def _train(root: Path, config: StudyConfig, state: _State, name: str, progress: bool) -> dict:
    from transformers.trainer_utils import get_last_checkpoint

    cfg, explicit = _stage_config(root, config, state, name)
    out = Path(cfg.output_dir)
    last = get_last_checkpoint(str(out)) if out.is_dir() else None
    cfg.resume_from_checkpoint = last  # None: from the start
    if name == "sft":
        from manimatic.train.sft import run_sft

        result = run_sft(cfg, explicit=explicit, progress=progress)
    else:
        from manimatic.train.grpo import run_grpo

        result = run_grpo(cfg, explicit=explicit, progress=progress)
    data = result.to_dict()
    data["resumed_from"] = last
    return data


# --- the matrix ---------------------------------------------------------------------------------


def eval_subset(config: StudyConfig, root: Path | None = None) -> Any:
    """The fixed, seeded subset of the test split the matrix runs on (a `TaskSet`).

    The draw depends only on the test split's task ids and `eval.subset_seed`; the chosen ids
    are written to `test_subset.json` in the study directory.
    """
    from manimatic.bench.datasets import DatasetError, TaskSet, load_dataset

    try:
        full = load_dataset(config.dataset, split="test")
    except DatasetError as exc:
        raise StudyError(f"eval: {exc}") from None
    if not full.tasks:
        raise StudyError(f"eval: the dataset {config.dataset} has no test tasks.")
    k = config.eval.tasks
    tasks = list(full.tasks)
    if k is not None and k < len(tasks):
        order = sorted(t.id for t in tasks)
        chosen = set(random.Random(config.eval.subset_seed).sample(order, k))
        tasks = [t for t in tasks if t.id in chosen]
    source = full.source
    if k is not None and k < len(full.tasks):
        source += f" [subset {k} seed {config.eval.subset_seed}]"
    subset = TaskSet(tasks=tasks, problems=list(full.problems), source=source)
    if root is not None:
        (root / SUBSET_FILE).write_text(
            json.dumps({"source": source, "ids": [t.id for t in tasks]}, indent=2)
        )
    return subset


def model_specs(config: StudyConfig, state: _State | dict[str, StageState]) -> dict[str, str]:
    """Label -> model spec of the matrix: base, sft and each GRPO variant.

    A `gguf:` base is evaluated as `gguf:NAME@ADAPTER` (the GGUF's own engine), anything else as
    the trainer's `hf:BASE@ADAPTER`; `eval.models` overrides any of them.
    """
    stages = state.stages if isinstance(state, _State) else state
    sft = stages["sft"].result
    gguf = config.model.startswith("gguf:")
    if gguf:
        base = config.model
    elif config.model == "tiny":
        base = f"hf:{sft['base_model']}"
    else:
        base = config.model if ":" in config.model else f"hf:{config.model}"
    specs = {"base": base}
    for label in ["sft", *config.grpo_variants]:
        result = stages[label].result
        specs[label] = f"{config.model}@{result['adapter_dir']}" if gguf else result["model_spec"]
    specs.update(config.eval.models)
    return specs


def _evaluate(root: Path, config: StudyConfig, state: _State, progress: bool, say: Say) -> dict:
    from manimatic.bench.answers import BenchError
    from manimatic.bench.matrix import run_matrix
    from manimatic.llm import GenerationOptions

    e = config.eval
    subset = eval_subset(config, root)
    specs = model_specs(config, state)
    say(
        f"eval: {len(subset)} test task(s) x {len(specs)} model(s) x {len(e.strategies)} strategies"
    )
    options = GenerationOptions(
        temperature=e.temperature, top_p=e.top_p, max_tokens=e.max_tokens, seed=e.seed
    )
    embedders = {} if e.embedders else {"image_embedder": None, "code_embedder": None}
    models: dict[str | None, str] = {label: spec for label, spec in specs.items()}
    try:
        summary = run_matrix(
            subset,
            models,
            list(e.strategies),
            db=root / DB_FILE,
            rounds=e.rounds,
            options=options,
            workers=e.workers,
            render_workers=e.render_workers,
            timeout=e.timeout,
            progress=progress,
            **embedders,
        )
    except BenchError as exc:
        raise StudyError(str(exc)) from None
    if summary.failed:
        first = summary.failed[0]
        raise StudyError(
            f"{len(summary.failed)} condition(s) did not finish (first: {first['label']} / "
            f"{first['strategy']}: {first['error']})"
        )
    runs = [
        {"label": s.label, "strategy": s.strategy, "run_id": s.run_id, "model": s.model,
         "status": s.status, "done": s.done, "total": s.total}
        for s in summary.runs
    ]  # fmt: skip
    unfinished = [r for r in runs if r["status"] != "done"]
    if unfinished:
        raise StudyError(
            f"{len(unfinished)} condition(s) are not complete (e.g. {unfinished[0]['label']} / "
            f"{unfinished[0]['strategy']}: {unfinished[0]['done']}/{unfinished[0]['total']})"
        )
    return {"db": str(root / DB_FILE), "tasks": [t.id for t in subset.tasks], "runs": runs}


# --- status -------------------------------------------------------------------------------------


def study_status(config: StudyConfig, directory: str | Path | None = None) -> StudyStatus:
    """Read where a study stands (never blocks on, or changes, a running study)."""
    root = study_directory(config, directory)
    if not (root / STATE_FILE).is_file():
        raise StudyError(
            f"no study in {root}: start it with `manimatic study run --config {config.source}`."
        )
    return _status(root, config, _State(root, config))


def _status(root: Path, config: StudyConfig, state: _State) -> StudyStatus:
    holder = _lock_holder(root)
    stages = {k: StageState(**asdict(v)) for k, v in state.stages.items()}
    for stage in stages.values():
        if stage.status == "running" and holder is None:
            stage.status = "interrupted"
        elif stage.status == "running" and stage.started:
            # Not yet added to wall_s (that happens when the attempt ends): show it so far.
            began = datetime.fromisoformat(stage.started.replace("Z", "+00:00"))  # older: ...Z
            stage.wall_s += max(0.0, (datetime.now(timezone.utc) - began).total_seconds())
    return StudyStatus(
        directory=str(root),
        name=config.name,
        config=config.source,
        config_digest=state.digest,
        stages=stages,
        running_pid=holder if holder and holder != os.getpid() else None,
        eval_progress=_eval_progress(root),
        training_progress={
            name: _training_progress(root / name)
            for name, s in stages.items()
            if name not in ("eval", "report") and s.status != "done" and (root / name).is_dir()
        },
    )


def _training_progress(stage_dir: Path) -> dict[str, Any]:
    import yaml

    step = 0
    metrics = stage_dir / "metrics.jsonl"
    if metrics.is_file():
        for line in metrics.read_text().splitlines():
            with contextlib.suppress(ValueError, AttributeError):
                step = max(step, int(json.loads(line).get("step") or 0))
    max_steps = None
    with contextlib.suppress(OSError, yaml.YAMLError, AttributeError):
        max_steps = (yaml.safe_load((stage_dir / "study_stage.yaml").read_text()) or {}).get(
            "max_steps"
        )
    return {"step": step, "max_steps": max_steps}


def _eval_progress(root: Path) -> list[dict[str, Any]]:
    path = root / DB_FILE
    if not path.is_file():
        return []
    from manimatic.bench.store import Store, StoreError

    try:
        with Store(path) as store:
            counts = store.counts()
            runs = sorted(store.runs(), key=lambda r: r.created)
    except StoreError:
        return []
    # A condition whose identity changed (another engine, embedders, protocol) gets a new run;
    # the newest run of each condition is the one the matrix uses, older ones stay readable.
    latest = {(r.label, r.strategy): r.id for r in runs}
    return [
        {"label": r.label, "strategy": r.strategy, "run_id": r.id,
         "done": (counts.get(r.id) or {}).get("done") or 0, "total": r.total,
         "rsr": (counts.get(r.id) or {}).get("rsr"),
         "status": r.live_status if latest[(r.label, r.strategy)] == r.id else "superseded"}
        for r in runs
    ]  # fmt: skip
