"""Faster equivalents of the reference ops: polyphase up-sampling, batched modconv, in place.

Each function here computes what its counterpart in ops.py computes, up to float rounding; the
reference ops stay the definition (see set_conv_path in network.py and the fast-path tests).
"""

import math

import torch
import torch.nn.functional as F

from .derived import derived
from .ops import conv2d_resample as reference_conv2d_resample
from .ops import upsample2d as reference_upsample2d

CONV_PATHS = ("auto", "fused", "unfused")


def use_fused(x, weight, conv_path):
    """Fused (per-sample weights, grouped conv) when modulating the weights moves less data.

    Unfused scales the [N,I,H,W] input once and runs one shared-weight conv over the batch; fused
    builds [N,O,I,k,k] weights. float16 with N > 1 stays unfused, as the official rule has it.
    """
    n, in_channels, h, w = x.shape
    if conv_path != "auto":
        return conv_path == "fused"
    if n == 1:
        return True
    if x.dtype == torch.float16:
        return False
    return weight.numel() <= in_channels * h * w  # per-sample weights vs one input


def modulated_conv2d(x, weight, styles, up=1, padding=0, f=None, demodulate=True, gain=1.0,
                     conv_path="auto", owner=None):  # fmt: skip
    """Style-modulated conv scaled by `gain`; a fresh tensor the caller may change in place.

    `owner` (the layer) keeps the weight's derived tensors between calls in float32.
    """
    n = x.shape[0]
    out_channels, in_channels, kh, kw = weight.shape
    phases = up == 2 and polyphase_applies(weight, f, padding)

    # Keep float16 activations in range before modulation (as the reference op does).
    if x.dtype == torch.float16 and demodulate:
        inf_norm = weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True)
        weight = weight * (1 / math.sqrt(in_channels * kh * kw) / inf_norm)  # [O,I,k,k]
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)  # [N,I]
        owner = None

    # The conv kernel [O,P,I,kh,kw] (P=4 stride-2 phases) and the demodulation, per weight.
    def cached(name, compute):
        return compute() if owner is None else derived(owner, name, weight, compute)

    kernel = cached("kernel", lambda: phase_taps(weight) if phases else weight.unsqueeze(1))
    if demodulate:
        weight_sq = cached("weight_sq", lambda: weight.square().sum(dim=[2, 3]))  # [O,I]
        scale = (styles.square().matmul(weight_sq.t()) + 1e-8).rsqrt() * gain  # [N,O]
    else:
        scale = styles.new_full([n, out_channels], gain)  # [N,O]
    kh, kw = kernel.shape[-2:]

    def conv(x, w, groups):
        if phases:
            return fir_after_transposed(interleave(F.conv2d(x, w, padding=1, groups=groups)), f)
        if up == 1:
            return F.conv2d(x, w, padding=padding, groups=groups)
        return reference_conv2d_resample(x, w, f, up, padding, groups)

    # Unfused: scale activations, one conv with the shared weight, scale outputs.
    if not use_fused(x, weight, conv_path):
        x = x * styles.to(x.dtype).reshape(n, -1, 1, 1)  # [N,I,H,W]
        x = conv(x, kernel.reshape(-1, in_channels, kh, kw).to(x.dtype), 1)
        return x.mul_(scale.to(x.dtype).reshape(n, -1, 1, 1))  # [N,O,H',W']

    # Fused: per-sample kernels, the batch becomes the groups of one grouped conv.
    modulation = styles.reshape(n, 1, 1, -1, 1, 1) * scale.reshape(n, -1, 1, 1, 1, 1)
    w = kernel.unsqueeze(0) * modulation  # [N,O,P,I,kh,kw]
    x = x.reshape(1, -1, *x.shape[2:])  # [1,N*I,H,W]
    x = conv(x, w.reshape(-1, in_channels, kh, kw).to(x.dtype), n)
    return x.reshape(n, -1, *x.shape[2:])  # [N,O,H',W']


def polyphase_applies(w, f, padding):
    """The generator's up-convs: 3x3 kernel, 4x4 filter, up 2, padding 1."""
    return padding == 1 and tuple(w.shape[2:]) == (3, 3) and tuple(f.shape) == (4, 4)


def phase_taps(w):
    """[O,4,I,2,2]: conv_transpose2d(x, w^T, stride=2) as four 2x2 correlations (padding 1).

    Output pixel (2m+a, 2n+b) only sees kernel taps of parity (a, b): rows a=0 take taps 2,0
    over input rows m-1,m; rows a=1 take tap 1 over row m. Phase index is 2a+b.
    """
    taps = w.new_zeros([w.shape[0], 2, 2, w.shape[1], 2, 2])  # [O,a,b,I,2,2]
    taps[:, 0, 0] = w[:, :, ::2, ::2].flip([2, 3])  # even rows, even columns
    taps[:, 0, 1, :, :, 1] = w[:, :, ::2, 1].flip(2)  # even rows, odd columns
    taps[:, 1, 0, :, 1, :] = w[:, :, 1, ::2].flip(2)  # odd rows, even columns
    taps[:, 1, 1, :, 1, 1] = w[:, :, 1, 1]  # odd rows, odd columns
    return taps.reshape(w.shape[0], 4, w.shape[1], 2, 2)


