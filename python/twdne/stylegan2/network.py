"""The StyleGAN2 generator (mapping + skip synthesis) as plain torch modules, weights as buffers."""

import math

import numpy as np
import torch

from . import fast_ops
from .derived import derived
from .ops import bias_act, modulated_conv2d, setup_filter, upsample2d

# "reference" runs the ops of ops.py as written; the others pick fast_ops' modconv strategy.
CONV_PATHS = ("reference",) + fast_ops.CONV_PATHS

# Activation values per slice of a batch on a CPU (see SynthesisNetwork.chunk_size): 16 MB.
CPU_CHUNK_ELEMENTS = 2**22


def normalize_2nd_moment(x, eps=1e-8):
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class FullyConnected(torch.nn.Module):
    """Dense layer with equalized learning rate: weights scaled by lr_multiplier / sqrt(in)."""

    def __init__(self, in_features, out_features, activation="linear", lr_multiplier=1.0):
        super().__init__()
        self.activation = activation
        self.register_buffer("weight", torch.zeros(out_features, in_features))  # [O,I]
        self.register_buffer("bias", torch.zeros(out_features))  # [O]
        self.weight_gain = lr_multiplier / np.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x):
        w = derived(self, "weight", self.weight, lambda: self.weight * self.weight_gain)  # [O,I]
        b = derived(self, "bias", self.bias, lambda: self.bias * self.bias_gain)  # [O]
        w, b = w.to(x.dtype), b.to(x.dtype)
        if self.activation == "linear":
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)


class MappingNetwork(torch.nn.Module):
    """z (and one-hot c) -> w, broadcast to num_ws rows, truncated toward w_avg."""

    def __init__(
        self,
        z_dim,  # Latent size; the official scripts draw z from RandomState(seed).
        c_dim,  # Label size, 0 for unconditional networks.
        w_dim,  # Intermediate latent size.
        num_ws,  # Rows of ws the synthesis network consumes.
        num_layers=8,  # Dense layers after the input.
        embed_features=None,  # Label embedding size, None = w_dim.
        layer_features=None,  # Hidden size, None = w_dim.
        activation="lrelu",
        lr_multiplier=0.01,
    ):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers = num_layers
        embed_features = 0 if c_dim == 0 else (w_dim if embed_features is None else embed_features)
        layer_features = w_dim if layer_features is None else layer_features
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnected(c_dim, embed_features)
        for idx in range(num_layers):
            layer = FullyConnected(features[idx], features[idx + 1], activation, lr_multiplier)
            setattr(self, f"fc{idx}", layer)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None):
        # Normalize z, embed and normalize c, and concatenate them.
        x = normalize_2nd_moment(z.to(torch.float32)) if self.z_dim > 0 else None
        if self.c_dim > 0:
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)  # [N,w_dim]

        # Broadcast, then pull the first truncation_cutoff rows toward w_avg.
        ws = x.unsqueeze(1).repeat([1, self.num_ws, 1])  # [N,num_ws,w_dim]
        if truncation_psi != 1:
            if truncation_cutoff is None:
                ws = self.w_avg.lerp(ws, truncation_psi)
            else:
                ws[:, :truncation_cutoff] = self.w_avg.lerp(
                    ws[:, :truncation_cutoff], truncation_psi
                )
        return ws


