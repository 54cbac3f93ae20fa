"""Runs a 2x waifu2x net over overlapping tiles, so any image size fits a memory budget.

Each tile is cut from the replicate-padded image with `net.pad` pixels of context on every
side, which is exactly what the net eats, so a tile's output equals the untiled output at
those pixels (for nets whose every layer is local; CUNet's squeeze-and-excitation blocks pool
over the whole tile and are the one exception, a small one).
"""

import torch
import torch.nn.functional as F


def upscale_tiled(net, x, tile, batch=4):
    """[3, H, W] float in [0, 1] -> [3, s*H, s*W] float (unclamped), s = net.scale.

    Tiles are at most `tile` input pixels a side (then rounded up to `net.multiple`); the
    last row and column of tiles end at the image edge, so every tile has one shape and
    tiles run `batch` at a time.
    """
    _, height, width = x.shape
    s, pad = net.scale, net.pad
    tile_h, tile_w = fit(height, tile, net.multiple), fit(width, tile, net.multiple)

    # Replicate-pad once: the context of border tiles, plus rows and columns that round
    # an image smaller than one tile up to the tile shape
    extra_h, extra_w = max(0, tile_h - height), max(0, tile_w - width)
    padded = F.pad(x[None], (pad, pad + extra_w, pad, pad + extra_h), mode="replicate")[0]

    # Cut, run and place the tiles, a batch at a time
    out = x.new_empty(3, s * (height + extra_h), s * (width + extra_w))  # [3, sH', sW']
    corners = [(y, x0) for y in starts(height, tile_h) for x0 in starts(width, tile_w)]
    for first in range(0, len(corners), batch):
        group = corners[first : first + batch]
        crops = [padded[:, y : y + tile_h + 2 * pad, x0 : x0 + tile_w + 2 * pad] for y, x0 in group]
        result = net(torch.stack(crops))  # [B, 3, s*tile_h, s*tile_w]
        for (y, x0), piece in zip(group, result):
            out[:, s * y : s * (y + tile_h), s * x0 : s * (x0 + tile_w)] = piece
    return out[:, : s * height, : s * width]


def fit(size, tile, multiple):
    """The tile side for an image side: the fewest tiles of at most `tile` pixels, shared
    evenly (so 320 pixels at tile 256 are two tiles of 160, not two of 256), as a multiple."""
    count = -(-size // tile)
    side = -(-size // count)
    return -(-side // multiple) * multiple


def starts(size, tile):
    """Tile origins covering 0..size: every `tile` pixels, the last one flush with the edge."""
    if tile >= size:
        return [0]
    return list(range(0, size - tile, tile)) + [size - tile]
