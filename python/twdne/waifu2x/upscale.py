"""uint8 image -> upscaled uint8 image with a waifu2x net: scale 2 or 4, tiles, OOM retry."""

import numpy as np
import torch

from ..errors import OutOfMemory, is_out_of_memory
from ..protocol import log
from .tiling import upscale_tiled

SCALES = (2, 4)


@torch.no_grad()
def upscale_image(net, image, scale=2, tile=256, batch=4, min_tile=16, device="cpu"):
    """[H, W, 3] uint8 -> [scale*H, scale*W, 3] uint8; scale 4 runs the 2x net twice.

    Between the two passes the image is rounded to uint8, so scale 4 equals upscaling the
    scale-2 output file again.
    """
    for _ in range(SCALES.index(scale) + 1):
        image = upscale_once(net, image, tile, batch, min_tile, device)
    return image


def upscale_once(net, image, tile, batch, min_tile, device):
    """One 2x pass; an out-of-memory answer halves the tile and retries, down to `min_tile`."""
    x = torch.from_numpy(np.array(image, dtype=np.uint8)).to(device)  # a writable copy
    x = x.permute(2, 0, 1).float() / 255  # [3, H, W]
    tile = min(tile, max(x.shape[1:]))  # so the first halving shrinks what really ran
    while True:
        try:
            y = upscale_tiled(net, x, tile, batch)  # [3, 2H, 2W]
            return to_uint8(y)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            release_memory(device)
            if tile <= min_tile:
                raise OutOfMemory(f"out of memory even at tile {tile} (floor {min_tile})") from exc
            log(f"out of memory at tile {tile}; retrying at tile {max(min_tile, tile // 2)}")
            tile = max(min_tile, tile // 2)


def to_uint8(y):
    """[3, H, W] float -> [H, W, 3] uint8, rounded and clamped."""
    y = (y.clamp(0, 1) * 255).round().to(torch.uint8)
    return y.permute(1, 2, 0).cpu().numpy()


def release_memory(device):
    if str(device).startswith("cuda"):
        torch.cuda.empty_cache()
