"""The waifu2x CUNet 2x network from ncnn .param/.bin files: a two-level U-Net with
squeeze-and-excitation blocks, run by the generic ncnn interpreter."""

from pathlib import Path

from .ncnn import read_ncnn
from .ncnn_net import NcnnNet
from .shapes import geometry, walk


class CUNet(NcnnNet):
    """An ncnn graph with the geometry tiling needs: scale, pad (input pixels eaten a side,
    18 for the published files) and multiple (tile sides must be multiples of it)."""

    def __init__(self, path, layers):
        super().__init__(path, layers)
        self.scale, self.pad, self.multiple = geometry(path, layers)

    def flops(self, tile):
        """Multiply-adds x2 for one tile of `tile` input pixels a side (plus its context)."""
        return walk(self.layers, tile + 2 * self.pad).flops


def load_cunet(param_path):
    """A CUNet from its .param (the .bin beside it holds the weights)."""
    param_path = Path(param_path)
    return CUNet(param_path, read_ncnn(param_path))
