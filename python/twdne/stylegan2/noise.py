"""Noise inputs per noise_mode, drawn per seed so that batching never changes an image."""

import numpy as np
import torch

from ..errors import RequestError

NOISE_MODES = ("const", "random", "none", "tf")


def check_noise_mode(noise_mode):
    if noise_mode not in NOISE_MODES:
        expected = f"expected one of {', '.join(NOISE_MODES)}"
        raise RequestError(f"noise_mode: {expected}, received {noise_mode!r}")
    return noise_mode


def noise_inputs(noise_mode, seeds, layers, z_dim, device):
    """One unscaled noise image per synthesis layer, in forward order.

    const: each layer's noise_const buffer. none: no noise. random: torch.manual_seed(seed)
    then torch.randn([1,1,res,res]) per layer, as the official generate.py under a seeded torch,
    but from a generator of its own per seed. tf: NVlabs/stylegan2 run_generator.py, where
    RandomState(seed) draws z and then, from the same stream, noise0..noiseL in layer order.
    """
    check_noise_mode(noise_mode)
    if noise_mode == "const":
        return [layer.noise_const for layer in layers]
    if noise_mode == "none":
        return [None for _ in layers]
    per_seed = [draws_for_seed(noise_mode, int(seed), layers, z_dim) for seed in seeds]
    return [torch.cat(column).to(device) for column in zip(*per_seed)]  # [N,1,res,res] each


def draws_for_seed(noise_mode, seed, layers, z_dim):
    """The [1,1,res,res] float32 noise images of one seed, in layer order."""
    sizes = [[1, 1, layer.resolution, layer.resolution] for layer in layers]
    if noise_mode == "random":
        generator = torch.Generator().manual_seed(seed)
        return [torch.randn(size, generator=generator) for size in sizes]
    rnd = np.random.RandomState(seed)
    rnd.randn(1, z_dim)  # z comes first from the same stream (twdne.seeds draws it again)
    return [torch.from_numpy(rnd.randn(*size).astype(np.float32)) for size in sizes]
