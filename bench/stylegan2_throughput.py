"""StyleGAN2 throughput: the batched sidecar path against the official one-image-per-call loop.

A 512px config-f-sized generator (z=w=512, 8 mapping layers, channel_base 32768, channel_max
512) with random weights, built from twdne's modules. Three paths run in the same process: the
sidecar's batched path; the official pattern, one G call per seed, with the official ops as the
official code runs them where its CUDA extensions are missing (twdne's "reference" conv path:
transposed conv, zero-stuffed FIR filters, grouped modulated conv); and the same one-call-per-
seed loop with twdne's faster ops, which isolates what batching alone buys. The machine's conv
FLOP/s is measured too, so every figure is a ratio:

    /usr/bin/python3 bench/stylegan2_throughput.py [--quick] [--batch N] [--images N] [--reps N]

All paths use the same torch thread count (--threads, default 2) and run interleaved, A B C A B
C, so a busy shared machine slows them alike; rates are medians. On CUDA the sizes grow.
"""

import argparse
import copy
import io
import statistics
import sys
import time
from pathlib import Path

import PIL.Image
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from twdne.models.stylegan2 import StyleGAN2Generator
from twdne.seeds import z_from_seed
from twdne.stylegan2 import Generator
from twdne.stylegan2.network import set_conv_path

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
CONFIG_F_512 = {
    "z_dim": 512,
    "c_dim": 0,
    "w_dim": 512,
    "img_resolution": 512,
    "img_channels": 3,
    "mapping_kwargs": {"num_layers": 8},
    "synthesis_kwargs": {
        "channel_base": 32768,
        "channel_max": 512,
        "num_fp16_res": 4,
        "conv_clamp": 256,
    },
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 images, 1 rep")
    parser.add_argument("--batch", type=int, default=0, help="batch size of the batched path")
    parser.add_argument("--images", type=int, default=0, help="images per side and rep")
    parser.add_argument("--reps", type=int, default=0, help="interleaved reps per side")
    parser.add_argument("--threads", type=int, default=2, help="torch threads on CPU, both sides")
    return parser.parse_args()


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def timed(fn):
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def random_generator():
    """Config-f weights at the scale training leaves them (unit normal, noise strength 0.1)."""
    G = Generator(**CONFIG_F_512).eval().requires_grad_(False)
    torch.manual_seed(0)
    for name, tensor in G.named_buffers():
        if name.endswith(("weight", "const", "noise_const")):
            tensor.normal_()
        elif name.endswith("affine.bias"):
            tensor.fill_(1)
        elif name.endswith("noise_strength"):
            tensor.fill_(0.1)
    return G.to(DEVICE)


def conv_flops_per_second():
    """FLOP/s of a large 512->512 3x3 conv2d, the shape that dominates the generator."""
    batch, size = (16, 64) if DEVICE == "cuda" else (2, 32)
    x = torch.randn(batch, 512, size, size, device=DEVICE)
    w = torch.randn(512, 512, 3, 3, device=DEVICE)
    F.conv2d(x, w, padding=1)
    seconds = min(timed(lambda: F.conv2d(x, w, padding=1)) for _ in range(3))
    return 2 * batch * 512 * 512 * 9 * size * size / seconds


def generator_flops(G):
    """FLOPs of one image: convolutions, FIR filters, affines and mapping, counted analytically."""
    flops = sum(2 * fc.weight.numel() for fc in G.mapping.modules() if hasattr(fc, "bias_gain"))
    for block in G.synthesis.blocks():
        res = block.resolution
        for layer in [*block.layers(), block.torgb]:
            out_channels, in_channels, k, _ = layer.weight.shape
            pixels = (res // getattr(layer, "up", 1)) ** 2  # an up-conv visits its input pixels
            flops += 2 * out_channels * in_channels * k * k * pixels  # the convolution
            flops += 2 * layer.affine.weight.numel()  # the style affine
            if getattr(layer, "up", 1) == 2:
                flops += 2 * 16 * out_channels * res * res  # 4x4 FIR after the transpose conv
        if block.in_channels:
            flops += 2 * 16 * 3 * res * res  # upsampling the skip image
    return flops


def save_png(pixels):
    """Encodes one [H,W,3] uint8 image as the site would store it."""
    PIL.Image.fromarray(pixels, "RGB").save(io.BytesIO(), format="png")


def per_image_loop(G, seeds, psi, fp16=False):
    """The official generate.py pattern: z per seed, one G call, convert, save."""
    layers = G.synthesis.noise_layers()
    for seed in seeds:
        z = torch.from_numpy(z_from_seed(seed, G.z_dim)).to(DEVICE)
        noises = [layer.noise_const for layer in layers]
        with torch.no_grad():
            img = G(z, None, noises, psi, fp16=fp16)  # [1,3,H,W]
        img = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)
        save_png(img[0].cpu().numpy())


def batched_path(model, seeds, batch, psi):
    """The sidecar path: FaceGenerator.images per batch of seeds, then the same save."""
    for start in range(0, len(seeds), batch):
        for pixels in model.images(seeds[start : start + batch], psi, {}):
            save_png(pixels)


def sizes(args):
    """(batch, images per rep, reps): small on a 2-core CPU, larger on CUDA."""
    if DEVICE == "cuda":
        batch, count, reps = 16, 64, 3
    elif args.quick:
        batch, count, reps = 2, 2, 1
    else:
        batch, count, reps = 4, 8, 3
    return args.batch or batch, args.images or max(count, args.batch), args.reps or reps


def main():
    args = parse_args()
    if DEVICE == "cpu":
        torch.set_num_threads(args.threads)
    batch, count, reps = sizes(args)
    torch.backends.cudnn.benchmark = DEVICE == "cuda"
    G = random_generator()
    model = StyleGAN2Generator.from_generator(G, DEVICE)
    where = torch.cuda.get_device_name() if DEVICE == "cuda" else "CPU"
    print(f"device {DEVICE} ({where}), threads {torch.get_num_threads()}, batch {batch}")
    print(f"network 512px config-f, {count_weights(G)} weights, fp16 {model.fp16}")

    official = set_conv_path(copy.deepcopy(G), "reference")
    paths = {
        "batched": lambda seeds: batched_path(model, seeds, batch, 0.7),
        "official": lambda seeds: per_image_loop(official, seeds, 0.7, model.fp16),
        "fast": lambda seeds: per_image_loop(G, seeds, 0.7, model.fp16),
    }
    rates = measure(paths, list(range(count)), batch, reps)
    report(rates, generator_flops(G), conv_flops_per_second(), batch, reps, model.fp16)


PATHS = {
    "batched": "batched images() path",
    "official": "one-image-per-call, official ops",
    "fast": "one-image-per-call, twdne ops",
}


def measure(paths, seeds, batch, reps):
    """{path: images/s}, the median over reps; warmed up once, then run A B C A B C."""
    for run in paths.values():
        run(seeds[:batch])
    times = {name: [] for name in paths}
    for rep in range(reps):
        for name, run in paths.items():
            times[name].append(timed(lambda run=run: run(seeds)))
        line = ", ".join(f"{PATHS[name]} {times[name][-1]:.2f} s" for name in paths)
        print(f"({rep + 1}/{reps}) {line}")
    return {name: len(seeds) / statistics.median(spent) for name, spent in times.items()}


def report(rates, flops, conv_rate, batch, reps, fp16):
    """Rates, the two ratios, and each path's share of the machine's conv throughput."""
    for name, rate in rates.items():
        print(f"{PATHS[name] + ':':36} {rate:.3f} images/s (median of {reps}, batch {batch})")
    print(f"ratio batched / per-image official ops: {rates['batched'] / rates['official']:.2f}x")
    print(f"ratio batched / per-image twdne ops:    {rates['batched'] / rates['fast']:.2f}x")
    print(f"generator: {flops / 1e9:.1f} GFLOP per image")
    print(f"conv2d reference: {conv_rate / 1e9:.1f} GFLOP/s")
    shares = {name: rate * flops / conv_rate for name, rate in rates.items()}
    line = ", ".join(f"{PATHS[name]} {share:.1%}" for name, share in shares.items())
    print(f"achieved share of conv2d FLOP/s: {line}")
    print(limits(shares["batched"], shares["fast"], fp16))


def count_weights(G):
    return sum(
        t.numel() for name, t in G.named_buffers() if name.endswith(("weight", "bias", "const"))
    )


def limits(batched_share, looped_share, fp16):
    """One line on what bounds the batched path, judged from the achieved conv fractions."""
    if DEVICE == "cpu":
        return (f"limit: with twdne's ops a batch and a single image run the same dense conv "
                f"GEMMs ({batched_share:.0%} vs {looped_share:.0%} of the reference conv); "
                "batching only saves the per-image weight modulation and small low-resolution "
                "layers, the rest is memory-bound FIR filters and epilogues over 512px "
                "activations")  # fmt: skip
    precision = "float16" if fp16 else "float32"
    return (f"limit: {precision} convolution on the GPU at {batched_share:.0%} of the reference "
            "conv; per-layer launches and FIR filters are the rest")  # fmt: skip


if __name__ == "__main__":
    main()
