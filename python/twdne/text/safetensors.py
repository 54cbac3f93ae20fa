"""Reads and writes the safetensors format without the safetensors package.

Layout: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets into the bytes after the header),
an optional "__metadata__" object of strings, then the raw little-endian tensor bytes.
"""

import json
import struct
from pathlib import Path

import numpy as np
import torch

from ..errors import ModelFileError

# safetensors dtype -> (numpy dtype to read the bytes as, torch dtype of the tensor)
DTYPES = {
    "F64": (np.float64, torch.float64),
    "F32": (np.float32, torch.float32),
    "F16": (np.float16, torch.float16),
    "BF16": (np.int16, torch.bfloat16),  # numpy has no bfloat16: read the bits, view in torch
    "I64": (np.int64, torch.int64),
    "I32": (np.int32, torch.int32),
    "I16": (np.int16, torch.int16),
    "I8": (np.int8, torch.int8),
    "U8": (np.uint8, torch.uint8),
    "BOOL": (np.bool_, torch.bool),
}
TORCH_NAMES = {torch_dtype: name for name, (_, torch_dtype) in DTYPES.items()}


def read_header(path):
    """(header dict, offset where the data starts); every inconsistency is a ModelFileError."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise ModelFileError(path, "a safetensors file (8-byte header length)", f"{size} bytes")
        (length,) = struct.unpack("<Q", head)
        if length > size - 8:
            raise ModelFileError(
                path, f"a header length of at most {size - 8} bytes", f"{length} (not safetensors?)"
            )
        try:
            header = json.loads(handle.read(length).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ModelFileError(path, "a JSON safetensors header", f"unreadable JSON ({exc})")
    if not isinstance(header, dict):
        raise ModelFileError(path, "a JSON object as header", f"a {type(header).__name__}")
    return header, 8 + length


def read_safetensors(path):
    """{name: tensor} of a safetensors file (CPU tensors; the metadata entry is skipped)."""
    header, start = read_header(path)
    data_size = Path(path).stat().st_size - start
    raw = np.memmap(path, dtype=np.uint8, mode="r", offset=start, shape=(data_size,))
    tensors = {}
    for name, entry in header.items():
        if name != "__metadata__":
            tensors[name] = tensor_of(path, name, entry, raw)
    return tensors


def tensor_of(path, name, entry, raw):
    """One tensor from its header entry, its size checked against dtype and shape."""
    try:
        dtype, shape, (begin, end) = entry["dtype"], list(entry["shape"]), entry["data_offsets"]
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(path, f"dtype, shape and data_offsets for {name}", repr(entry))
    if dtype not in DTYPES:
        raise ModelFileError(path, f"a dtype among {', '.join(DTYPES)} for {name}", repr(dtype))
    np_dtype, torch_dtype = DTYPES[dtype]
    count = int(np.prod(shape, dtype=np.int64))
    expected = count * np.dtype(np_dtype).itemsize
    if not 0 <= begin <= end <= len(raw) or end - begin != expected:
        raise ModelFileError(
            path,
            f"{expected} bytes for {name} {dtype}{shape} inside the {len(raw)}-byte data",
            f"data_offsets [{begin}, {end}]",
        )
    array = np.frombuffer(raw[begin:end], dtype=np_dtype).reshape(shape).copy()
    return torch.from_numpy(array).view(torch_dtype)


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} as safetensors, in name order, with an 8-byte aligned header."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        if tensor.dtype not in TORCH_NAMES:
            raise ValueError(f"{name}: dtype {tensor.dtype} has no safetensors name")
        bits = tensor.view(torch.int16) if tensor.dtype == torch.bfloat16 else tensor
        data = bits.numpy().tobytes()
        header[name] = {
            "dtype": TORCH_NAMES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = dict(metadata)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)) + encoded)
        for data in chunks:
            handle.write(data)