class SynthesisLayer(torch.nn.Module):
    """Modulated 3x3 convolution (optionally upsampling), noise, bias and lrelu."""

    def __init__(self, in_channels, out_channels, w_dim, resolution, up=1, use_noise=True,
                 activation="lrelu", resample_filter=(1, 3, 3, 1), conv_clamp=None):  # fmt: skip
        super().__init__()
        self.resolution, self.up, self.use_noise = resolution, up, use_noise
        self.activation, self.conv_clamp = activation, conv_clamp
        self.padding = 1
        self.conv_path = "auto"
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.affine = FullyConnected(w_dim, in_channels)
        self.register_buffer("weight", torch.zeros(out_channels, in_channels, 3, 3))
        self.register_buffer("bias", torch.zeros(out_channels))
        if use_noise:
            self.register_buffer("noise_const", torch.zeros(resolution, resolution))
            self.register_buffer("noise_strength", torch.zeros([]))

    def forward(self, x, w, noise=None):
        """`noise` is the unscaled noise image ([H,W] or [N,1,H,W]) or None for none."""
        if self.conv_path == "reference":
            return self.reference_forward(x, w, noise)

        # lrelu(g*v) = g*lrelu(v), so the gain rides on the conv, noise and bias: no extra pass.
        gain = ACT_GAIN[self.activation]
        x = fast_ops.modulated_conv2d(x, self.weight, self.affine(w), self.up, self.padding,
                                      self.resample_filter, gain=gain, conv_path=self.conv_path,
                                      owner=self)  # fmt: skip
        if noise is not None and self.use_noise:
            x.add_((noise * (self.noise_strength * gain)).to(x.dtype))  # [N,O,H,W]
        return fast_ops.bias_act_(x, self.bias * gain, self.activation, self.conv_clamp)

    def reference_forward(self, x, w, noise):
        styles = self.affine(w)  # [N,I]
        if noise is not None and self.use_noise:
            noise = noise * self.noise_strength
        else:
            noise = None
        x = modulated_conv2d(
            x, self.weight, styles, noise, self.up, self.padding, self.resample_filter
        )
        gain = ACT_GAIN[self.activation]
        return bias_act(x, self.bias.to(x.dtype), self.activation, gain, self.conv_clamp)


ACT_GAIN = {"linear": 1.0, "relu": math.sqrt(2), "lrelu": math.sqrt(2)}


