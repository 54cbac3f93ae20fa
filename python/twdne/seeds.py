"""Seed -> latent exactly as the official StyleGAN scripts draw it."""

import numpy as np


def z_from_seed(seed, z_dim):
    """One latent per seed, `RandomState(seed).randn(1, z_dim)`, so batching never changes it."""
    return np.random.RandomState(seed).randn(1, z_dim)


def z_from_seeds(seeds, z_dim):
    """[N, z_dim] float64 latents, row i drawn from seeds[i] alone."""
    return np.concatenate([z_from_seed(int(s), z_dim) for s in seeds], axis=0)
