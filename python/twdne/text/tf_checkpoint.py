"""Reads TensorFlow checkpoints (tensor bundles: PREFIX.index + PREFIX.data-NNNNN-of-NNNNN).

The .index file is an SSTable (LevelDB's table format) mapping each variable name to a
BundleEntryProto {dtype, shape, shard_id, offset, size, crc32c}; the empty key holds the
BundleHeaderProto {num_shards, endianness}. The table ends in a 48-byte footer: two block
handles (metaindex, index; each a varint offset and size), zero padding, and an 8-byte magic
number. The index block maps keys to the handles of the data blocks. Every block is followed
by a type byte (0 raw, 1 Snappy) and a masked CRC-32C of block + type. Inside a block, entries
share key prefixes with the entry before (shared length, unshared length, value length as
varints, then the unshared key bytes and the value), and a trailer of restart offsets ends it.
The data files hold each tensor's raw little-endian bytes at its entry's offset.
"""

import struct
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from . import snappy
from .snappy import read_varint

FOOTER_SIZE = 48
MAGIC = 0xDB4775248B80FB57
BLOCK_TRAILER = 5  # type byte + crc32c
CRC_CHECK_LIMIT = 1 << 20  # tensors up to this many bytes have their CRC-32C checked on read

# TensorFlow DataType enum -> numpy dtype (little-endian)
DTYPES = {
    1: np.dtype("<f4"),  # DT_FLOAT
    2: np.dtype("<f8"),  # DT_DOUBLE
    3: np.dtype("<i4"),  # DT_INT32
    4: np.dtype("u1"),  # DT_UINT8
    5: np.dtype("<i2"),  # DT_INT16
    6: np.dtype("i1"),  # DT_INT8
    9: np.dtype("<i8"),  # DT_INT64
    10: np.dtype("?"),  # DT_BOOL
    17: np.dtype("<u2"),  # DT_UINT16
    19: np.dtype("<f2"),  # DT_HALF
}
DTYPE_NAMES = {number: dtype.name for number, dtype in DTYPES.items()}
DTYPE_NAMES.update({7: "string", 14: "bfloat16"})


class TFCheckpoint:
    """The variables of one tensor bundle: names, shapes, dtypes, and their values on demand."""

    def __init__(self, index_path):
        self.index_path = Path(index_path)
        self.prefix = str(self.index_path)[: -len(".index")]
        try:
            raw = self.index_path.read_bytes()
        except FileNotFoundError:
            raise ModelFileError(
                self.index_path, "a TensorFlow checkpoint index", "a path that does not exist"
            ) from None
        table = dict(read_table(self.index_path, raw))
        header = decode_message(table.pop(b"", b""))
        self.num_shards = first(header, 1, 1)
        if first(header, 2, 0) != 0:
            raise ModelFileError(self.index_path, "a little-endian bundle", "a big-endian one")
        self.entries = {
            key.decode("utf-8"): entry_of(self.index_path, key, value)
            for key, value in table.items()
        }

    def names(self):
        return list(self.entries)

    def shape(self, name):
        return self.entries[name]["shape"]

    def dtype(self, name):
        return DTYPE_NAMES.get(
            self.entries[name]["dtype"], f"DataType {self.entries[name]['dtype']}"
        )

    def data_path(self, shard):
        return Path(f"{self.prefix}.data-{shard:05d}-of-{self.num_shards:05d}")

    def read(self, name):
        """The variable's value as a numpy array of its dtype and shape."""
        entry = self.entries[name]
        path = self.data_path(entry["shard_id"])
        if entry["dtype"] not in DTYPES:
            raise ModelFileError(self.index_path, f"{name} of a numeric dtype", self.dtype(name))
        dtype = DTYPES[entry["dtype"]]
        count = int(np.prod(entry["shape"], dtype=np.int64))
        if entry["size"] != count * dtype.itemsize:
            raise ModelFileError(
                self.index_path,
                f"{count * dtype.itemsize} bytes for {name} {entry['shape']}",
                f"size {entry['size']}",
            )
        data = read_span(path, entry["offset"], entry["size"], name)
        checked = entry["size"] <= CRC_CHECK_LIMIT and entry["crc32c"] is not None
        if checked and masked_crc32c(data) != entry["crc32c"]:
            raise ModelFileError(
                path,
                f"bytes of {name} with the index's CRC-32C",
                "bytes with another CRC (corrupt data file)",
            )
        return (
            np.frombuffer(data, dtype=dtype).reshape(entry["shape"]).astype(dtype.newbyteorder("="))
        )


def read_span(path, offset, size, name):
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(size)
    except FileNotFoundError:
        raise ModelFileError(
            path, f"the data shard holding {name}", "a path that does not exist"
        ) from None
    if len(data) != size:
        raise ModelFileError(
            path,
            f"{size} bytes of {name} at offset {offset}",
            f"{len(data)} bytes (truncated file)",
        )
    return data