class ToRGBLayer(torch.nn.Module):
    """Modulated 1x1 convolution to RGB without demodulation."""

    def __init__(self, in_channels, out_channels, w_dim, conv_clamp=None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnected(w_dim, in_channels)
        self.register_buffer("weight", torch.zeros(out_channels, in_channels, 1, 1))
        self.register_buffer("bias", torch.zeros(out_channels))
        self.weight_gain = 1 / np.sqrt(in_channels)
        self.conv_path = "auto"

    def forward(self, x, w):
        styles = self.affine(w) * self.weight_gain  # [N,I]
        if self.conv_path != "reference":
            x = fast_ops.modulated_torgb(x, self.weight, styles, self.conv_path)  # [N,3,H,W]
            return fast_ops.bias_act_(x, self.bias, "linear", self.conv_clamp)
        x = modulated_conv2d(x, self.weight, styles, demodulate=False)
        return bias_act(x, self.bias.to(x.dtype), clamp=self.conv_clamp)


class SynthesisBlock(torch.nn.Module):
    """One resolution of the skip architecture: [const |conv0 up] conv1, torgb added to img."""

    def __init__(self, in_channels, out_channels, w_dim, resolution, img_channels, use_fp16=False,
                 resample_filter=(1, 3, 3, 1), conv_clamp=None, **layer_kwargs):  # fmt: skip
        super().__init__()
        self.in_channels, self.resolution, self.use_fp16 = in_channels, resolution, use_fp16
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        common = dict(w_dim=w_dim, resolution=resolution, conv_clamp=conv_clamp, **layer_kwargs)
        if in_channels == 0:
            self.register_buffer("const", torch.zeros(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(
                in_channels, out_channels, up=2, resample_filter=resample_filter, **common
            )
        self.conv1 = SynthesisLayer(out_channels, out_channels, **common)
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_conv = 1 if in_channels == 0 else 2
        self.conv_path = "auto"

    def layers(self):
        return [self.conv1] if self.in_channels == 0 else [self.conv0, self.conv1]

    def forward(self, x, img, ws, noises, fp16=False):
        """ws [N,num_conv+1,w_dim]; noises: one entry per conv layer (see twdne noise)."""
        dtype = torch.float16 if self.use_fp16 and fp16 else torch.float32
        if self.in_channels == 0:
            x = self.const.to(dtype).unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])  # [N,C,4,4]
        else:
            x = x.to(dtype)
        for index, (layer, noise) in enumerate(zip(self.layers(), noises)):
            x = layer(x, ws[:, index], noise)
        y = self.torgb(x, ws[:, self.num_conv]).to(torch.float32)  # [N,3,H,W]
        if img is None:
            return x, y
        if self.conv_path == "reference":
            return x, upsample2d(img, self.resample_filter) + y
        return x, fast_ops.upsample2d(img, self.resample_filter).add_(y)


class SynthesisNetwork(torch.nn.Module):
    """ws -> image through blocks b4 .. b{img_resolution}."""

    def __init__(
        self,
        w_dim,
        img_resolution,
        img_channels,
        channel_base=32768,  # Channels at a resolution: min(channel_base // res, channel_max).
        channel_max=512,
        num_fp16_res=0,  # The top resolutions run in float16 on CUDA.
        **block_kwargs,
    ):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        log2 = int(np.log2(img_resolution))
        self.block_resolutions = [2**i for i in range(2, log2 + 1)]
        self.channels = {
            res: min(channel_base // res, channel_max) for res in self.block_resolutions
        }
        fp16_resolution = max(2 ** (log2 + 1 - num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            in_channels = self.channels[res // 2] if res > 4 else 0
            block = SynthesisBlock(in_channels, self.channels[res], w_dim, res, img_channels,
                                   use_fp16=res >= fp16_resolution, **block_kwargs)  # fmt: skip
            self.num_ws += block.num_conv
            setattr(self, f"b{res}", block)
        self.num_ws += 1
        self.cpu_chunk_elements = CPU_CHUNK_ELEMENTS

    def blocks(self):
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    def noise_layers(self):
        """Every SynthesisLayer in forward order: b4.conv1, b8.conv0, b8.conv1, ..."""
        return [layer for block in self.blocks() for layer in block.layers()]

    def forward(self, ws, noises, fp16=False):
        """ws [N,num_ws,w_dim]; noises: one per noise_layers() entry. Returns [N,C,H,W] float32."""
        ws = ws.to(torch.float32)
        x = img = None
        w_idx = noise_idx = 0
        for block in self.blocks():
            block_ws = ws.narrow(1, w_idx, block.num_conv + 1)
            block_noises = noises[noise_idx : noise_idx + block.num_conv]
            chunk = self.chunk_size(block, ws.shape[0], ws.device)
            x, img = run_in_chunks(block, chunk, x, img, block_ws, block_noises, fp16)
            w_idx += block.num_conv
            noise_idx += block.num_conv
        return img

    def chunk_size(self, block, n, device):
        """How many images go through `block` at once: all of them, except on a CPU.

        On a CPU, oneDNN's convolutions and depthwise FIR filters run slower per image once a
        batch's activations outgrow the caches (at 512px, batch 4 costs 1.2x batch 1 per
        image), so large maps go through in slices of cpu_chunk_elements values.
        """
        if device.type != "cpu":
            return n
        per_image = self.channels[block.resolution] * block.resolution**2
        return max(1, min(n, self.cpu_chunk_elements // per_image))


def run_in_chunks(block, chunk, x, img, ws, noises, fp16):
    """block(x, img, ws, noises) over batch slices of `chunk` images, concatenated."""
    n = ws.shape[0]
    if chunk >= n:
        return block(x, img, ws, noises, fp16)

    def part(tensor, rows):
        return None if tensor is None else tensor[rows]

    def part_noise(noise, rows):
        return noise if noise is None or noise.ndim == 2 else noise[rows]  # [H,W] is shared

    slices = [slice(start, start + chunk) for start in range(0, n, chunk)]
    outputs = []
    for rows in slices:
        chunk_noises = [part_noise(noise, rows) for noise in noises]
        outputs.append(block(part(x, rows), part(img, rows), ws[rows], chunk_noises, fp16))
    return torch.cat([out[0] for out in outputs]), torch.cat([out[1] for out in outputs])


class Generator(torch.nn.Module):
    """mapping + synthesis with the constructor arguments of the official Generator."""

    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs=None,
                 synthesis_kwargs=None):  # fmt: skip
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels,
                                          **(synthesis_kwargs or {}))  # fmt: skip
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, **(mapping_kwargs or {}))

    def forward(self, z, c, noises, truncation_psi=1.0, truncation_cutoff=None, fp16=False):
        ws = self.mapping(z, c, truncation_psi, truncation_cutoff)
        return self.synthesis(ws, noises, fp16)


def set_conv_path(module, conv_path):
    """Switches every layer under `module` to one of CONV_PATHS ("auto" is the default)."""
    if conv_path not in CONV_PATHS:
        raise ValueError(
            f"conv_path: expected one of {', '.join(CONV_PATHS)}, received {conv_path!r}"
        )
    for layer in module.modules():
        if hasattr(layer, "conv_path"):
            layer.conv_path = conv_path
    return module
