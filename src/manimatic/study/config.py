"""The study's YAML config: the model, the training recipes, the matrix and the report in one file.

    name: tiny-cpu
    dir: ~/manimatic-studies/tiny      # the study directory (`--dir` overrides it)
    model: gguf:smollm2-135m           # trained by SFT, evaluated as `base`
    dataset: manimbench                # train split for SFT / GRPO, test split for the matrix
    seed: 0
    sft: {...}                         # any `manimatic train sft` field (ManimSFTConfig)
    grpo: {...}                        # any `manimatic train grpo` field (ManimGRPOConfig)
    grpo_variants:                     # optional: label -> overrides, one GRPO stage each
      grpo: {reward_shaping: study}
      grpo-staged: {reward_shaping: staged}
    eval: {tasks: 10, subset_seed: 0, strategies: [vanilla, ritl, ritl-doc], rounds: 2, ...}
    report: {frames: 2}

The study sets what makes the chain a chain and refuses a value that would break it: every
training stage writes into the study directory, trains on the `train` split (validation carved
from it), GRPO starts from the SFT adapter; the matrix runs on a seeded subset of the `test` split.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STRATEGIES = ("vanilla", "ritl", "ritl-doc")
FIXED_TRAIN_FIELDS = ("output_dir", "init_adapter", "dataset_split", "resume_from_checkpoint")
LABEL_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
RESERVED_LABELS = ("base", "sft", "eval", "report")


class StudyError(ValueError):
    """A study cannot run as configured (bad config, locked directory, failed stage)."""


@dataclass
class EvalSettings:
    """The matrix: which test tasks, which strategies, how each model is asked.

    Attributes:
        tasks: Size of the fixed test subset (None: the whole test split).
        subset_seed: Seed of the subset's draw (the same seed always gives the same tasks).
        strategies: Strategies of the matrix (vanilla, ritl, ritl-doc).
        rounds: Feedback rounds of ritl / ritl-doc (the study: 3).
        temperature, top_p, max_tokens, seed: Generation options of every condition.
        workers: Tasks in flight at once.
        render_workers: Parallel renders (None: the CPU count).
        timeout: Seconds per render.
        embedders: Load CLIP / CodeBERT when available (False: VS = SSIM term, CBB null).
        models: Label -> model spec, to evaluate other specs than the study derives.
    """

    tasks: int | None = 10
    subset_seed: int = 0
    strategies: list[str] = field(default_factory=lambda: list(STRATEGIES))
    rounds: int = 3
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 1024
    seed: int | None = 0
    workers: int = 1
    render_workers: int | None = None
    timeout: float = 120.0
    embedders: bool = True
    models: dict[str, str] = field(default_factory=dict)


@dataclass
class StudyConfig:
    """A whole study, as read from its YAML file.

    Attributes:
        name: A short name shown in the report.
        model: The base model (a hub id, a local folder, `gguf:NAME`, or `tiny`).
        dataset: The task source (`load_dataset` spec); relative paths are read from beside the
            config file.
        seed: Seed of the training stages (their `seed` unless set there).
        sft: Fields of `ManimSFTConfig`.
        grpo: Fields of `ManimGRPOConfig` shared by every GRPO variant.
        grpo_variants: Label -> overrides; one GRPO stage per label, each from the SFT adapter.
        eval: The matrix settings.
        report_frames: Frames per render in the report.
        directory: The study directory from the file (`dir:`), if any.
        source: The config file.
        raw: The file's mapping, as read (its hash identifies the config).
    """

    name: str
    model: str
    dataset: str = "manimbench"
    seed: int = 0
    sft: dict[str, Any] = field(default_factory=dict)
    grpo: dict[str, Any] = field(default_factory=dict)
    grpo_variants: dict[str, dict[str, Any]] = field(default_factory=lambda: {"grpo": {}})
    eval: EvalSettings = field(default_factory=EvalSettings)
    report_frames: int = 2
    directory: str | None = None
    source: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        """The matrix's model labels: base, sft, then each GRPO variant."""
        return ["base", "sft", *self.grpo_variants]

    @property
    def stages(self) -> list[str]:
        """Stage names in order: sft, each GRPO variant, eval, report."""
        return ["sft", *self.grpo_variants, "eval", "report"]

    def digest(self) -> str:
        """A short hash of the config's content."""
        return hashlib.sha256(
            json.dumps(self.raw, sort_keys=True, default=str).encode()
        ).hexdigest()[:12]

    def train_fields(self, stage: str) -> dict[str, Any]:
        """The training config fields of a stage (before the study's fixed ones are set)."""
        sft = stage == "sft"
        values = dict(self.sft) if sft else {**self.grpo, **self.grpo_variants[stage]}
        values.setdefault("model", self.model)
        values.setdefault("dataset", self.dataset)
        values.setdefault("seed", self.seed)
        return values


