"""Runs a 2x waifu2x net over overlapping tiles, so any image size fits a memory budget.

Each tile is cut from the replicate-padded image with `net.pad` pixels of context on every
side, which is exactly what the net eats, and every tile origin is a multiple of
`net.multiple`, so strided layers see the same pixel grid as an untiled run: a tile's output
equals the untiled output at those pixels. Global pooling (CUNet's squeeze-and-excitation
blocks) is taken over the whole image, see image_pools.py.
"""

import torch
import torch.nn.functional as F

from .image_pools import run_with_image_pools


def upscale_tiled(net, x, tile, batch=4):
    """[3, H, W] float in [0, 1] -> [3, s*H, s*W] float (unclamped), s = net.scale.

    Tiles are at most `tile` input pixels a side (then rounded up to `net.multiple`), all of
    one shape, and run `batch` at a time; the last row and column may reach past the image
    into replicated edge pixels.
    """
    _, height, width = x.shape
    s, pad, multiple = net.scale, net.pad, net.multiple
    tile_h, tile_w = fit(height, tile, multiple), fit(width, tile, multiple)
    rows, cols = list(range(0, height, tile_h)), list(range(0, width, tile_w))
    cover_h, cover_w = rows[-1] + tile_h, cols[-1] + tile_w

    # Replicate-pad once: the context of border tiles, and the rows and columns the last
    # tiles reach past the image
    padded = F.pad(
        x[None], (pad, pad + cover_w - width, pad, pad + cover_h - height), mode="replicate"
    )[0]
    corners = [(y, x0) for y in rows for x0 in cols]
    batches = []
    for first in range(0, len(corners), batch):
        group = corners[first : first + batch]
        crops = [padded[:, y : y + tile_h + 2 * pad, x0 : x0 + tile_w + 2 * pad] for y, x0 in group]
        batches.append((torch.stack(crops), group))

    # Run the batches (pooling over the image that an untiled run would see), place the tiles
    if hasattr(net, "global_pools") and net.global_pools():
        whole = (round_up(height, multiple), round_up(width, multiple))
        results = run_with_image_pools(net, batches, rows, cols, (tile_h, tile_w), whole)
    else:
        results = (net(tensor) for tensor, _ in batches)
    out = x.new_empty(3, s * cover_h, s * cover_w)  # [3, sH', sW']
    for (_, group), result in zip(batches, results):  # result [B, 3, s*tile_h, s*tile_w]
        for (y, x0), piece in zip(group, result):
            out[:, s * y : s * (y + tile_h), s * x0 : s * (x0 + tile_w)] = piece
    return out[:, : s * height, : s * width]


def fit(size, tile, multiple):
    """The tile side for an image side: the fewest tiles of at most `tile` pixels, shared
    evenly (so 320 pixels at tile 256 are two tiles of 160, not two of 256), as a multiple."""
    count = -(-size // tile)
    return round_up(-(-size // count), multiple)


def round_up(size, multiple):
    return -(-size // multiple) * multiple
