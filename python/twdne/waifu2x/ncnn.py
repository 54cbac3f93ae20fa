"""Reads an ncnn model: the .param text graph and the .bin weights that follow its layer order.

.param: a magic line (7767517), "layer_count blob_count", then one line per layer:
``type name bottom_count top_count bottoms... tops... key=value...``, where a key at or below
-23300 holds an array (id = -23300 - key, value "count,v1,v2,...") and a value with '.' or
'e' is a float. .bin: per weighted layer in graph order, each weight array behind a 4-byte
tag (0: float32, 0x01306B47: float16, padded to 4 bytes), each bias array as bare float32.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelFileError

MAGIC = "7767517"
TAG_FLOAT32 = 0
TAG_FLOAT16 = 0x01306B47
ARRAY_KEY_BASE = -23300


@dataclass
class Layer:
    type: str
    name: str
    bottoms: list
    tops: list
    params: dict  # key id -> int, float or list
    weights: dict = field(default_factory=dict)  # name -> float32 array, in .bin order


def read_ncnn(param_path):
    """The layers of an ncnn model, weights filled from the .bin beside the .param."""
    param_path = Path(param_path)
    layers = read_param(param_path)
    read_bin(param_path.with_suffix(".bin"), layers)
    return layers


def read_param(path):
    """[Layer] of a .param file; a malformed line is refused with its number."""
    try:
        lines = Path(path).read_text(encoding="ascii").splitlines()
    except FileNotFoundError:
        raise ModelFileError(path, "an ncnn .param file", "a path that does not exist")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(path, "an ncnn .param text file", f"unreadable text ({exc})")
    lines = [line for line in lines if line.strip()]
    if not lines or lines[0].strip() != MAGIC:
        first = repr(lines[0][:40]) if lines else "an empty file"
        raise ModelFileError(path, f"an ncnn .param file starting with {MAGIC}", first)
    try:
        layer_count = int(lines[1].split()[0])
        layers = [parse_layer(line) for line in lines[2:]]
    except (IndexError, ValueError) as exc:
        raise ModelFileError(path, "ncnn .param layer lines", f"a malformed line ({exc})")
    if len(layers) != layer_count:
        raise ModelFileError(path, f"{layer_count} layers as its header says", f"{len(layers)}")
    return layers


def parse_layer(line):
    fields = line.split()
    kind, name, n_bottoms, n_tops = fields[0], fields[1], int(fields[2]), int(fields[3])
    bottoms = fields[4 : 4 + n_bottoms]
    tops = fields[4 + n_bottoms : 4 + n_bottoms + n_tops]
    if len(tops) != n_tops:
        raise ValueError(f"layer {name} lists fewer blobs than {n_bottoms} + {n_tops}")
    params = {}
    for pair in fields[4 + n_bottoms + n_tops :]:
        key, value = pair.split("=", 1)
        key = int(key)
        if key <= ARRAY_KEY_BASE:
            values = [parse_number(v) for v in value.split(",")]
            params[ARRAY_KEY_BASE - key] = values[1 : 1 + int(values[0])]
        else:
            params[key] = parse_number(value)
    return Layer(kind, name, bottoms, tops, params)


def parse_number(text):
    return float(text) if any(c in text for c in ".eE") else int(text)


def weight_plan(layer):
    """[(weight name, element count, tagged)] that the .bin holds for this layer, in order."""
    p = layer.params
    if layer.type in ("Convolution", "Deconvolution"):
        plan = [("weight", p.get(6, 0), True)]
        return plan + ([("bias", p.get(0, 0), False)] if p.get(5, 0) else [])
    if layer.type == "InnerProduct":
        plan = [("weight", p.get(2, 0), True)]
        return plan + ([("bias", p.get(0, 0), False)] if p.get(1, 0) else [])
    if layer.type == "Scale" and p.get(0, 0) != -233:
        plan = [("scale", p.get(0, 0), False)]
        return plan + ([("bias", p.get(0, 0), False)] if p.get(1, 0) else [])
    return []


def read_bin(path, layers):
    """Fills each layer's weights from the .bin; a short, long or odd file is refused."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ModelFileError(path, "the ncnn .bin beside the .param", "a path that does not exist")
    offset = 0
    for layer in layers:
        for name, count, tagged in weight_plan(layer):
            where = f"{layer.name}.{name}"
            layer.weights[name], offset = read_array(path, data, offset, count, tagged, where)
    if offset != len(data):
        raise ModelFileError(
            path, f"{offset} bytes of weights for the .param", f"{len(data)} bytes"
        )


def read_array(path, data, offset, count, tagged, where):
    """(float32 array, next offset) of one weight array at `offset`."""
    dtype, size = np.float32, 4 * count
    if tagged:
        need(path, data, offset + 4, where)
        tag = int.from_bytes(data[offset : offset + 4], "little")
        offset += 4
        if tag == TAG_FLOAT16:
            dtype, size = np.float16, 2 * count
        elif tag != TAG_FLOAT32:
            raise ModelFileError(
                path, f"a float32 or float16 tag before {where}", f"the tag 0x{tag:08x}"
            )
    need(path, data, offset + size, where)
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset).astype(np.float32)
    return array, offset + (size + 3) // 4 * 4


def need(path, data, end, where):
    if end > len(data):
        raise ModelFileError(
            path, f"at least {end} bytes (through {where})", f"a file of {len(data)} bytes"
        )
