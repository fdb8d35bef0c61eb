"""Metrics of a generated render and program against the reference (docs/architecture.md s. 4).

* `frames`: renders -> sampled RGB frames (`load_frames`).
* `visual`: the study's VS (`visual_similarity`, fast; `visual_similarity_reference`, literal),
  with the SSIM engine in `ssim` and the pluggable image embedders in `embedders`.
* `fidelity`: our discriminative visual metric, from pixels and optional scene traces.
* `code`: CodeBLEU, CodeBERT, CBB, AST distance (`code_metrics`).
* `correlation`: Pearson / Spearman between metric lists (`correlate`).

The `fidelity` function is not re-exported: it would hide the `fidelity` module (use
`from manimatic.metrics.fidelity import fidelity`). Heavy dependencies (torch, transformers,
skimage, codebleu) are imported only when used.
"""

from manimatic.metrics.code import CodeMetrics, code_metrics
from manimatic.metrics.correlation import Correlation, correlate
from manimatic.metrics.fidelity import Fidelity
from manimatic.metrics.frames import Frames, load_frames
from manimatic.metrics.visual import (
    VisualSimilarity,
    visual_similarity,
    visual_similarity_reference,
)

__all__ = [
    "CodeMetrics",
    "Correlation",
    "Fidelity",
    "Frames",
    "VisualSimilarity",
    "code_metrics",
    "correlate",
    "load_frames",
    "visual_similarity",
    "visual_similarity_reference",
]
