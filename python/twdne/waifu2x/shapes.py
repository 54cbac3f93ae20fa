"""Walks an ncnn graph's spatial sizes to find a net's scale, padding and tile multiple."""

from dataclasses import dataclass

from ..errors import ModelFileError


@dataclass
class Walk:
    valid: bool  # every strided layer divides evenly and every crop fits
    side: int  # output side for a square input side
    flops: int  # multiply-adds x2 of the convolutions and inner products
    blobs: dict  # blob name -> (side or None for a vector, channels)


def walk(layers, n):
    """The Walk of a square n x n input through the graph."""
    blobs, flops = {}, 0
    for layer in layers:
        sides = [blobs[b] for b in layer.bottoms]  # (side or None for a vector, channels)
        out, cost = step(layer, sides, n)
        if out is None:
            return Walk(False, 0, flops, blobs)
        flops += cost
        blobs.update((top, out) for top in layer.tops)
    last = layers[-1].tops[0]
    return Walk(True, blobs[last][0], flops, blobs)


def step(layer, sides, n):
    """((side, channels), flops) of one layer's output, or (None, 0) when it does not fit."""
    p = layer.params
    if layer.type == "Input":
        return (n, p.get(2, 3)), 0
    side, channels = sides[0]
    if layer.type in ("Convolution", "Deconvolution"):
        k, s, d = p[1], p.get(3, 1), p.get(2, 1)
        extent, cout = d * (k - 1) + 1, p[0]
        cin = p.get(6, 0) // (cout * k * k)
        pads = p.get(4, 0) + p.get(15, p.get(4, 0))
        if layer.type == "Deconvolution":
            out = (side - 1) * s + extent - pads
            return ((out, cout), 2 * cin * cout * k * k * side * side) if out > 0 else (None, 0)
        span = side + pads - extent
        if span < 0 or span % s:
            return None, 0
        out = span // s + 1
        return (out, cout), 2 * cin * cout * k * k * out * out
    if layer.type == "Pooling":
        if p.get(4, 0):
            return (None, channels), 0
        span = side - p.get(1, 0)
        return (
            ((span // p.get(2, 1) + 1, channels), 0)
            if span >= 0 and not span % p.get(2, 1)
            else (None, 0)
        )
    if layer.type == "InnerProduct":
        cin = p.get(2, 0) // p[0]
        return (None, p[0]), 2 * cin * p[0]
    if layer.type == "Crop":
        offset = max(p.get(0, 0), p.get(1, 0))
        target = sides[1][0] if len(sides) > 1 else p.get(3, side - offset)
        return ((target, channels), 0) if offset + target <= side else (None, 0)
    if layer.type in ("Eltwise", "BinaryOp") and len(sides) > 1:
        spatial = {s for s, _ in sides if s is not None}
        return ((side, channels), 0) if len(spatial) <= 1 else (None, 0)
    if layer.type == "Concat":
        return (side, sum(c for _, c in sides)), 0
    return (side, channels), 0


def geometry(path, layers):
    """(scale, pad, multiple): output = scale * (input - 2 * pad) for inputs of
    (a multiple of `multiple`) + 2 * pad pixels."""
    valid = [n for n in range(16, 400) if walk(layers, n).valid]
    small = next((n for n in valid if n >= 64), None)
    large = next((n for n in valid if n >= 2 * small), None) if small else None
    if large is None:
        raise ModelFileError(path, "a graph that takes square inputs", "no input size that fits")
    out_small, out_large = walk(layers, small).side, walk(layers, large).side
    scale = (out_large - out_small) // (large - small)
    lost = scale * small - out_small  # output pixels eaten, both sides together
    if scale < 1 or lost % (2 * scale):
        raise ModelFileError(
            path, "a net that eats a whole number of input pixels a side", f"{lost} output pixels"
        )
    pad = lost // (2 * scale)
    for multiple in (1, 2, 4, 8, 16, 32):
        sizes = [multiple * k for k in range(1, 9)]
        walks = [walk(layers, t + 2 * pad) for t in sizes]
        if all(w.valid and w.side == scale * t for w, t in zip(walks, sizes)):
            return scale, pad, multiple
    raise ModelFileError(
        path, "a net whose tiles may be a multiple of up to 32 pixels", "none that fits"
    )
