"""A trivial face generator: a flat colour per seed, for tests and overhead benchmarks."""

import numpy as np

from .base import FaceGenerator


class NullGenerator(FaceGenerator):
    """Paints an 8x8 image whose colour is derived from the seed; no tensor work at all."""

    kind = "null"

    def info(self):
        return {**super().info(), "resolution": 8, "z_dim": 0}

    def images(self, seeds, psi, params):
        size = int(self.options.get("size", 8))
        out = np.empty((len(seeds), size, size, 3), dtype=np.uint8)
        for index, seed in enumerate(seeds):
            out[index] = [(seed * 37) % 256, (seed * 101) % 256, (seed >> 8) % 256]
        return out
