"""Reading a training config: a YAML file plus `--field value` flags, by TRL's parser rules.

`parse_config` builds a `ManimSFTConfig` / `ManimGRPOConfig` (`manimatic.train.config`) and tells
which values were set explicitly; `fields_help` lists every flag.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

log = logging.getLogger(__name__)

PATH_FIELDS = ("dataset", "init_adapter")
"""Fields whose relative paths in a config file are read from beside the file, if there."""


def parse_config(
    cls: type,
    config_file: str | os.PathLike | None = None,
    args: list[str] | None = None,
    *,
    dry_run: bool = False,
) -> tuple[Any, dict[str, Any]]:
    """Build a config from a YAML file plus `--field value` overrides (TRL's TrlParser rules).

    The file's values replace the defaults and flags replace the file's values; every field of
    the class (TRL's, transformers' and ours) is a flag, with dashes or underscores
    (`--learning-rate 1e-5`). An `env:` mapping in the file sets environment variables, as in
    TRL. Relative `dataset` / `init_adapter` paths in the file are taken relative to the file
    when they exist there, so a config travels with its data.

    Args:
        cls: `ManimSFTConfig` or `ManimGRPOConfig`.
        config_file: The YAML file, or None.
        args: The flags.
        dry_run: Resolve the config as the target machine would: a GPU recipe (bf16) is not
            refused on a machine without a GPU, since nothing is trained.

    Returns:
        (config, explicit): the config, and the values set by the file or the flags (what the
        run's config.yaml records).

    Raises:
        ValueError: Unknown keys or flags, a bad value, or a rule of `__post_init__`.
    """
    import yaml
    from trl import TrlParser

    args = list(args or [])
    values: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file)
        try:
            loaded = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise ValueError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
        except yaml.YAMLError as exc:
            raise ValueError(f"config file {path} is not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ValueError(f"config file {path} must hold a mapping of field: value.")
        for key, value in (loaded.pop("env", None) or {}).items():
            os.environ[str(key)] = str(value)
        for key in PATH_FIELDS:
            value = loaded.get(key)
            if isinstance(value, str) and not Path(value).is_absolute():
                beside = path.parent / value
                if beside.exists():
                    loaded[key] = str(beside.resolve())
        values = loaded
    parser = TrlParser([cast(Any, cls)])  # our config dataclasses; TRL types them as DataClassType
    # `--learning-rat 1e-6` must not silently become --learning-rate: no prefixes.
    parser.allow_abbrev = False
    unknown = parser.set_defaults_with_config(**values)
    if unknown:
        keys = sorted(k[2:] for k in unknown[::2])
        raise ValueError(
            f"unknown field(s) in {config_file}: {', '.join(keys)}; see `--help-fields` for the "
            "fields of this command."
        )
    _, rest = parser.parse_known_args(args)  # before building: unknown flags are the first error
    if rest:
        raise ValueError(
            f"unknown option(s): {' '.join(rest)}; see `--help-fields` for every field."
        )
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    given = set(values) | _flag_names(args, names, _aliases(cls))
    with _as_if_on_the_gpu(dry_run):
        (config,) = parser.parse_args_into_dataclasses(args=args)
        asked = config
        accumulation = cpu_accumulation(config, given, dry_run=dry_run)
        if accumulation is not None:
            # Later flags win in argparse; output_dir is pinned so a default timestamped one
            # does not move between the two builds.
            (config,) = parser.parse_args_into_dataclasses(
                args=[
                    *args,
                    "--per_device_train_batch_size",
                    "1",
                    "--gradient_accumulation_steps",
                    str(accumulation),
                    "--output_dir",
                    str(asked.output_dir),
                ]
            )
            log.warning(
                "training on CPU: per_device_train_batch_size %d x gradient_accumulation_steps "
                "%d becomes 1 x %d (same effective batch, a fraction of the memory); set "
                "per_device_train_batch_size to choose it yourself",
                asked.per_device_train_batch_size,
                asked.gradient_accumulation_steps,
                config.gradient_accumulation_steps,
            )
    from manimatic.train.runlog import config_dict

    # The run records what was asked (so the same file resolves the same way on a GPU).
    resolved = config_dict(asked)
    explicit = {k: resolved[k] for k in sorted(given) if k in resolved}
    explicit["output_dir"] = config.output_dir
    explicit["model"] = config.model
    if config.init_adapter:
        explicit["init_adapter"] = config.init_adapter
    return config, explicit


def trains_on_cpu(config: Any, *, dry_run: bool = False) -> bool:
    """Whether `config` trains on the CPU: `use_cpu`, or (for a real run) no CUDA device.

    A dry run resolves the config for the machine it is meant for, so there only `use_cpu` counts.
    """
    if getattr(config, "use_cpu", False):
        return True
    if dry_run:
        return False
    import torch

    return not torch.cuda.is_available()


def cpu_accumulation(config: Any, given: set[str], *, dry_run: bool = False) -> int | None:
    """Gradient accumulation steps for batch 1 on the CPU, or None to keep the config as it is.

    On a CPU the logits of a whole batch are held in fp32 (49k vocabulary x length x batch):
    SFT at batch 4 x 1024 tokens peaked at 13-15 GB RSS. So when the batch size was not chosen
    (`per_device_train_batch_size` absent from the file and the flags), one sequence goes
    through at a time and accumulation makes up the rest: the effective batch (per-device batch
    x accumulation) and so the optimizer's update are what the config asked for.

    Args:
        config: The config built from the user's values.
        given: Field names set by the config file or the flags.
        dry_run: Resolve for the target machine (see `trains_on_cpu`).
    """
    if "per_device_train_batch_size" in given or config.per_device_train_batch_size == 1:
        return None
    if not trains_on_cpu(config, dry_run=dry_run):
        return None
    return int(config.per_device_train_batch_size * config.gradient_accumulation_steps)


@contextlib.contextmanager
def _as_if_on_the_gpu(active: bool) -> Iterator[None]:
    """While building a config for a dry run, answer "yes" to transformers' bf16 device check.

    transformers refuses `bf16: true` in `TrainingArguments.__post_init__` on a machine with
    no bf16 GPU; a dry run only resolves and prints the config, so it may be done anywhere.
    """
    if not active:
        yield
        return
    import transformers.training_args as targs

    saved = getattr(targs, "is_torch_bf16_gpu_available", None)
    if saved is None:  # another transformers layout: nothing to relax
        yield
        return
    targs.is_torch_bf16_gpu_available = lambda *a, **k: True
    try:
        yield
    finally:
        targs.is_torch_bf16_gpu_available = saved


def _aliases(cls: type) -> dict[str, str]:
    """Alias flag (as a field-like name) -> field name, from `metadata["aliases"]`."""
    out = {}
    for f in dataclasses.fields(cls):
        for alias in f.metadata.get("aliases", []):
            out[alias.lstrip("-").replace("-", "_")] = f.name
    return out


def _flag_names(
    args: list[str], names: set[str], aliases: dict[str, str] | None = None
) -> set[str]:
    """Field names that appear as flags (`--x-y`, `--x_y`, `--x=v`, `--no-x`, aliases)."""
    out = set()
    for token in args:
        if not token.startswith("--"):
            continue
        name = token[2:].split("=", 1)[0].replace("-", "_")
        name = (aliases or {}).get(name, name)
        if name not in names and name.startswith("no_") and name[3:] in names:
            name = name[3:]
        if name in names:
            out.add(name)
    return out


def fields_help(cls: type) -> str:
    """Every flag of a config class with its help text (TRL's, transformers' and ours)."""
    from trl import TrlParser

    return TrlParser([cast(Any, cls)]).format_help()
