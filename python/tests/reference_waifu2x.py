"""An independent float64 NumPy waifu2x, written from the architecture alone, for the tests.

Nothing here calls torch or the twdne.waifu2x package: convolutions are sums of shifted
slices, the transposed convolution scatters each input pixel, and the CUNet weights are read
from the .bin by walking a hand-written list of its layers.
"""

from pathlib import Path

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


# CUNet's weighted layers in .bin order: (kind, in, out, kernel); every one has a bias
CUNET_LAYERS = [
    # unet1: two convs, a stride-2 level with squeeze-and-excitation, up to 2x
    ("conv", 3, 32, 3),
    ("conv", 32, 64, 3),
    ("conv", 64, 64, 2),
    ("conv", 64, 128, 3),
    ("conv", 128, 64, 3),
    ("fc", 64, 8, 1),
    ("fc", 8, 64, 1),
    ("deconv", 64, 64, 2),
    ("conv", 64, 64, 3),
    ("deconv", 64, 3, 4),
    # unet2: two stride-2 levels, each with squeeze-and-excitation
    ("conv", 3, 32, 3),
    ("conv", 32, 64, 3),
    ("conv", 64, 64, 2),
    ("conv", 64, 64, 3),
    ("conv", 64, 128, 3),
    ("fc", 128, 16, 1),
    ("fc", 16, 128, 1),
    ("conv", 128, 128, 2),
    ("conv", 128, 256, 3),
    ("conv", 256, 128, 3),
    ("fc", 128, 16, 1),
    ("fc", 16, 128, 1),
    ("deconv", 128, 128, 2),
    ("conv", 128, 64, 3),
    ("conv", 64, 64, 3),
    ("fc", 64, 8, 1),
    ("fc", 8, 64, 1),
    ("deconv", 64, 64, 2),
    ("conv", 64, 64, 3),
    ("conv", 64, 3, 3),
]


def read_cunet_bin(path):
    """[(weight, bias)] per CUNET_LAYERS entry: a tagged float16/32 weight, then float32 bias."""
    data, offset, layers = Path(path).read_bytes(), 0, []
    for kind, cin, cout, k in CUNET_LAYERS:
        tag, count = data[offset : offset + 4].hex(), cin * cout * k * k
        assert tag in ("476b3001", "00000000"), f"a float16 or float32 tag, not {tag}"
        dtype = np.float16 if tag == "476b3001" else np.float32
        weight = np.frombuffer(data, dtype, count, offset + 4).astype(np.float64)
        offset += 4 + (dtype().itemsize * count + 3) // 4 * 4
        bias = np.frombuffer(data, np.float32, cout, offset).astype(np.float64)
        offset += 4 * cout
        # ncnn stores every kind output-major; the scatter form wants [in, out, k, k]
        shape = (cout, cin, k, k) if kind != "fc" else (cout, cin)
        weight = weight.reshape(shape)
        layers.append((weight.transpose(1, 0, 2, 3) if kind == "deconv" else weight, bias))
    assert offset == len(data), "the whole file was read"
    return layers


def squeeze_excite(x, fc1, fc2):
    """Scales each channel by sigmoid(fc2(relu(fc1(mean over the image))))."""
    hidden = np.maximum(fc1[0] @ x.mean((1, 2)) + fc1[1], 0)
    gate = 1 / (1 + np.exp(-(fc2[0] @ hidden + fc2[1])))
    return x * gate[:, None, None]


def cut(x, c):
    return x[:, c : x.shape[1] - c, c : x.shape[2] - c]


def cunet(bin_path, image):
    """[H, W, 3] uint8 (even sides) -> [2H, 2W, 3] uint8 through CUNet (edge pad 18)."""
    w = iter(read_cunet_bin(bin_path))

    def conv(x, stride=1):
        return leaky(conv2d(x, *next(w), stride=stride))

    # unet1 -> 2x
    x = edge_pad(image, 18)
    x1 = conv(conv(x))
    x2 = conv(conv(conv(x1, stride=2)))
    x2 = squeeze_excite(x2, next(w), next(w))
    x2 = leaky(conv_transpose2d(x2, *next(w), stride=2))
    x = conv(cut(x1, 4) + x2)
    z = conv_transpose2d(x, *next(w), stride=2, crop=3)
    # unet2, a residual on top of unet1's output
    x1 = conv(conv(z))
    x2 = conv(conv(conv(x1, stride=2)))
    x2 = squeeze_excite(x2, next(w), next(w))
    x3 = conv(conv(conv(x2, stride=2)))
    x3 = squeeze_excite(x3, next(w), next(w))
    x3 = leaky(conv_transpose2d(x3, *next(w), stride=2))
    x2 = conv(conv(cut(x2, 4) + x3))
    x2 = squeeze_excite(x2, next(w), next(w))
    x2 = leaky(conv_transpose2d(x2, *next(w), stride=2))
    x1 = conv(cut(x1, 16) + x2)
    out = conv2d(x1, *next(w))
    return to_uint8(cut(z, 20) + out)