def entry_of(path, key, value):
    """A BundleEntryProto as a dict; sliced (partitioned) variables are refused by name."""
    fields = decode_message(value)
    if 7 in fields:
        raise ModelFileError(
            path, f"whole tensors ({key.decode()!r} unsliced)", "a partitioned variable"
        )
    dims = [decode_message(d) for d in decode_message(first(fields, 2, b"")).get(2, [])]
    return {
        "dtype": first(fields, 1, 0),
        "shape": [signed64(first(d, 1, 0)) for d in dims],
        "shard_id": first(fields, 3, 0),
        "offset": first(fields, 4, 0),
        "size": first(fields, 5, 0),
        "crc32c": first(fields, 6, None),
    }


# SSTable


def read_table(path, raw):
    """Yields (key, value) of every entry of an SSTable held in `raw`, in key order."""
    if len(raw) < FOOTER_SIZE or struct.unpack("<Q", raw[-8:])[0] != MAGIC:
        raise ModelFileError(
            path, "an SSTable ending in the table magic number", f"{len(raw)} bytes without it"
        )
    footer = raw[-FOOTER_SIZE:]
    _, pos = read_handle(path, footer, 0)
    index_handle, _ = read_handle(path, footer, pos)
    for _, data_value in block_entries(path, read_block(path, raw, index_handle)):
        data_handle, _ = read_handle(path, data_value, 0)
        yield from block_entries(path, read_block(path, raw, data_handle))


def read_handle(path, data, pos):
    """((offset, size), next position) of a block handle."""
    try:
        offset, pos = read_varint(data, pos)
        size, pos = read_varint(data, pos)
    except snappy.SnappyError as exc:
        raise ModelFileError(path, "a block handle of two varints", str(exc))
    return (offset, size), pos


def read_block(path, raw, handle):
    """A block's contents, its CRC checked and, if Snappy-compressed, decompressed."""
    offset, size = handle
    end = offset + size
    if end + BLOCK_TRAILER > len(raw):
        raise ModelFileError(
            path, f"a block of {size} bytes at offset {offset}", f"a {len(raw)}-byte file"
        )
    block, kind = raw[offset:end], raw[end]
    (stored,) = struct.unpack("<I", raw[end + 1 : end + 5])
    if masked_crc32c(block + bytes([kind])) != stored:
        raise ModelFileError(
            path,
            f"block at offset {offset} with its CRC-32C",
            "a block with another CRC (corrupt index)",
        )
    if kind == 0:
        return block
    if kind == 1:
        try:
            return snappy.decompress(block)
        except snappy.SnappyError as exc:
            raise ModelFileError(
                path, f"Snappy data in the block at offset {offset}", f"corrupt data ({exc})"
            )
    raise ModelFileError(
        path, "blocks stored raw (0) or Snappy-compressed (1)", f"compression type {kind}"
    )


def block_entries(path, block):
    """Yields (key, value) of a block, rebuilding each key from its shared prefix."""
    if len(block) < 4:
        raise ModelFileError(path, "a block with a restart count", f"{len(block)} bytes")
    (restarts,) = struct.unpack("<I", block[-4:])
    limit = len(block) - 4 - 4 * restarts
    if limit < 0:
        raise ModelFileError(
            path,
            "a block whose restart array fits in it",
            f"{restarts} restarts in {len(block)} bytes",
        )
    key, pos = b"", 0
    while pos < limit:
        try:
            shared, pos = read_varint(block, pos)
            unshared, pos = read_varint(block, pos)
            length, pos = read_varint(block, pos)
        except snappy.SnappyError as exc:
            raise ModelFileError(path, "block entries of three varints each", str(exc))
        if shared > len(key) or pos + unshared + length > limit:
            raise ModelFileError(
                path, "block entries inside their block", f"an entry at byte {pos} that overruns it"
            )
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + length]
        pos += length


# Protocol buffers, decoded by hand


def decode_message(data):
    """{field number: [values]}; varints as ints, fixed32/64 as ints, length-delimited as bytes."""
    fields, pos = {}, 0
    while pos < len(data):
        tag, pos = read_varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = read_varint(data, pos)
        elif wire == 1:
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        elif wire == 2:
            length, pos = read_varint(data, pos)
            value, pos = bytes(data[pos : pos + length]), pos + length
        elif wire == 5:
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        else:
            raise snappy.SnappyError(f"protobuf wire type {wire} at byte {pos}")
        fields.setdefault(number, []).append(value)
    return fields


def first(fields, number, default):
    return fields[number][0] if number in fields else default


def signed64(value):
    """A varint-decoded int64 (negative numbers arrive as 2**64 - n)."""
    return value - (1 << 64) if value >= 1 << 63 else value


# CRC-32C (Castagnoli), as LevelDB stores it: masked so CRCs of CRCs stay well distributed


def crc_table():
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC_TABLE = crc_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
