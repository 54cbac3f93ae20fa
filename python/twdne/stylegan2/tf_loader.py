"""Maps an NVlabs/stylegan2 TensorFlow pickle's Gs variables onto twdne modules."""

import re

import numpy as np
import torch

from ..errors import ModelFileError
from .network import Generator
from .safe_unpickler import NumericArrayBuilder, TFNetworkRecord

# static_kwargs -> (Generator argument path, default), after NVlabs' TF defaults.
TF_KWARGS = {
    "latent_size": ("z_dim", 512),
    "label_size": ("c_dim", 0),
    "dlatent_size": ("w_dim", 512),
    "resolution": ("img_resolution", 1024),
    "num_channels": ("img_channels", 3),
    "fmap_max": ("synthesis.channel_max", 512),
    "num_fp16_res": ("synthesis.num_fp16_res", 0),
    "conv_clamp": ("synthesis.conv_clamp", None),
    "resample_kernel": ("synthesis.resample_filter", [1, 3, 3, 1]),
    "use_noise": ("synthesis.use_noise", True),
    "nonlinearity": ("synthesis.activation", "lrelu"),
    "mapping_layers": ("mapping.num_layers", 8),
    "label_fmaps": ("mapping.embed_features", None),
    "mapping_fmaps": ("mapping.layer_features", None),
    "mapping_nonlinearity": ("mapping.activation", "lrelu"),
    "mapping_lrmul": ("mapping.lr_multiplier", 0.01),
}
# Run-time settings and training-only switches that do not change the weights' meaning.
TF_IGNORED = {
    "truncation_psi",
    "truncation_cutoff",
    "style_mixing_prob",
    "structure",
    "conditioning",
    "fused_modconv",
    "dlatent_avg_beta",
    "w_avg_beta",
    "is_training",
    "is_validation",
    "randomize_noise",
    "return_dlatents",
    "dtype",
    "dlatent_broadcast",
}


def is_tf_pickle(data):
    return (
        isinstance(data, tuple)
        and len(data) == 3
        and all(isinstance(net, TFNetworkRecord) for net in data)
    )


def load_tf_pickle(path, data):
    """(Generator, kwargs) from the Gs network of a (G, D, Gs) TF pickle."""
    gs = data[2].state
    if gs.get("version", 0) < 4:
        raise ModelFileError(
            path, "a TF network pickle of version 4 or later", f"version {gs.get('version')}"
        )
    variables = collect_variables(path, data[2])
    kwargs = generator_kwargs(path, gs.get("static_kwargs") or {}, variables)
    G = Generator(**kwargs)
    fill_from_tf(path, G, variables)
    return G.eval().requires_grad_(False), kwargs


def as_array(path, name, value):
    if isinstance(value, NumericArrayBuilder):
        value = value.array
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise ModelFileError(path, f"a numeric array for TF variable {name}", type(value).__name__)
    return value


def collect_variables(path, net, prefix=""):
    """{"mapping/Dense0/weight": array, "synthesis/noise0": array, "dlatent_avg": ...}."""
    found = {}
    for name, value in net.state.get("variables") or []:
        found[prefix + name] = as_array(path, prefix + name, value)
    for name, component in (net.state.get("components") or {}).items():
        if not isinstance(component, TFNetworkRecord):
            raise ModelFileError(
                path, f"a TF network as component {name}", type(component).__name__
            )
        found.update(collect_variables(path, component, f"{prefix}{name}/"))
    return found


def generator_kwargs(path, static_kwargs, variables):
    unknown = sorted(
        set(static_kwargs) - set(TF_KWARGS) - TF_IGNORED - {"fmap_base", "architecture"}
    )
    if unknown:
        raise ModelFileError(path, "StyleGAN2 TF static_kwargs", f"unknown kwargs {unknown}")
    architecture = static_kwargs.get("architecture", "skip")
    if architecture != "skip" or any(k.startswith("synthesis/ToRGB_lod") for k in variables):
        received = f"architecture={architecture!r} (only the skip generator is implemented)"
        raise ModelFileError(path, "a StyleGAN2 skip generator", received)
    kwargs = {"mapping_kwargs": {}, "synthesis_kwargs": {}}
    kwargs["synthesis_kwargs"]["channel_base"] = static_kwargs.get("fmap_base", 16384) * 2
    for tf_name, (target, default) in TF_KWARGS.items():
        value = static_kwargs.get(tf_name, default)
        group, _, key = target.rpartition(".")
        (kwargs[f"{group}_kwargs"] if group else kwargs)[key] = default if value is None else value
    return kwargs


