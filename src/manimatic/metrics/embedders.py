"""Image embedders for the semantic term of VS (the study: CLIP ViT-L/14 image embeddings).

The embedder is pluggable (`ImageEmbedder`: `embed(images) -> (n, d)` array). `ClipEmbedder` wraps
a transformers `CLIPVisionModelWithProjection`; `default_embedder()` loads it from
`$MANIMATIC_CLIP_PATH` or the hub id (the local cache only when offline) and returns None, saying
why once, when it cannot. `tiny_clip_embedder()` builds a randomly initialised CLIP vision model
from a config: no download, for tests.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

CLIP_HUB_ID = "openai/clip-vit-large-patch14"
CLIP_PATH_ENV = "MANIMATIC_CLIP_PATH"


@runtime_checkable
class ImageEmbedder(Protocol):
    """Maps RGB uint8 images to embeddings, one row per image."""

    name: str

    def embed(self, images: list[np.ndarray]) -> np.ndarray:
        """Embed images.

        Args:
            images: RGB uint8 arrays (H, W, 3); sizes may differ.

        Returns:
            A float array of shape (len(images), d).
        """
        ...


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


class ClipEmbedder:
    """CLIP image embeddings (`image_embeds` of `CLIPVisionModelWithProjection`).

    Args:
        model: A `CLIPVisionModelWithProjection`.
        processor: The matching `CLIPImageProcessor`.
        name: Shown in results, e.g. the model path.
        batch_size: Images per forward pass.
    """

    def __init__(self, model: Any, processor: Any, name: str = "clip", batch_size: int = 16):
        self.model = model.eval()
        self.processor = processor
        self.name = name
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(cls, name_or_path: str = CLIP_HUB_ID, **kwargs: Any) -> ClipEmbedder:
        """Load weights and preprocessing from a local directory or a hub id.

        Raises:
            OSError: The weights cannot be found (e.g. offline without a cached copy).
        """
        from transformers import CLIPVisionModelWithProjection

        model = CLIPVisionModelWithProjection.from_pretrained(name_or_path)
        processor = _processor_class().from_pretrained(name_or_path)
        return cls(model, processor, name=name_or_path, **kwargs)

    def embed(self, images: list[np.ndarray]) -> np.ndarray:
        import torch

        chunks = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                batch = [np.asarray(im) for im in images[start : start + self.batch_size]]
                inputs = self.processor(images=batch, return_tensors="pt")
                out = self.model(pixel_values=inputs["pixel_values"])
                chunks.append(out.image_embeds.float().cpu().numpy())
        if not chunks:
            return np.zeros((0, 0))
        return np.concatenate(chunks).astype(np.float64)


def tiny_clip_embedder(seed: int = 0, image_size: int = 32) -> ClipEmbedder:
    """A randomly initialised, very small CLIP vision model (for tests; no download).

    Args:
        seed: Torch seed for the weights, so embeddings are repeatable.
        image_size: Input resolution of the model; the processor resizes to it.
    """
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        projection_dim=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=image_size,
        patch_size=8,
    )
    torch.manual_seed(seed)
    model = CLIPVisionModelWithProjection(config)
    processor = _processor_class()(
        size={"shortest_edge": image_size},
        crop_size={"height": image_size, "width": image_size},
    )
    return ClipEmbedder(model, processor, name=f"tiny-random-clip(seed={seed})")


def _processor_class() -> Any:
    # Recent transformers warn when the default (torchvision) backend is missing and fall back to
    # the PIL one; ask for the PIL one directly where it exists (same preprocessing).
    import transformers

    return getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor


_default_cache: dict[str, Any] = {}


DOWNLOAD_ENV = "MANIMATIC_DOWNLOAD_MODELS"


def downloads_allowed(download: bool | None = None) -> bool:
    """Whether a default embedder may fetch its weights from the hub when they are not cached.

    Off unless asked (`download=True` or `MANIMATIC_DOWNLOAD_MODELS=1`): a benchmark or reward
    must not start a gigabyte download, nor hang on an unreachable hub, by default.
    """
    if download is not None:
        return download
    return os.environ.get(DOWNLOAD_ENV, "").lower() in ("1", "true", "yes")


def locally_available(source: str) -> str | None:
    """None if `source` can be loaded without a download, else why not (cheap: no torch import)."""
    if os.path.isdir(source):
        return None
    if os.path.isabs(source) or source.startswith((".", "~")):
        return f"{source} is not a directory"
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return "huggingface_hub is not installed (pip install 'manimatic[hf]')"
    hit = try_to_load_from_cache(source, "config.json")
    if isinstance(hit, str):
        return None
    return f"{source} is not in the local Hugging Face cache"


def default_embedder(download: bool | None = None) -> ImageEmbedder | None:
    """The study's CLIP ViT-L/14 embedder, or None when it cannot be loaded.

    Looks at `$MANIMATIC_CLIP_PATH` first (a local directory with the weights), then the hub id
    `openai/clip-vit-large-patch14` in the local cache. The outcome is cached; the reason for a
    None is logged once as a warning and kept for `default_embedder_reason()`.

    Args:
        download: Allow fetching the weights (~1.7 GB) from the hub when they are not cached
            (default: `MANIMATIC_DOWNLOAD_MODELS`).
    """
    if "embedder" in _default_cache:
        return _default_cache["embedder"]
    source = os.environ.get(CLIP_PATH_ENV) or CLIP_HUB_ID
    embedder: ImageEmbedder | None = None
    reason = None if downloads_allowed(download) else locally_available(source)
    if reason is None:
        try:
            embedder = ClipEmbedder.from_pretrained(source)
        except Exception as exc:  # any failure to load means "no embedder", never a crash
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            reason = f"cannot load {source!r} ({type(exc).__name__}: {first_line})"
    if reason is not None:
        hint = f"set {CLIP_PATH_ENV} to a local copy of {CLIP_HUB_ID}"
        reason = f"no CLIP image embedder: {reason}; {hint}"
        log.warning("%s; VS falls back to its SSIM term", reason)
        _default_cache["reason"] = reason
    _default_cache["embedder"] = embedder
    return embedder


def default_embedder_reason() -> str | None:
    """Why `default_embedder()` returned None (None if it was not tried or it loaded)."""
    return _default_cache.get("reason")