def interleave(phases):
    """[N,O*4,H+1,W+1] phases -> the transposed conv [N,O,2H+1,2W+1] inside a zero border.

    The result is [N,O,2H+3,2W+3]: one zero row first, the 2H+1 transposed rows, and a last row
    that is zero because no input reaches it: exactly the padding the 4x4 filter wants.
    """
    n, c4, h1, w1 = phases.shape
    o = c4 // 4
    out = phases.new_empty([n, o, 2 * h1 + 1, 2 * w1 + 1])  # [N,O,2H+3,2W+3]
    out[:, :, 0].zero_()  # the rest is written below; a full zero fill would be a wasted pass
    out[:, :, :, 0].zero_()
    inner = out[:, :, 1:, 1:].unflatten(2, (h1, 2)).unflatten(4, (w1, 2))  # [N,O,H+1,a,W+1,b]
    inner.copy_(phases.reshape(n, o, 2, 2, h1, w1).permute(0, 1, 4, 2, 5, 3))
    return out


def conv2d_resample(x, w, f=None, up=1, padding=0, groups=1):
    """Correlation with w, or the reference's up=2 transposed conv + FIR, as plain convs."""
    if up == 1:
        return F.conv2d(x, w, padding=padding, groups=groups)
    if up != 2 or not polyphase_applies(w, f, padding):
        return reference_conv2d_resample(x, w, f, up, padding, groups)
    taps = phase_taps(w).reshape(-1, w.shape[1], 2, 2)  # [O*4,I,2,2]
    return fir_after_transposed(interleave(F.conv2d(x, taps, padding=1, groups=groups)), f)


def fir_after_transposed(x, f):
    """The reference 4x4 FIR (gain 4) over the padded transposed-conv output: one depthwise conv."""
    channels = x.shape[1]
    weight = (f * 4).to(x.dtype).flip([0, 1])[None, None].expand(channels, 1, -1, -1)
    return F.conv2d(x, weight, groups=channels)  # [N,C,2H,2W]


def upsample2d(x, f):
    """The reference upsample2d (up 2, 4x4 filter) as four 3x3 phase filters on the input.

    Output (2m+a, 2n+b) draws on input rows m-1..m+1 through the filter taps of parity (a, b),
    so no zero-inserted image is built.
    """
    if tuple(f.shape) != (4, 4):
        return reference_upsample2d(x, f)
    n, c, h, w = x.shape
    g = (f * 4).flip([0, 1])  # the reference correlates with the flipped filter, gain 4
    phases = torch.zeros([2, 2, 3, 3], dtype=x.dtype, device=x.device)
    for a in range(2):
        for b in range(2):
            phases[a, b, a : a + 2, b : b + 2] = g[a::2, b::2]  # taps of parity (a, b)
    y = F.conv2d(x.reshape(n * c, 1, h, w), phases.reshape(4, 1, 3, 3), padding=1)  # [N*C,4,H,W]
    return F.pixel_shuffle(y, 2).reshape(n, c, 2 * h, 2 * w)  # [N,C,2H,2W]


def bias_act_(x, b, act, clamp=None):
    """In place: x + b, the activation, then +-clamp (any gain already folded into x and b)."""
    x.add_(b.to(x.dtype).reshape([1, -1] + [1] * (x.ndim - 2)))
    if act == "lrelu":
        F.leaky_relu_(x, 0.2)
    elif act == "relu":
        x.relu_()
    if clamp is not None:
        x.clamp_(-clamp, clamp)
    return x


def modulated_torgb(x, weight, styles, conv_path="auto"):
    """The 1x1 modulated conv without demodulation as one batched matmul over the pixels."""
    n, in_channels, h, w = x.shape
    if (x.dtype == torch.float16 and n > 1) or conv_path == "unfused":
        x = x * styles.to(x.dtype).reshape(n, -1, 1, 1)  # [N,I,H,W]
        return F.conv2d(x, weight.to(x.dtype))
    w_n = weight.reshape(1, -1, in_channels) * styles.reshape(n, 1, -1)  # [N,O,I]
    y = torch.bmm(w_n.to(x.dtype), x.reshape(n, in_channels, h * w))  # [N,O,H*W]
    return y.reshape(n, -1, h, w)
