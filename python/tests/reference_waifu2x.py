"""An independent float64 NumPy waifu2x, written from the architecture alone, for the tests.

Nothing here calls torch or the twdne.waifu2x package: convolutions are sums of shifted
slices, the transposed convolution scatters each input pixel, and the CUNet weights are read
from the .bin by walking a hand-written list of its layers.
"""

import numpy as np


def conv2d(x, weight, bias=None, stride=1):
    """Unpadded cross-correlation. x [C, H, W], weight [O, C, k, k] -> [O, H', W']."""
    out_c, _, k, _ = weight.shape
    out_h = (x.shape[1] - k) // stride + 1
    out_w = (x.shape[2] - k) // stride + 1
    out = np.zeros((out_c, out_h, out_w))
    for ky in range(k):
        for kx in range(k):
            window = x[:, ky : ky + stride * out_h : stride, kx : kx + stride * out_w : stride]
            out += np.einsum("oc,chw->ohw", weight[:, :, ky, kx], window)
    if bias is not None:
        out += bias[:, None, None]
    return out


def conv_transpose2d(x, weight, bias=None, stride=2, crop=0):
    """Scatter form. x [C, H, W], weight [C, O, k, k]; `crop` pixels cut from every side."""
    _, out_c, k, _ = weight.shape
    h, w = x.shape[1:]
    full = np.zeros((out_c, (h - 1) * stride + k, (w - 1) * stride + k))
    for ky in range(k):
        for kx in range(k):
            contribution = np.einsum("co,chw->ohw", weight[:, :, ky, kx], x)
            full[:, ky : ky + stride * h : stride, kx : kx + stride * w : stride] += contribution
    if bias is not None:
        full += bias[:, None, None]
    return full[:, crop : full.shape[1] - crop, crop : full.shape[2] - crop]


def leaky(x, slope=0.1):
    return np.where(x > 0, x, x * slope)


def edge_pad(image, before, after=None):
    """[H, W, 3] uint8 -> [3, H', W'] float64 in [0, 1], edge-replicated."""
    after = before if after is None else after
    x = image.astype(np.float64).transpose(2, 0, 1) / 255
    return np.pad(x, ((0, 0), (before, after), (before, after)), mode="edge")


def to_uint8(y):
    return np.round(np.clip(y, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)


def upconv7(npz_path, image):
    """[H, W, 3] uint8 -> [2H, 2W, 3] uint8 through UpConv7 (pad 7, six convs, deconv)."""
    weights = np.load(npz_path)
    x = edge_pad(image, 7)
    for index in range(1, 7):
        w = weights[f"conv{index}/W"].astype(np.float64)
        b = weights[f"conv{index}/b"].astype(np.float64)
        x = leaky(conv2d(x, w, b))
    return to_uint8(conv_transpose2d(x, weights["conv7/W"].astype(np.float64), crop=3))
