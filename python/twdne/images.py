"""Image I/O for the sidecar: uint8 arrays to lossless PNG and back."""

import numpy as np
from PIL import Image


def write_png(array, path):
    """Writes an [H, W, 3] uint8 array as PNG at `path` (a temporary name the caller renames)."""
    Image.fromarray(np.ascontiguousarray(array), "RGB").save(path, format="PNG", compress_level=6)


def read_rgb(path):
    """[H, W, 3] uint8 RGB of an image file; raises with the path when it cannot be decoded."""
    with Image.open(path) as image:
        image.load()
        return np.asarray(image.convert("RGB"))


def to_uint8(images):
    """Converts [N, 3, H, W] generator output in [-1, 1] to [N, H, W, 3] uint8, as the official code."""
    import torch

    return (images.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy()
