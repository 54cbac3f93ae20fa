"""Loads any supported StyleGAN2 network pickle into a Generator, and describes it."""

from ..errors import ModelFileError
from .safe_unpickler import PersistentRecord, load_pickle
from .snapshot_loader import is_snapshot, load_snapshot
from .tf_loader import is_tf_pickle, load_tf_pickle

FORMATS = "a stylegan2-ada-pytorch/stylegan3 snapshot dict with G_ema, or a TF (G, D, Gs) tuple"


def load_network(path):
    """(Generator on CPU in eval mode, info dict) for a network pickle; nothing in it is run."""
    data = load_pickle(path)
    if is_snapshot(data):
        G, _ = load_snapshot(path, data)
        fmt, extra = "stylegan2-ada-pytorch", {}
    elif is_tf_pickle(data):
        G, _ = load_tf_pickle(path, data)
        static = data[2].state.get("static_kwargs") or {}
        fmt, extra = "stylegan2-tf", {"tf_truncation_cutoff": static.get("truncation_cutoff")}
    else:
        raise ModelFileError(path, FORMATS, describe_object(data))
    return G, {"format": fmt, **network_info(G), **extra}


def describe_object(data):
    """What a pickle holds instead of a network, in a few words."""
    if isinstance(data, dict):
        keys = sorted(map(str, data))[:6]
        if "G_ema" in data and not isinstance(data["G_ema"], PersistentRecord):
            return f"a snapshot whose G_ema is a {type(data['G_ema']).__name__}"
        return f"a pickled dict with keys {keys}"
    if isinstance(data, (list, tuple)):
        return f"a pickled {type(data).__name__} of {len(data)} items"
    return f"a pickled {type(data).__name__}"


def network_info(G):
    """The facts `twdne inspect` prints: sizes, layers and which resolutions run in float16."""
    synthesis = G.synthesis
    fp16 = [block.resolution for block in synthesis.blocks() if block.use_fp16]
    conv_clamp = synthesis.b4.conv1.conv_clamp
    return {
        "resolution": G.img_resolution,
        "img_channels": G.img_channels,
        "z_dim": G.z_dim,
        "w_dim": G.w_dim,
        "c_dim": G.c_dim,
        "mapping_layers": G.mapping.num_layers,
        "num_ws": G.num_ws,
        "num_fp16_res": len(fp16),
        "fp16_resolutions": fp16,
        "channels": {str(res): ch for res, ch in synthesis.channels.items()},
        "conv_clamp": conv_clamp,
        "parameters": sum(t.numel() for n, t in G.named_buffers() if is_weight(n)),
    }


def is_weight(name):
    """Trained weights, not filters, noise images or the w_avg statistic."""
    return not name.endswith(("resample_filter", "noise_const", "w_avg"))
