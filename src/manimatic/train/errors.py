"""`TrainError`: a training run cannot go on because of its input (data, model, settings).

Raised for what the user can fix (no tasks in the split, a tokenizer without a chat template,
LoRA targets that match no layer, 4-bit without CUDA...); the CLI turns it into one line. Any
other exception in a run is a bug or a broken machine: the run records its traceback in
OUTPUT_DIR/error.log and the CLI lets it surface with its traceback.

A subclass of ValueError, so callers that caught ValueError keep working.
"""

from __future__ import annotations


class TrainError(ValueError):
    """Bad training input; the message names the problem and the fix."""
