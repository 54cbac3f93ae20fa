"""waifu2x upscalers for the sidecar: UpConv7 (.npz) and CUNet (ncnn .param/.bin)."""

from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from .. import faults
from ..errors import RequestError
from ..images import write_png
from ..waifu2x.model_files import CUNET_NAMES, UPCONV7_NAMES, check_noise_level, pick_file
from ..waifu2x.upscale import SCALES, upscale_image
from .base import Model

DEFAULT_TILE = 256  # input pixels per tile side: a 512px face is 4 tiles
DEFAULT_BATCH = 4  # tiles per forward pass
OUTPUTS = ("png", "rgb")
MIN_TILE = 16  # out-of-memory retries halve the tile down to this, then give up


class Waifu2xUpscaler(Model):
    """A 2x waifu2x net answering `upscale` batches.

    Options: noise_level (-1 none, 0..3; picks the file inside a folder), tile (input pixels
    per tile side), batch (tiles per forward pass).
    Items of an `upscale` request: {"id", "in": PNG path, "out": output path}; params:
    {"scale": 2 | 4, "tile": optional override, "output": "png" (default) or "rgb"}. "rgb"
    writes the bare [H, W, 3] uint8 pixels, which spares both sides a PNG encode and decode
    when the orchestrator re-encodes them anyway. Results: {"id", "width", "height"}, or
    {"id", "error"} for an input that cannot be read, while the other items finish.
    """

    ops = ("upscale",)
    names: ClassVar[dict] = {}  # noise_level -> file name inside a folder
    format = ""

    def __init__(self, path, device="cpu", options=None):
        super().__init__(path, device, options)
        requested = self.options.get("noise_level")
        requested = None if requested is None else check_noise_level(requested)
        self.tile = check_positive(self.options.get("tile", DEFAULT_TILE), "options.tile")
        self.batch = check_positive(self.options.get("batch", DEFAULT_BATCH), "options.batch")
        self.file, self.noise_level = pick_file(path, self.names, requested)
        self.net = self.load(self.file).to(device)

    def load(self, file):
        raise NotImplementedError

    def model_files(self):
        return [self.file.name]

    def info(self):
        return {
            **super().info(),
            "format": self.format,
            "scale": self.net.scale,
            "scales": list(SCALES),
            "noise_level": self.noise_level,
            "parameters": self.net.parameter_count(),
            "files": self.model_files(),
            "tile": self.tile,
            "pad": self.net.pad,
        }

    def run(self, op, items, params):
        self.check_op(op)
        scale = params.get("scale", 2)
        if isinstance(scale, bool) or scale not in SCALES:
            raise RequestError(f"params.scale: expected 2 or 4, received {scale!r}")
        tile = check_positive(params.get("tile", self.tile), "params.tile")
        output = params.get("output", "png")
        if output not in OUTPUTS:
            raise RequestError(f"params.output: expected png or rgb, received {output!r}")
        for index, item in enumerate(items):
            for field in ("id", "in", "out"):
                if field not in item:
                    raise RequestError(
                        f"items[{index}]: expected a field {field!r}, received {item!r}"
                    )
        faults.before_batch(items)
        results = []
        for index, item in enumerate(items):
            results.append(self.upscale_item(item, scale, tile, output))
            if index == 0:
                faults.mid_batch()
        return results

    def upscale_item(self, item, scale, tile, output="png"):
        """One result: the upscaled image written to item["out"], or the item's error."""
        failure = faults.item_error(item["id"])
        if failure:
            return {"id": item["id"], "error": str(failure)}
        try:
            image = read_png(item["in"])  # [H, W, 3] uint8
        except InputImageError as exc:
            return {"id": item["id"], "error": str(exc)}
        out = upscale_image(self.net, image, scale, tile, self.batch, MIN_TILE, self.device)
        if output == "rgb":
            with open(item["out"], "wb") as handle:
                handle.write(np.ascontiguousarray(out, dtype=np.uint8).tobytes())
        else:
            write_png(out, item["out"])
        return {"id": item["id"], "width": int(out.shape[1]), "height": int(out.shape[0])}


class UpConv7Upscaler(Waifu2xUpscaler):
    kind = "waifu2x-upconv7"
    names = UPCONV7_NAMES
    format = "waifu2x-chainer-npz"

    def load(self, file):
        from ..waifu2x.upconv7 import load_upconv7

        return load_upconv7(file)


class CUNetUpscaler(Waifu2xUpscaler):
    kind = "waifu2x-cunet"
    names = CUNET_NAMES
    format = "ncnn"

    def __init__(self, path, device="cpu", options=None):
        path = Path(path)
        # The .bin of a pair names the same model as its .param
        if path.suffix == ".bin":
            path = path.with_suffix(".param")
        super().__init__(path, device, options)

    def load(self, file):
        from ..waifu2x.cunet import load_cunet

        return load_cunet(file)

    def model_files(self):
        return [self.file.name, self.file.with_suffix(".bin").name]


class InputImageError(Exception):
    """An input that is not a decodable image; reported for its item alone."""


def read_png(path):
    """[H, W, 3] uint8 RGB of an input image, or InputImageError naming the path."""
    path = Path(path)
    if not path.is_file():
        raise InputImageError(f"{path}: expected a PNG image, received a path that does not exist")
    try:
        with Image.open(path) as image:
            image.load()
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        head = path.read_bytes()[:8]
        found = f"a file starting with bytes {head.hex(' ')}" if head else "an empty file"
        raise InputImageError(f"{path}: expected a PNG image, received {found} ({exc})")


def check_positive(value, flag):
    """A positive int option, or a RequestError naming the flag."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestError(f"{flag}: expected a positive integer, received {value!r}")
    return value
