"""The 64px anime-face DCGAN from a Keras 2 HDF5 file, rebuilt in plain PyTorch."""

import json

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ModelFileError
from ..seeds import z_from_seeds
from .base import FaceGenerator

DTYPE = torch.float64

ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": F.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}


class DCGANGenerator(FaceGenerator):
    """A Keras Sequential generator (Dense, Reshape, Conv2DTranspose, BatchNorm, Activation).

    The network has no truncation trick, so psi is recorded but has no effect. It computes in
    float64: the network is small enough for that to cost little, and float32 matmuls round
    differently with the batch size, which would flip an occasional pixel by one level; in
    float64 a seed gives the same PNG in any batch.
    """

    kind = "dcgan"
    uses_psi = False

    def __init__(self, path, device="cpu", options=None):
        super().__init__(path, device, options)
        self.layers = [layer.to(device) for layer in read_keras_h5(self.path)]
        self.z_dim = self.layers[0].in_features
        with torch.no_grad():
            probe = self.forward(torch.zeros(1, self.z_dim, dtype=DTYPE, device=device))
        self.resolution = int(probe.shape[-1])

    def info(self):
        params = sum(layer.parameter_count() for layer in self.layers)
        return {
            **super().info(),
            "format": "keras-h5",
            "resolution": self.resolution,
            "z_dim": self.z_dim,
            "parameters": params,
            "uses_psi": False,
        }

    def forward(self, z):
        x = z
        for layer in self.layers:
            x = layer(x)
        return x  # [N, 3, H, W] in [0, 1]

    @torch.no_grad()
    def images(self, seeds, psi, params):
        z = torch.from_numpy(z_from_seeds(seeds, self.z_dim)).to(self.device, DTYPE)
        x = self.forward(z)
        x = (x.permute(0, 2, 3, 1) * 255).round().clamp(0, 255).to(torch.uint8)
        return x.cpu().numpy()


class Dense:
    def __init__(self, kernel, bias, activation):
        self.kernel, self.bias, self.activation = kernel, bias, activation
        self.in_features = kernel.shape[0]

    def __call__(self, x):
        return self.activation(x @ self.kernel + self.bias)

    def to(self, device):
        self.kernel, self.bias = self.kernel.to(device), self.bias.to(device)
        return self

    def parameter_count(self):
        return self.kernel.numel() + self.bias.numel()


class Reshape:
    """Keras reshapes channels-last; the result is handed on as NCHW."""

    def __init__(self, target_shape):
        self.target_shape = tuple(target_shape)

    def __call__(self, x):
        return x.reshape(x.shape[0], *self.target_shape).permute(0, 3, 1, 2)

    def to(self, device):
        return self

    def parameter_count(self):
        return 0


class ConvTranspose:
    """Conv2DTranspose with TensorFlow 'same' padding: full output, cropped at the start."""

    def __init__(self, kernel, bias, stride, padding, activation):
        self.weight = kernel.permute(3, 2, 0, 1).contiguous()  # [kh,kw,out,in] -> [in,out,kh,kw]
        self.bias, self.stride, self.padding, self.activation = bias, stride, padding, activation

    def __call__(self, x):
        k, s = self.weight.shape[-1], self.stride
        y = F.conv_transpose2d(x, self.weight, self.bias, stride=s)
        if self.padding == "same":
            n_in = x.shape[-1]
            n_out = n_in * s
            start = ((n_in - 1) * s + k - n_out) // 2
            y = y[:, :, start : start + n_out, start : start + n_out]
        return self.activation(y)

    def to(self, device):
        self.weight, self.bias = self.weight.to(device), self.bias.to(device)
        return self

    def parameter_count(self):
        return self.weight.numel() + self.bias.numel()


class BatchNorm:
    def __init__(self, gamma, beta, mean, variance, epsilon):
        scale = gamma / torch.sqrt(variance + epsilon)
        self.scale = scale.reshape(1, -1, 1, 1)
        self.shift = (beta - mean * scale).reshape(1, -1, 1, 1)
        self.count = 4 * gamma.numel()

    def __call__(self, x):
        return x * self.scale + self.shift

    def to(self, device):
        self.scale, self.shift = self.scale.to(device), self.shift.to(device)
        return self

    def parameter_count(self):
        return self.count


class Activation:
    def __init__(self, activation):
        self.activation = activation

    def __call__(self, x):
        return self.activation(x)

    def to(self, device):
        return self

    def parameter_count(self):
        return 0


def read_keras_h5(path):
    """The layers of a Keras Sequential HDF5 model, with weights as float64 tensors."""
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise ModelFileError(path, "a Keras HDF5 model file", f"a file h5py cannot open ({exc})")
    with handle:
        if "model_config" not in handle.attrs or "model_weights" not in handle:
            raise ModelFileError(
                path, "a Keras model (model_config and model_weights)", "an HDF5 file without them"
            )
        config = json.loads(handle.attrs["model_config"])
        if config.get("class_name") != "Sequential":
            raise ModelFileError(
                path, "a Keras Sequential model", f"a {config.get('class_name')!r} model"
            )
        weights = handle["model_weights"]
        return [
            build_layer(path, layer, weights)
            for layer in config["config"]["layers"]
            if layer["class_name"] != "InputLayer"
        ]


def build_layer(path, layer, weights):
    """One layer object from its Keras config and stored weights; unknown layers are refused by name."""
    kind, config = layer["class_name"], layer["config"]

    def weight(name):
        group = weights[config["name"]]
        inner = group.get(config["name"], group)
        return torch.from_numpy(np.asarray(inner[name + ":0"], dtype=np.float64))

    activation = activation_of(path, config.get("activation", "linear"))
    if kind == "Dense":
        return Dense(weight("kernel"), weight("bias"), activation)
    if kind == "Reshape":
        return Reshape(config["target_shape"])
    if kind == "Conv2DTranspose":
        return ConvTranspose(
            weight("kernel"), weight("bias"), config["strides"][0], config["padding"], activation
        )
    if kind == "BatchNormalization":
        parts = [weight(n) for n in ("gamma", "beta", "moving_mean", "moving_variance")]
        return BatchNorm(*parts, config["epsilon"])
    if kind == "Activation":
        return Activation(activation)
    raise ModelFileError(
        path,
        "Dense, Reshape, Conv2DTranspose, BatchNormalization or Activation layers",
        f"a {kind} layer",
    )


def activation_of(path, name):
    if name not in ACTIVATIONS:
        raise ModelFileError(path, f"an activation among {', '.join(ACTIVATIONS)}", repr(name))
    return ACTIVATIONS[name]
