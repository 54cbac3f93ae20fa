"""StyleGAN2 networks in plain PyTorch, loaded from official pickles without running their code."""

from .load_network import load_network
from .network import Generator
from .noise import NOISE_MODES, noise_inputs

__all__ = ["NOISE_MODES", "Generator", "load_network", "noise_inputs"]