def load_study_config(path: str | Path) -> StudyConfig:
    """Read and check a study config file.

    Raises:
        StudyError: The file is missing or not YAML, or a value is wrong (the message names the
            key and the fix).
    """
    import yaml

    path = Path(path).expanduser()
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise StudyError(f"cannot read study config {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise StudyError(f"study config {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise StudyError(f"study config {path} must hold a mapping (name, model, sft, grpo, ...).")
    return parse_study_config(raw, source=path)


def parse_study_config(raw: dict[str, Any], source: Path | None = None) -> StudyConfig:
    """Build a `StudyConfig` from a mapping (see `load_study_config`)."""
    where = str(source) if source else "the study config"
    known = {"name", "dir", "model", "dataset", "seed", "sft", "grpo", "grpo_variants", "eval",
             "report"}  # fmt: skip
    unknown = sorted(set(raw) - known)
    if unknown:
        raise StudyError(
            f"unknown key(s) in {where}: {', '.join(unknown)}; a study config has "
            f"{', '.join(sorted(known))}."
        )
    model = raw.get("model")
    if not isinstance(model, str) or not model.strip():
        raise StudyError(f"{where}: `model` is not set; e.g. model: gguf:smollm2-135m.")
    dataset = str(raw.get("dataset") or "manimbench")
    if source is not None and not Path(dataset).is_absolute():
        beside = source.parent / dataset
        if beside.exists():
            dataset = str(beside.resolve())
    sections = {}
    for key in ("sft", "grpo"):
        value = raw.get(key) or {}
        if not isinstance(value, dict):
            raise StudyError(f"{where}: `{key}` must be a mapping of `manimatic train` fields.")
        fixed = sorted(set(value) & set(FIXED_TRAIN_FIELDS))
        if fixed:
            raise StudyError(
                f"{where}: `{key}` sets {', '.join(fixed)}, which the study sets itself (stage "
                "directories inside the study directory, train split, GRPO from the SFT "
                "adapter, resume from the last checkpoint): remove them."
            )
        sections[key] = value
    variants = raw.get("grpo_variants") or {"grpo": {}}
    if not isinstance(variants, dict) or not all(isinstance(v, dict) for v in variants.values()):
        raise StudyError(f"{where}: `grpo_variants` must map labels to field overrides.")
    for label, overrides in variants.items():
        if not LABEL_RE.match(str(label)) or label in RESERVED_LABELS:
            raise StudyError(
                f"{where}: GRPO variant label {label!r} must be lowercase letters, digits, - or _ "
                f"(not {', '.join(RESERVED_LABELS)})."
            )
        fixed = sorted(set(overrides) & set(FIXED_TRAIN_FIELDS))
        if fixed:
            raise StudyError(
                f"{where}: grpo_variants.{label} sets {', '.join(fixed)}: remove them."
            )
    eval_settings = _eval_settings(raw.get("eval") or {}, where)
    report = raw.get("report") or {}
    frames = report.get("frames", 2) if isinstance(report, dict) else 2
    return StudyConfig(
        name=str(raw.get("name") or (source.stem if source else "study")),
        model=model.strip(),
        dataset=dataset,
        seed=int(raw.get("seed", 0)),
        sft=sections["sft"],
        grpo=sections["grpo"],
        grpo_variants={str(k): dict(v) for k, v in variants.items()},
        eval=eval_settings,
        report_frames=int(frames),
        directory=str(raw["dir"]) if raw.get("dir") else None,
        source=str(source.resolve()) if source else None,
        raw=raw,
    )


def _eval_settings(value: Any, where: str) -> EvalSettings:
    if not isinstance(value, dict):
        raise StudyError(f"{where}: `eval` must be a mapping (tasks, strategies, rounds, ...).")
    names = {f.name for f in dataclasses.fields(EvalSettings)}
    unknown = sorted(set(value) - names)
    if unknown:
        raise StudyError(
            f"{where}: unknown eval key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}."
        )
    settings = EvalSettings(**value)
    bad = [s for s in settings.strategies if s not in STRATEGIES]
    if bad or not settings.strategies:
        raise StudyError(
            f"{where}: eval.strategies {settings.strategies} must be among {', '.join(STRATEGIES)}."
        )
    if settings.tasks is not None and settings.tasks < 1:
        raise StudyError(f"{where}: eval.tasks must be >= 1 (or null for the whole test split).")
    if settings.rounds < 0:
        raise StudyError(f"{where}: eval.rounds must be >= 0 (the study: 3).")
    return settings