def tf_source(name):
    """The TF variable (and how to convert it) that holds one twdne buffer, or None."""
    rules = [
        (r"mapping\.w_avg", "dlatent_avg", "plain"),
        (r"mapping\.embed\.weight", "mapping/LabelEmbed/weight", "dense"),
        (r"mapping\.embed\.bias", "mapping/LabelEmbed/bias", "plain"),
        (r"mapping\.fc(\d+)\.weight", "mapping/Dense{0}/weight", "dense"),
        (r"mapping\.fc(\d+)\.bias", "mapping/Dense{0}/bias", "plain"),
        (r"synthesis\.b4\.const", "synthesis/4x4/Const/const", "first"),
        (r"synthesis\.b(\d+)\.(conv0|conv1|torgb)\.(.*)", None, None),
        (r"synthesis\.b(\d+)\.resample_filter", "", "skip"),
    ]
    for pattern, source, how in rules:
        match = re.fullmatch(pattern, name)
        if match and source is not None:
            return source.format(*match.groups()), how
        if match:
            return layer_source(*match.groups())
    return None


def layer_source(res, layer, field):
    """Variables of one synthesis layer: weights [kh,kw,in,out], mod_bias stored minus one."""
    scope = {"conv0": "Conv0_up", "conv1": "Conv1" if res != "4" else "Conv", "torgb": "ToRGB"}
    base = f"synthesis/{res}x{res}/{scope[layer]}"
    table = {
        "weight": (f"{base}/weight", "conv_up" if layer == "conv0" else "conv"),
        "bias": (f"{base}/bias", "plain"),
        "noise_strength": (f"{base}/noise_strength", "plain"),
        "affine.weight": (f"{base}/mod_weight", "dense"),
        "affine.bias": (f"{base}/mod_bias", "plus_one"),
        "resample_filter": ("", "skip"),
    }
    if field == "noise_const":
        log2 = int(np.log2(int(res)))
        index = log2 * 2 - 5 if layer == "conv0" else log2 * 2 - 4
        return f"synthesis/noise{index}", "noise"
    return table.get(field)


# TF layout -> torch layout.
CONVERT = {
    "plain": lambda a: a,
    "dense": lambda a: a.transpose(),  # [in,out] -> [out,in]
    "conv": lambda a: a.transpose(3, 2, 0, 1),  # [kh,kw,in,out] -> [out,in,kh,kw]
    "conv_up": lambda a: a[::-1, ::-1].transpose(3, 2, 0, 1),  # TF stores it flipped
    "plus_one": lambda a: a + 1,  # TF adds the modulation bias init of 1 at run time
    "first": lambda a: a[0],
    "noise": lambda a: a[0, 0],
}


def fill_from_tf(path, G, variables):
    """Copies every TF variable into its buffer; filters are rebuilt from resample_kernel."""
    for name, tensor in G.named_buffers():
        source = tf_source(name)
        if source is None:
            raise ModelFileError(
                path, "a known StyleGAN2 generator layout", f"no TF source for {name}"
            )
        tf_name, how = source
        if how == "skip":
            continue
        if tf_name not in variables:
            raise ModelFileError(path, f"the TF variable {tf_name}", "a pickle without it")
        value = np.array(CONVERT[how](variables[tf_name]), dtype=np.float32)
        if tuple(value.shape) != tuple(tensor.shape):
            received = f"shape {list(value.shape)} for {tf_name}"
            raise ModelFileError(path, f"{name} of shape {list(tensor.shape)}", received)
        tensor.copy_(torch.from_numpy(value))
