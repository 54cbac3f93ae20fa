"""The TensorFlow checkpoint reader on real index files, Snappy, and a GPT-2 written as TF."""

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from twdne.errors import ModelFileError
from twdne.text import snappy
from twdne.text.gpt2_weights import (
    config_from_hparams,
    expected_shapes,
    load_gpt2,
    neutral_from_hf,
    neutral_name_of_openai,
)
from twdne.text.safetensors import read_safetensors
from twdne.text.tf_checkpoint import (
    CRC_CHECK_LIMIT,
    TFCheckpoint,
    block_entries,
    crc32c,
    masked_crc32c,
    read_block,
    read_handle,
)

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "gpt2"
TF = FIXTURES / "tf"
TINY = FIXTURES / "tiny"


def test_real_gpt2_124m_index_lists_148_tensors():
    checkpoint = TFCheckpoint(TF / "gpt2-124M" / "model.ckpt.index")
    names = checkpoint.names()
    assert len(names) == 148
    assert checkpoint.shape("model/h0/attn/c_attn/w") == [1, 768, 2304]
    assert checkpoint.shape("model/wte") == [50257, 768]
    assert checkpoint.shape("model/wpe") == [1024, 768]
    assert checkpoint.shape("model/h11/mlp/c_proj/w") == [1, 3072, 768]
    assert {checkpoint.dtype(n) for n in names} == {"float32"}
    # every variable maps onto the config's weights, and all fit in the 498 MB data file
    shapes = expected_shapes(config_from_hparams(TF / "gpt2-124M" / "hparams.json"))
    mapped = {neutral_name_of_openai(n): checkpoint.shape(n) for n in names}
    assert set(mapped) == set(shapes)
    for name, shape in mapped.items():
        assert (shape[1:] if len(shape) == 3 else shape) == list(shapes[name])  # [1, in, out]
    spans = sorted((checkpoint.entries[n]["offset"], checkpoint.entries[n]["size"]) for n in names)
    assert all(a + size == b for (a, size), (b, _) in zip(spans, spans[1:]))
    assert spans[-1][0] + spans[-1][1] == 4 * sum(int(np.prod(s)) for s in shapes.values())


def test_counter_checkpoint_value():
    checkpoint = TFCheckpoint(TF / "tfserving-counter" / "variables.index")
    assert checkpoint.names() == ["counter"]
    value = checkpoint.read("counter")
    assert value.shape == () and value.dtype == np.float32 and float(value) == 0.0


def test_half_plus_two_snappy_checkpoint_values():
    index = TF / "tfserving-half_plus_two_cpu" / "variables.index"
    raw = index.read_bytes()
    index_handle, _ = read_handle(index, raw[-48:], read_handle(index, raw[-48:], 0)[1])
    ((_, data_value),) = block_entries(index, read_block(index, raw, index_handle))
    (offset, size), _ = read_handle(index, data_value, 0)
    assert raw[offset + size] == 1  # the data block is Snappy-compressed
    checkpoint = TFCheckpoint(index)
    values = {name: float(checkpoint.read(name)) for name in checkpoint.names()}
    assert values == {"a": 0.5, "a2": 0.5, "b": 2.0, "c": 3.0, "c2": 3.0}


def test_crc32c_known_value():
    assert crc32c(b"123456789") == 0xE3069283


def test_snappy_literals_and_overlapping_copies():
    # "ab" then an 8-byte copy from 2 back (overlapping), then a 2-byte-offset copy of 4 bytes
    block = bytes([14, 0x04]) + b"ab" + bytes([0x11, 0x02]) + bytes([0x0E, 0x0A, 0x00])
    assert snappy.decompress(block) == b"ab" * 7
    long_literal = bytes(range(200))
    block = bytes([200, 1]) + bytes([60 << 2, 199]) + long_literal
    assert snappy.decompress(block) == long_literal


def test_snappy_bad_offset_is_reported():
    with pytest.raises(snappy.SnappyError, match="reaches 5 bytes back"):
        snappy.decompress(bytes([6, 0x00]) + b"a" + bytes([0x05, 0x05]))


def test_corrupt_index_is_named(tmp_path):
    data = bytearray((TF / "tfserving-counter" / "variables.index").read_bytes())
    data[12] ^= 0xFF
    (tmp_path / "variables.index").write_bytes(bytes(data))
    with pytest.raises(ModelFileError) as error:
        TFCheckpoint(tmp_path / "variables.index")
    assert str(tmp_path / "variables.index") in str(error.value) and "CRC" in str(error.value)


