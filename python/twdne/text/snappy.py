"""Snappy block decompression in pure Python (the format of compressed SSTable blocks).

A block is a varint of the uncompressed length followed by elements, each opened by a tag
byte whose low two bits say what it is:
* 0: a literal; length - 1 is the tag's upper six bits, or (values 60..63) held in the next
  1..4 little-endian bytes; the literal bytes follow;
* 1: a copy of 4..11 bytes (3 bits) from an 11-bit offset (3 tag bits + 1 byte);
* 2: a copy of 1..64 bytes (6 bits) from a 2-byte little-endian offset;
* 3: the same with a 4-byte offset.
A copy's offset counts back from the end of the output and may be shorter than its length,
in which case the copy repeats the bytes it has just written.
"""


class SnappyError(ValueError):
    """Corrupt compressed data; the message says where and what was wrong."""


def read_varint(data, pos):
    """(value, position after it) of the base-128 varint at `pos`."""
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise SnappyError(f"varint at byte {pos} runs past the data")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7


def decompress(data):
    """The uncompressed bytes of one Snappy block."""
    data = bytes(data)
    expected, pos = read_varint(data, 0)
    out = bytearray()
    while pos < len(data):
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            pos = literal(data, pos, tag, out)
            continue
        if kind == 1:
            length, offset = 4 + ((tag >> 2) & 7), ((tag >> 5) << 8) | byte_at(data, pos)
            pos += 1
        else:
            width = 2 if kind == 2 else 4
            length = (tag >> 2) + 1
            offset = int.from_bytes(bytes_at(data, pos, width), "little")
            pos += width
        copy(out, offset, length, pos)
    if len(out) != expected:
        raise SnappyError(f"expected {expected} uncompressed bytes, decoded {len(out)}")
    return bytes(out)


def literal(data, pos, tag, out):
    """Appends the literal that `tag` opens; returns the position after it."""
    length = tag >> 2
    if length >= 60:
        width = length - 59
        length = int.from_bytes(bytes_at(data, pos, width), "little")
        pos += width
    out += bytes_at(data, pos, length + 1)
    return pos + length + 1


def copy(out, offset, length, pos):
    if offset == 0 or offset > len(out):
        raise SnappyError(
            f"copy at byte {pos} reaches {offset} bytes back, only {len(out)} written"
        )
    start = len(out) - offset
    if offset >= length:
        out += out[start : start + length]
        return
    for k in range(length):  # overlapping: each byte may be one this copy wrote
        out.append(out[start + k])


def byte_at(data, pos):
    if pos >= len(data):
        raise SnappyError(f"element at byte {pos} runs past the data")
    return data[pos]


def bytes_at(data, pos, count):
    if pos + count > len(data):
        raise SnappyError(f"element at byte {pos} needs {count} bytes, {len(data) - pos} remain")
    return data[pos : pos + count]
