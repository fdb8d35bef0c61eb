"""The study, end to end: base -> SFT -> GRPO -> the 9-condition matrix -> the report.

    from manimatic.study import load_study_config, run_study, study_status
    config = load_study_config("configs/study_tiny_cpu.yaml")
    run_study(config, "/root/manimatic-studies/tiny")   # resumable: run it again after kill -9
    study_status(config, "/root/manimatic-studies/tiny").to_dict()

Modules: `config` (the YAML), `runner` (stages, state, resume), `report` (the study summary
beside the benchmark report). CLI: `manimatic study run|status|report --config FILE`.
"""

from __future__ import annotations

from manimatic.study.config import StudyConfig, StudyError, load_study_config, parse_study_config
from manimatic.study.runner import StudyStatus, run_study, study_status

__all__ = [
    "StudyConfig",
    "StudyError",
    "StudyStatus",
    "load_study_config",
    "parse_study_config",
    "run_study",
    "study_status",
]
