"""The generator's low-level ops in plain torch: bias_act, upfirdn2d, conv2d_resample, modconv."""

import math

import torch
import torch.nn.functional as F

# activation -> (function, default gain); lrelu keeps unit variance with gain sqrt(2).
ACTIVATIONS = {
    "linear": (lambda x: x, 1.0),
    "relu": (F.relu, math.sqrt(2)),
    "lrelu": (lambda x: F.leaky_relu(x, 0.2), math.sqrt(2)),
}


def bias_act(x, b=None, act="linear", gain=None, clamp=None):
    """Adds the bias along dim 1, applies `act`, scales by `gain`, then clamps to +-clamp."""
    func, default_gain = ACTIVATIONS[act]
    gain = default_gain if gain is None else float(gain)
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.ndim - 2))
    x = func(x)
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def setup_filter(taps):
    """A normalised 2-D FIR filter [fh, fw] from 1-D taps, as the networks store it."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    if f.ndim == 1:
        f = f.ger(f)
    return f / f.sum()


def upfirdn2d(x, f, up=1, down=1, padding=(0, 0, 0, 0), gain=1):
    """Zero-insert upsample, pad (negative crops), convolve with `f`, keep every `down`th pixel.

    `padding` is (x0, x1, y0, y1) in upsampled pixels; the filter is applied as a convolution
    (flipped), with its 2-D gain scaled by `gain`.
    """
    n, c, h, w = x.shape
    px0, px1, py0, py1 = padding

    # Upsample by inserting zeros after each pixel.
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)  # [N,C,H*up,W*up]

    # Pad, then crop where the padding is negative.
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]

    # Depthwise convolution with the flipped filter.
    f = (f * (gain ** (f.ndim / 2))).to(x.dtype).flip([0, 1])
    weight = f[None, None].repeat(c, 1, 1, 1)  # [C,1,fh,fw]
    x = F.conv2d(x, weight, groups=c)
    return x[:, :, ::down, ::down]


def upsample2d(x, f, up=2):
    """Upsamples by `up` with the FIR filter, keeping the signal's magnitude."""
    fh, fw = f.shape
    padding = ((fw + up - 1) // 2, (fw - up) // 2, (fh + up - 1) // 2, (fh - up) // 2)
    return upfirdn2d(x, f, up=up, padding=padding, gain=up * up)


def conv2d_resample(x, w, f=None, up=1, padding=0, groups=1):
    """Correlation of x with w, optionally upsampled by `up` through the FIR filter `f`.

    The upsampling path is a strided transposed convolution followed by the filter, with the
    padding arithmetic of the official implementation, so results agree to float rounding.
    """
    if up == 1:
        return F.conv2d(x, w, padding=padding, groups=groups)
    out_channels, in_per_group, kh, kw = w.shape
    fh, fw = f.shape
    px0 = padding + (fw + up - 1) // 2 - (kw - 1)
    px1 = padding + (fw - up) // 2 - (kw - up)
    py0 = padding + (fh + up - 1) // 2 - (kh - 1)
    py1 = padding + (fh - up) // 2 - (kh - up)
    pxt, pyt = max(min(-px0, -px1), 0), max(min(-py0, -py1), 0)

    # A transposed convolution wants [in, out/groups, kh, kw] per group.
    w = w.reshape(groups, out_channels // groups, in_per_group, kh, kw).transpose(1, 2)
    w = w.reshape(groups * in_per_group, out_channels // groups, kh, kw)
    x = F.conv_transpose2d(x, w, stride=up, padding=[pyt, pxt], groups=groups)
    pads = (px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt)
    return upfirdn2d(x, f, padding=pads, gain=up * up)


def modulated_conv2d(x, weight, styles, noise=None, up=1, padding=0, f=None, demodulate=True):
    """Style-modulated convolution; fused (one grouped conv) unless x is float16 and N > 1."""
    n = x.shape[0]
    _, in_channels, kh, kw = weight.shape

    # Keep float16 activations in range before modulation.
    if x.dtype == torch.float16 and demodulate:
        inf_norm = weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True)
        weight = weight * (1 / math.sqrt(in_channels * kh * kw) / inf_norm)  # [O,I,k,k]
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)  # [N,I]

    # Per-sample weights and demodulation coefficients.
    w = weight.unsqueeze(0) * styles.reshape(n, 1, -1, 1, 1)  # [N,O,I,k,k]
    dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt() if demodulate else None  # [N,O]
    fused = x.dtype == torch.float32 or n == 1

    # Unfused: scale activations before and after one shared-weight convolution.
    if not fused:
        x = x * styles.to(x.dtype).reshape(n, -1, 1, 1)
        x = conv2d_resample(x, weight.to(x.dtype), f=f, up=up, padding=padding)
        if demodulate:
            x = x * dcoefs.to(x.dtype).reshape(n, -1, 1, 1)
        if noise is not None:
            x = x + noise.to(x.dtype)
        return x

    # Fused: the batch becomes groups of one grouped convolution.
    if demodulate:
        w = w * dcoefs.reshape(n, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])  # [1,N*I,H,W]
    w = w.reshape(-1, in_channels, kh, kw)  # [N*O,I,k,k]
    x = conv2d_resample(x, w.to(x.dtype), f=f, up=up, padding=padding, groups=n)
    x = x.reshape(n, -1, *x.shape[2:])  # [N,O,H,W]
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x
