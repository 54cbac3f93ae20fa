"""The model registry: which class serves each kind, and how a file's kind is recognised."""

import importlib
from pathlib import Path

from ..errors import ModelFileError
from ..text.model_folders import looks_like_charrnn, looks_like_gpt2
from ..waifu2x.model_files import looks_like_cunet, looks_like_upconv7

# kind -> "module:Class", imported only when that kind is loaded.
KINDS = {
    "null": "twdne.models.null:NullGenerator",
    "scripted": "twdne.models.scripted:ScriptedTextModel",
    "dcgan": "twdne.models.dcgan:DCGANGenerator",
    "stylegan2": "twdne.models.stylegan2:StyleGAN2Generator",
    "gpt2": "twdne.models.text:GPT2TextModel",
    "charrnn": "twdne.models.text:CharRNNTextModel",
    "waifu2x-upconv7": "twdne.models.waifu2x:UpConv7Upscaler",
    "waifu2x-cunet": "twdne.models.waifu2x:CUNetUpscaler",
}


def register(kind, target):
    """Adds a kind; `target` is "package.module:Class"."""
    KINDS[kind] = target


def detect_kind(path):
    """Guesses a model kind from a file's name and first bytes; raises ModelFileError if unknown."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(path, "an existing model file", "a path that does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise ModelFileError(path, "a model file", "an empty file")
    head = read_head(path)
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "dcgan"
    for kind, test in DETECTORS:
        if test(path, head):
            return kind
    raise ModelFileError(
        path, f"a model file of a known kind ({', '.join(sorted(KINDS))})", describe_bytes(head)
    )


# (kind, predicate(path, first 8 bytes)) pairs that later kinds append to.
DETECTORS = [
    (
        "stylegan2",
        lambda path, head: path.is_file() and (path.suffix == ".pkl" or head[:1] == b"\x80"),
    ),
    ("gpt2", looks_like_gpt2),
    ("charrnn", looks_like_charrnn),
    ("waifu2x-upconv7", looks_like_upconv7),
    ("waifu2x-cunet", looks_like_cunet),
]


def read_head(path, size=8):
    """The first bytes of a file (b"" for a folder), without reading the rest."""
    if not path.is_file():
        return b""
    with open(path, "rb") as handle:
        return handle.read(size)


def describe_bytes(head):
    if not head:
        return "a directory of no known layout"
    return f"a file starting with bytes {head.hex(' ')}"


def load_model(kind, path, device="cpu", options=None):
    """Loads `path` as `kind` ("auto" detects it) on `device`; the one place models are built."""
    if kind in (None, "auto"):
        kind = detect_kind(path)
    if kind not in KINDS:
        raise ModelFileError(path, f"a kind among {', '.join(sorted(KINDS))}", repr(kind))
    if kind != "null" and not Path(path).exists():
        raise ModelFileError(path, "an existing model file", "a path that does not exist")
    module_name, class_name = KINDS[kind].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(path, device=device, options=options)
