"""waifu2x throughput: output megapixels/s, the fraction of measured conv FLOP/s, tiling overhead.

Runs on CUDA when torch sees it, else on the CPU; every figure is a ratio against a reference
measured in the same run (a large plain conv2d, and the same image untiled):

    /usr/bin/python3 bench/waifu2x_throughput.py
"""

import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from twdne.models.waifu2x import DEFAULT_TILE
from twdne.waifu2x.cunet import load_cunet
from twdne.waifu2x.tiling import upscale_tiled
from twdne.waifu2x.upconv7 import CHANNELS, load_upconv7

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models" / "waifu2x"
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
# Images just over one default tile, so the tiled run cuts 2x2 tiles; bigger where it is fast
SIZE = 2048 if DEVICE == "cuda" else DEFAULT_TILE + 8
REPEATS = 3 if DEVICE == "cuda" else 1


def seconds(fn):
    """Best wall time of REPEATS calls after one warm-up, synchronized around the device."""
    fn()
    best = float("inf")
    for _ in range(REPEATS):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def conv_flops_per_second():
    """FLOP/s of one large 256->256 3x3 conv, the shape that dominates waifu2x's work."""
    size = 128 if DEVICE == "cuda" else 64
    batch = 16 if DEVICE == "cuda" else 1
    x = torch.randn(batch, 256, size, size, device=DEVICE)  # [N,256,H,W]
    w = torch.randn(256, 256, 3, 3, device=DEVICE)
    flops = 2 * 256 * 256 * 9 * batch * (size - 2) ** 2
    with torch.no_grad():
        return flops / seconds(lambda: F.conv2d(x, w))


def upconv7_flops_per_output_pixel():
    """Multiply-adds x2 per output pixel, ignoring the 7-pixel context (the tiling cost)."""
    convs = sum(2 * 9 * cin * cout for cin, cout in zip(CHANNELS, CHANNELS[1:]))  # per input px
    deconv = 2 * 256 * 3 * 4  # per output pixel: 16 taps per input pixel spread over 4 outputs
    return convs / 4 + deconv


def measure(name, net, flops_per_pixel, reference_flops):
    """Prints megapixels/s, the fraction of conv FLOP/s, and tiled vs untiled time."""
    x = torch.rand(3, SIZE, SIZE, device=DEVICE)  # [3,H,W]
    with torch.no_grad():
        untiled = seconds(lambda: upscale_tiled(net, x, tile=SIZE, batch=1))
        tiled = seconds(lambda: upscale_tiled(net, x, tile=DEFAULT_TILE, batch=4))
    pixels = (2 * SIZE) ** 2
    rate = pixels / untiled
    print(f"{name}: {SIZE}x{SIZE} -> {2 * SIZE}x{2 * SIZE} on {DEVICE}")
    print(f"  untiled {untiled:.2f}s = {rate / 1e6:.3f} output MP/s")
    print(
        f"  {flops_per_pixel / 1e3:.0f} kFLOP per output pixel -> {rate * flops_per_pixel / 1e9:.1f} GFLOP/s"
    )
    print(f"  fraction of measured conv FLOP/s: {rate * flops_per_pixel / reference_flops:.2f}")
    print(f"  tiled at tile {DEFAULT_TILE}: {tiled:.2f}s, tiled/untiled = {tiled / untiled:.2f}")


def main():
    torch.manual_seed(0)
    reference = conv_flops_per_second()
    print(f"reference conv2d 256->256 3x3 on {DEVICE}: {reference / 1e9:.1f} GFLOP/s")
    upconv7 = load_upconv7(MODELS / "upconv7" / "anime_style_noise1_scale_rgb.npz").to(DEVICE)
    measure("UpConv7", upconv7, upconv7_flops_per_output_pixel(), reference)
    cunet = load_cunet(MODELS / "cunet" / "noise1_scale2.0x_model.param").to(DEVICE)
    measure("CUNet", cunet, cunet.flops(4 * DEFAULT_TILE) / (8 * DEFAULT_TILE) ** 2, reference)


if __name__ == "__main__":
    main()
