"""The evaluation protocol: every choice that decides whether our numbers compare with the study's.

A `Protocol` switches all of them together, so a run is either the study's protocol or ours,
never a mix (`--protocol study|manimatic` on generate, bench and train):

| choice                    | `study` (the authors' code)          | `manimatic` (default)        |
|---------------------------|--------------------------------------|------------------------------|
| prompts                   | the study's format (`study.yaml`)    | ours (`manimatic.yaml`)      |
| code extraction           | last `<CODE>`, else last ```python   | tolerant (`extract_code`)    |
| feedback                  | last 10 lines of renderer stderr     | structured error + traceback |
| hints ("did you mean")    | no                                   | yes                          |
| static preflight in loop  | no (every attempt is rendered)       | yes (stops doomed code fast) |
| timeout, generated code   | 300 s                                | 60 s generate, 120 s bench   |
| timeout, reference code   | 300 s                                | 300 s                        |
| code metrics              | their AST tree, empty code scores 0  | ours (see `metrics.code`)    |

    protocol = protocol_from_name("study")
    protocol.extract(reply).code, protocol.feedback(result, code)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from manimatic.agent.extract import Extraction, extract_code, extract_code_study
from manimatic.agent.feedback import no_code_feedback, render_feedback, study_feedback
from manimatic.render import RenderResult

DEFAULT_PROTOCOL = "manimatic"
STUDY_TIMEOUT_S = 300.0  # the study renders every program with a 300 s limit
# Reference renders get the study's 300 s under both protocols: one ManimBench reference (a
# ZoomedScene, test row 65) needs more than 120 s. Generated code keeps a shorter limit under
# ours (60 s in generate, 120 s in the bench): a scene that needs more is almost always stuck.
REFERENCE_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Protocol:
    """One protocol's choices (see the module docstring for the two of them).

    Attributes:
        name: "study" or "manimatic".
        prompts: The shipped prompt set used when no `--prompts` is given.
        study_extraction: Extract with the study's rule instead of ours.
        study_feedback: Feed back the renderer's stderr tail instead of the structured error.
        hints: Include the renderer's hints in the feedback.
        preflight: Run the static preflight before each render in the loop.
        generate_timeout: Seconds per render of generated code in `generate`.
        bench_timeout: Seconds per render of generated code in the bench.
        reference_timeout: Seconds per render of a reference program in the bench.
        code_metrics: The code-metrics variant ("study" or "manimatic", `metrics.code`).
    """

    name: str
    prompts: str
    study_extraction: bool
    study_feedback: bool
    hints: bool
    preflight: bool
    generate_timeout: float
    bench_timeout: float
    reference_timeout: float
    code_metrics: str

    def extract(self, text: str | None) -> Extraction:
        """The code of a model reply, by this protocol's rule."""
        return extract_code_study(text) if self.study_extraction else extract_code(text)

    def feedback(self, result: RenderResult, code: str | None = None) -> str:
        """The text fed back after a failed render."""
        if self.study_feedback:
            return study_feedback(result)
        return render_feedback(result, code, hints=self.hints)

    def no_code_feedback(self, extraction: Extraction) -> str:
        """The text fed back when a reply held no code.

        The study renders whatever its extraction gave (an empty file when it found nothing), so
        its renderer reports a module without scenes; we say what the reply looked like.
        """
        if self.study_feedback:
            return study_feedback(no_code_result(extraction))
        return no_code_feedback(extraction)

    def to_dict(self) -> dict[str, Any]:
        """The record form: the name plus every choice it stands for."""
        return {
            "name": self.name,
            "prompts": self.prompts,
            "extraction": "study" if self.study_extraction else "manimatic",
            "feedback": "stderr_tail" if self.study_feedback else "structured",
            "hints": self.hints,
            "preflight": self.preflight,
            "generate_timeout": self.generate_timeout,
            "bench_timeout": self.bench_timeout,
            "reference_timeout": self.reference_timeout,
            "code_metrics": self.code_metrics,
        }

    def __str__(self) -> str:
        return self.name


STUDY = Protocol(
    name="study",
    prompts="study",
    study_extraction=True,
    study_feedback=True,
    hints=False,
    preflight=False,
    generate_timeout=STUDY_TIMEOUT_S,
    bench_timeout=STUDY_TIMEOUT_S,
    reference_timeout=STUDY_TIMEOUT_S,
    code_metrics="study",
)

MANIMATIC = Protocol(
    name="manimatic",
    prompts="manimatic",
    study_extraction=False,
    study_feedback=False,
    hints=True,
    preflight=True,
    generate_timeout=60.0,
    bench_timeout=120.0,
    reference_timeout=REFERENCE_TIMEOUT_S,
    code_metrics="manimatic",
)

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (MANIMATIC, STUDY)}


def protocol_from_name(name: str | Protocol | None) -> Protocol:
    """The protocol for a `--protocol` value (None: the default, manimatic).

    Raises:
        ValueError: An unknown name (the message lists the known ones).
    """
    if isinstance(name, Protocol):
        return name
    if name is None:
        return PROTOCOLS[DEFAULT_PROTOCOL]
    key = str(name).strip().lower()
    if key not in PROTOCOLS:
        raise ValueError(
            f"unknown protocol {name!r}; choose study (the paper's extraction, feedback, timeouts "
            "and code metrics) or manimatic (ours, the default)."
        )
    return PROTOCOLS[key]


def no_code_result(extraction: Extraction) -> RenderResult:
    """The stand-in failure for a reply with no code (it is not rendered)."""
    return RenderResult.failure(
        "preflight",
        "no_scene",
        "NoCodeError",
        f"no code: {extraction.reason or 'the reply contained no code'}",
    )
