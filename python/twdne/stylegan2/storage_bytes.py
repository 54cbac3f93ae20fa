"""Reads torch's legacy storage bytes (torch.storage._load_from_bytes) without torch.load."""

import io
import pickle

import numpy as np
import torch

from ..errors import ModelFileError, UnsafePickleError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

# torch.<Name>Storage -> element dtype, as the legacy format names them.
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class StorageHeaderUnpickler(pickle.Unpickler):
    """The small pickles inside the storage bytes: only storage type names and persistent ids."""

    def __init__(self, file, path):
        super().__init__(file)
        self.path = path

    def find_class(self, module, name):
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        raise UnsafePickleError(self.path, f"{module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError("a storage persistent id must be ('storage', ...)")
        return pid


def read_storage_bytes(path, data):
    """A flat CPU tensor from the bytes torch's legacy save wrote for one storage."""
    stream = io.BytesIO(data)

    def next_pickle():
        return StorageHeaderUnpickler(stream, path).load()

    if next_pickle() != LEGACY_MAGIC or next_pickle() != 1001:
        raise ModelFileError(path, "torch legacy storage bytes", "storage bytes of another format")
    sys_info = next_pickle()
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
        raise ModelFileError(path, "little-endian torch storages", "another byte order")
    record = next_pickle()
    keys = next_pickle()
    if not isinstance(record, tuple) or not isinstance(keys, list) or len(keys) != 1:
        raise ModelFileError(path, "one storage per storage record", "another layout")
    dtype = np.dtype(record[1])
    count = int.from_bytes(stream.read(8), "little", signed=True)
    raw = stream.read(count * dtype.itemsize)
    if count < 0 or len(raw) != count * dtype.itemsize:
        raise ModelFileError(path, "a complete tensor storage", "a storage shorter than its size")
    return torch.from_numpy(np.frombuffer(raw, dtype=dtype).copy())
