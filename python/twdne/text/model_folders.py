"""Recognises text-model folders by the files in them, without importing torch."""

import json
from pathlib import Path


def find_tf_index(folder):
    """A TF checkpoint's .index file: model.ckpt.index if present, else the only *.index."""
    folder = Path(folder)
    if (folder / "model.ckpt.index").is_file():
        return folder / "model.ckpt.index"
    found = sorted(folder.glob("*.index"))
    return found[0] if len(found) == 1 else None


def gpt2_layout(folder):
    """Which GPT-2 layout a folder holds: "safetensors", "pytorch", "tf" or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
        return "safetensors"
    if (folder / "config.json").is_file() and (folder / "pytorch_model.bin").is_file():
        return "pytorch"
    if (folder / "hparams.json").is_file() and find_tf_index(folder) is not None:
        return "tf"
    return None


def looks_like_gpt2(path, head=b""):
    return gpt2_layout(path) is not None


def looks_like_charrnn(path, head=b""):
    """A folder with vocab.json and a manifest.json naming the char-RNN's softmax weights."""
    path = Path(path)
    if not (path / "manifest.json").is_file() or not (path / "vocab.json").is_file():
        return False
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(manifest, dict) and "rnnlm/softmax_w" in manifest
