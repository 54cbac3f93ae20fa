"""The waifu2x UpConv7 2x network, built from a waifu2x-chainer .npz file."""

import zipfile

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ModelFileError

# Output channels of conv1..conv6 (3x3, unpadded); conv7 is the 4x4 stride-2 transposed conv.
CHANNELS = (3, 16, 32, 64, 128, 256, 256)
SLOPE = 0.1


class UpConv7:
    """Six unpadded 3x3 convs with leaky ReLU, then a cropping 4x4 stride-2 transposed conv.

    An input of n + 2 * pad pixels gives 2 * n output pixels: the net eats `pad` input
    pixels on each side, so callers replicate-pad by `pad` first.
    """

    scale = 2
    pad = 7
    multiple = 1  # any tile size fits: no strided layer needs divisible sizes

    def __init__(self, convs, deconv_weight):
        self.convs = convs  # [(weight [out,in,3,3], bias [out])] * 6
        self.deconv_weight = deconv_weight  # [256, 3, 4, 4]

    def __call__(self, x):
        for weight, bias in self.convs:
            x = F.leaky_relu(F.conv2d(x, weight, bias), SLOPE)  # [N,C,H-2,W-2]
        return F.conv_transpose2d(x, self.deconv_weight, stride=2, padding=3)  # [N,3,2H-4,2W-4]

    def to(self, device):
        self.convs = [(w.to(device), b.to(device)) for w, b in self.convs]
        self.deconv_weight = self.deconv_weight.to(device)
        return self

    def parameter_count(self):
        return sum(w.numel() + b.numel() for w, b in self.convs) + self.deconv_weight.numel()


def load_upconv7(path):
    """An UpConv7 from `path`; a missing array or a wrong shape is refused naming the array."""
    arrays = read_npz(path)
    convs = []
    for index in range(6):
        shape = (CHANNELS[index + 1], CHANNELS[index], 3, 3)
        weight = array_of(path, arrays, f"conv{index + 1}/W", shape)
        bias = array_of(path, arrays, f"conv{index + 1}/b", shape[:1])
        convs.append((weight, bias))
    deconv_weight = array_of(path, arrays, "conv7/W", (256, 3, 4, 4))
    return UpConv7(convs, deconv_weight)


def read_npz(path):
    """{name: array} of a NumPy .npz archive; anything else is a ModelFileError."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise ModelFileError(path, "a waifu2x UpConv7 .npz file", "a path that does not exist")
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelFileError(
            path, "a waifu2x UpConv7 .npz file", f"a file NumPy cannot read ({exc})"
        )


def array_of(path, arrays, name, shape):
    if name not in arrays:
        present = ", ".join(sorted(arrays)) or "no arrays"
        raise ModelFileError(path, f"an array {name!r} in the .npz file", f"only {present}")
    array = arrays[name]
    if tuple(array.shape) != shape or array.dtype.kind != "f":
        raise ModelFileError(
            path, f"{name} as float {shape}", f"{array.dtype} {tuple(array.shape)}"
        )
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
