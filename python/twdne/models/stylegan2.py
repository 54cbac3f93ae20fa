"""Official StyleGAN2 networks (ada-pytorch, stylegan3's stylegan2, TF) as a sidecar face model."""

import numpy as np
import torch

from ..errors import ModelFileError, RequestError
from ..images import to_uint8
from ..seeds import z_from_seeds
from ..stylegan2 import load_network, noise_inputs
from ..stylegan2.load_network import network_info
from ..stylegan2.noise import check_noise_mode
from .base import FaceGenerator

# Clamp applied by the official force-fp16 conversion, so float16 activations cannot overflow.
FORCED_FP16_CLAMP = 256
FORCED_FP16_RES = 4


class StyleGAN2Generator(FaceGenerator):
    """Seeds -> faces, seed for seed as the official generate.py / run_generator.py.

    options (--options JSON): "fp16" true/false forces float16 top resolutions on or off on
    CUDA (default: as the network's num_fp16_res says; CPU always runs float32),
    "truncation_cutoff" (int) truncates only the first ws rows.
    params: "noise_mode" const|random|none|tf (default const), "class" (int, conditional nets).
    """

    kind = "stylegan2"

    def __init__(self, path, device="cpu", options=None):
        super().__init__(path, device, options)
        self.setup(*load_network(self.path))

    @classmethod
    def from_generator(cls, G, device="cpu", options=None):
        """Serves an in-memory Generator (benchmarks, tests) through the same batch path."""
        model = cls.__new__(cls)
        FaceGenerator.__init__(model, "<in-memory>", device, options)
        model.setup(G, {"format": "in-memory", **network_info(G)})
        return model

    def setup(self, G, network):
        self.G, self.network = G, network
        self.truncation_cutoff = self.option_int("truncation_cutoff")
        self.fp16 = self.choose_fp16()
        self.G = self.G.to(self.device)

    def info(self):
        return {**super().info(), **self.network, "fp16_active": self.fp16, "uses_psi": True}

    def option_int(self, name):
        value = self.options.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ModelFileError(self.path, f"options.{name} as an integer", repr(value))
        return value

    def choose_fp16(self):
        """float16 only on CUDA: when asked by the fp16 option, else when the network asks."""
        wanted = self.options.get("fp16")
        if wanted is not None and not isinstance(wanted, bool):
            raise ModelFileError(self.path, "options.fp16 as true or false", repr(wanted))
        if torch.device(self.device).type != "cuda" or wanted is False:
            return False
        if wanted and not self.network["fp16_resolutions"]:
            force_fp16(self.G)
        return any(block.use_fp16 for block in self.G.synthesis.blocks())

    @torch.no_grad()
    def images(self, seeds, psi, params):
        img, _ = self.generate(seeds, psi, params.get("noise_mode", "const"), params.get("class"))
        return to_uint8(img)

    @torch.no_grad()
    def generate(self, seeds, psi, noise_mode="const", class_idx=None):
        """(img [N,3,H,W] float32 in about [-1,1], ws [N,num_ws,w_dim]) in one forward pass."""
        G, device = self.G, self.device
        check_noise_mode(noise_mode)
        psi = 1.0 if psi is None else check_psi(psi)
        z = torch.from_numpy(z_from_seeds(seeds, G.z_dim)).to(device)  # [N,z_dim] float64
        c = self.labels(len(seeds), class_idx)
        ws = G.mapping(z, c, psi, self.truncation_cutoff)  # [N,num_ws,w_dim]
        noises = noise_inputs(noise_mode, seeds, G.synthesis.noise_layers(), G.z_dim, device)
        img = G.synthesis(ws, noises, fp16=self.fp16)
        return img, ws

    def labels(self, count, class_idx):
        """One-hot c [N,c_dim]; a conditional network needs a class in range."""
        c_dim = self.G.c_dim
        c = torch.zeros([count, c_dim], device=self.device)
        if c_dim == 0:
            return c
        valid = isinstance(class_idx, int) and not isinstance(class_idx, bool)
        if not valid or not 0 <= class_idx < c_dim:
            expected = f"an integer class in 0..{c_dim - 1} for this conditional network"
            raise RequestError(f"class: expected {expected}, received {class_idx!r}")
        c[:, class_idx] = 1
        return c


def check_psi(psi):
    if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not np.isfinite(psi):
        raise RequestError(f"psi: expected a finite number, received {psi!r}")
    return float(psi)


def force_fp16(G):
    """The official force-fp16 conversion: the top 4 resolutions in float16, clamped at 256."""
    log2 = int(np.log2(G.img_resolution))
    fp16_resolution = max(2 ** (log2 + 1 - FORCED_FP16_RES), 8)
    for block in G.synthesis.blocks():
        block.use_fp16 = block.resolution >= fp16_resolution
        for layer in [*block.layers(), block.torgb]:
            if layer.conv_clamp is None:
                layer.conv_clamp = FORCED_FP16_CLAMP