def test_not_an_sstable_is_named(tmp_path):
    (tmp_path / "model.ckpt.index").write_bytes(b"hello" * 20)
    with pytest.raises(ModelFileError, match="table magic number"):
        TFCheckpoint(tmp_path / "model.ckpt.index")


def test_missing_data_shard_is_named(tmp_path):
    shutil.copy(TF / "tfserving-counter" / "variables.index", tmp_path / "variables.index")
    with pytest.raises(ModelFileError) as error:
        TFCheckpoint(tmp_path / "variables.index").read("counter")
    assert "variables.data-00000-of-00001" in str(error.value) and "does not exist" in str(
        error.value
    )


# A minimal bundle writer (one raw data block, no prefix sharing), to load GPT-2 through TF


def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def field(number, wire, payload):
    tag = varint(number << 3 | wire)
    return tag + (varint(len(payload)) + payload if wire == 2 else payload)


def block(entries):
    body = b"".join(varint(0) + varint(len(k)) + varint(len(v)) + k + v for k, v in entries)
    return body + struct.pack("<II", 0, 1)


def write_bundle(prefix, arrays):
    data, entries = bytearray(), []
    for name in sorted(arrays):
        raw = np.ascontiguousarray(arrays[name], dtype="<f4").tobytes()
        dims = b"".join(field(2, 2, field(1, 0, varint(d))) for d in arrays[name].shape)
        proto = field(1, 0, varint(1)) + field(2, 2, dims) + field(4, 0, varint(len(data)))
        # pure-Python CRC-32C is slow; the reader checks it only for tensors up to the limit
        crc = masked_crc32c(raw) if len(raw) <= CRC_CHECK_LIMIT else 0
        proto += field(5, 0, varint(len(raw))) + field(6, 5, struct.pack("<I", crc))
        entries.append((name.encode(), proto))
        data += raw
    header = field(1, 0, varint(1))
    table, handles = bytearray(), []
    for contents in (block([(b"", header)] + entries), block([])):
        handles.append(varint(len(table)) + varint(len(contents)))
        table += contents + b"\0" + struct.pack("<I", masked_crc32c(contents + b"\0"))
    index = block([(entries[-1][0], handles[0])])
    index_handle = varint(len(table)) + varint(len(index))
    table += index + b"\0" + struct.pack("<I", masked_crc32c(index + b"\0"))
    footer = handles[1] + index_handle
    table += footer + b"\0" * (40 - len(footer)) + struct.pack("<Q", 0xDB4775248B80FB57)
    Path(prefix + ".index").write_bytes(bytes(table))
    Path(prefix + ".data-00000-of-00001").write_bytes(bytes(data))


def test_gpt2_loads_from_a_tf_bundle(tmp_path):
    neutral = neutral_from_hf(read_safetensors(TINY / "model.safetensors"))
    openai = {}
    for name, tensor in neutral.items():
        target = next(n for n in candidate_openai_names(name) if neutral_name_of_openai(n) == name)
        openai[target] = tensor.numpy()[None] if target.endswith("/w") else tensor.numpy()
    openai["model/h0/attn/c_attn/w/Adam"] = np.zeros((1, 32, 96), np.float32)  # not read
    write_bundle(str(tmp_path / "model.ckpt"), openai)
    config = json.loads((TINY / "config.json").read_text())
    hparams = {"n_vocab": 50257, "n_ctx": config["n_ctx"], "n_embd": 32, "n_head": 4, "n_layer": 2}
    (tmp_path / "hparams.json").write_text(json.dumps(hparams))
    model, layout = load_gpt2(tmp_path)
    assert layout == "tf"
    golden = json.loads((TINY / "golden.json").read_text())
    logits = np.load(TINY / "golden-last-logits.npy")
    for prompt in golden["prompts"]:
        with torch.no_grad():
            out = model(torch.tensor([prompt["prompt_ids"]]), last_only=True)[0, -1]
        assert np.abs(out.numpy() - logits[prompt["last_logits_row"]]).max() < 1e-4


def candidate_openai_names(name):
    """OpenAI names that might stand for a neutral name; the reader's mapping picks the one."""
    parts = name.split(".")
    if parts[0] in ("wte", "wpe"):
        return [f"model/{parts[0]}"]
    if parts[0] == "ln_f":
        return ["model/ln_f/g", "model/ln_f/b"]
    stem = f"model/h{parts[1]}/" + "/".join(parts[2:-1])
    return [stem + "/g", stem + "/b", stem + "/w"]
