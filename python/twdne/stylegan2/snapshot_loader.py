"""Rebuilds G_ema of a stylegan2-ada-pytorch / stylegan3 snapshot pickle as twdne modules."""

import torch

from ..errors import ModelFileError
from .network import Generator
from .safe_unpickler import PersistentRecord

# Module classes of the StyleGAN2 generator; anything else in G_ema is another architecture.
KNOWN_CLASSES = {
    "Generator",
    "MappingNetwork",
    "SynthesisNetwork",
    "SynthesisBlock",
    "SynthesisLayer",
    "ToRGBLayer",
    "FullyConnectedLayer",
}
STYLEGAN3_CLASSES = {"SynthesisInput"}

# Constructor arguments that change nothing at inference, and those we read ourselves.
IGNORED_KWARGS = {"w_avg_beta", "fp16_channels_last", "channels_last", "epochs"}
MAPPING_KWARGS = {"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier"}
SYNTHESIS_KWARGS = {"channel_base", "channel_max", "num_fp16_res", "conv_clamp"}
BLOCK_KWARGS = {"resample_filter", "use_noise", "activation"}
TOP_KWARGS = {"z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"}


def is_snapshot(data):
    return isinstance(data, dict) and isinstance(data.get("G_ema"), PersistentRecord)


def load_snapshot(path, data):
    """(Generator, init kwargs) from the snapshot's G_ema; unsupported networks are refused."""
    record = data["G_ema"]
    check_classes(path, record, "G_ema")
    kwargs = generator_kwargs(path, record)
    try:
        G = Generator(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(path, "StyleGAN2 generator arguments", f"{kwargs} ({exc})") from None
    copy_tensors(path, G, record)
    return G.eval().requires_grad_(False), kwargs


def check_classes(path, record, where):
    """Walks the module tree and refuses, by name, any class that is not StyleGAN2's."""
    name = record.class_name
    short = name.rsplit(".", 1)[-1]
    if "stylegan3" in name or short in STYLEGAN3_CLASSES:
        received = f"{where} of class {name!r}: StyleGAN3 alias-free synthesis is not supported"
        raise ModelFileError(path, "a StyleGAN2 generator", received)
    if short not in KNOWN_CLASSES:
        raise ModelFileError(path, "a StyleGAN2 generator", f"{where} of class {name!r}")
    for child, sub in record.state.get("_modules", {}).items():
        if not isinstance(sub, PersistentRecord):
            kind = type(sub).__name__
            raise ModelFileError(path, "a StyleGAN2 generator", f"{where}.{child} of type {kind}")
        check_classes(path, sub, f"{where}.{child}")


def generator_kwargs(path, record):
    """Generator(...) arguments from the recorded init kwargs, refusing what changes the math."""
    if record.init_args:
        raise ModelFileError(path, "keyword-only init arguments", f"{record.init_args!r}")
    given = dict(record.init_kwargs)
    mapping = dict(given.pop("mapping_kwargs", None) or {})
    synthesis = dict(given.pop("synthesis_kwargs", None) or {})
    # stylegan3's networks_stylegan2.Generator takes synthesis kwargs flattened.
    for key in list(given):
        if key not in TOP_KWARGS:
            synthesis[key] = given.pop(key)
    missing = TOP_KWARGS - set(given)
    if missing:
        raise ModelFileError(path, f"init kwargs {sorted(TOP_KWARGS)}", f"no {sorted(missing)}")
    check_architecture(path, synthesis)
    known = SYNTHESIS_KWARGS | BLOCK_KWARGS
    unknown = [k for k in synthesis if k not in known | IGNORED_KWARGS]
    unknown += [f"mapping_kwargs.{k}" for k in mapping if k not in MAPPING_KWARGS | IGNORED_KWARGS]
    if unknown:
        raise ModelFileError(path, "StyleGAN2 generator arguments", f"unknown kwargs {unknown}")
    return dict(
        **given,
        mapping_kwargs={k: v for k, v in mapping.items() if k in MAPPING_KWARGS},
        synthesis_kwargs={k: v for k, v in synthesis.items() if k in known},
    )


def check_architecture(path, synthesis):
    architecture = synthesis.pop("architecture", "skip")
    if architecture != "skip":
        received = f"architecture={architecture!r} (only the skip generator is implemented)"
        raise ModelFileError(path, "a StyleGAN2 skip generator", received)


def record_tensors(record, prefix=""):
    """{"synthesis.b4.const": tensor, ...} of a module record's parameters and buffers."""
    found = {}
    for group in ("_parameters", "_buffers"):
        for name, value in (record.state.get(group) or {}).items():
            if value is not None:
                found[prefix + name] = value
    for child, sub in record.state.get("_modules", {}).items():
        found.update(record_tensors(sub, f"{prefix}{child}."))
    return found


def copy_tensors(path, G, record):
    """Fills every buffer of G from the record; a missing, extra or misshapen tensor is refused."""
    stored = record_tensors(record)
    for name, tensor in G.named_buffers():
        value = stored.pop(name, None)
        if not isinstance(value, torch.Tensor):
            raise ModelFileError(path, f"a tensor {name}", "none in G_ema")
        if tuple(value.shape) != tuple(tensor.shape):
            shape = f"shape {list(value.shape)} instead of {list(tensor.shape)}"
            raise ModelFileError(path, f"G_ema tensor {name} of shape {list(tensor.shape)}", shape)
        tensor.copy_(value.to(tensor.dtype))
    if stored:
        extra = sorted(stored)[:5]
        raise ModelFileError(
            path, "only StyleGAN2 skip-generator tensors", f"extra tensors {extra}"
        )
