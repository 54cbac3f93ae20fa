"""Builds a GPT2 from a model folder: Hugging Face files or OpenAI's TensorFlow checkpoint.

Accepted folders:
* config.json + model.safetensors or pytorch_model.bin (Hugging Face GPT2LMHeadModel), with
  or without the `transformer.` key prefix; lm_head.weight is tied to wte and the legacy
  attn.bias / attn.masked_bias buffers are ignored.
* hparams.json + PREFIX.index + PREFIX.data-NNNNN-of-NNNNN (OpenAI's release, e.g.
  model.ckpt.*), with names like model/h0/attn/c_attn/w [1, 768, 2304]. Optimizer slots and
  step counters that fine-tuning scripts add are not read.

Both are first turned into one neutral layout: names without prefix (wte.weight,
h.0.attn.c_attn.weight, ...) and Conv1D weights as [in, out], then checked against the config.
"""

import json
import re
from pathlib import Path

import torch
from torch import nn

from ..errors import ModelFileError
from .gpt2 import GPT2, GPT2Config
from .model_folders import find_tf_index, gpt2_layout

TANH_GELUS = ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")
CONV1D_WEIGHTS = (
    "attn.c_attn.weight",
    "attn.c_proj.weight",
    "mlp.c_fc.weight",
    "mlp.c_proj.weight",
)
OPENAI_NAME = re.compile(
    r"^model/(wte|wpe|ln_f/[gb]|h(\d+)/(ln_1|ln_2|attn/c_attn|attn/c_proj|mlp/c_fc|mlp/c_proj)/([gbw]))$"
)
OPENAI_SUFFIX = {"g": "weight", "b": "bias", "w": "weight"}


def load_gpt2(folder, device="cpu"):
    """(GPT2 on `device` in eval mode, format name) from a model folder."""
    folder = Path(folder)
    layout = gpt2_layout(folder)
    if layout in ("safetensors", "pytorch"):
        config = config_from_hf(folder / "config.json")
        tensors = read_hf_weights(folder, layout)
        source = folder / ("model.safetensors" if layout == "safetensors" else "pytorch_model.bin")
        tensors = neutral_from_hf(tensors)
    elif layout == "tf":
        config = config_from_hparams(folder / "hparams.json")
        source = find_tf_index(folder)
        tensors = read_openai_tf(source)
    else:
        raise ModelFileError(
            folder,
            "a folder with config.json + model.safetensors or pytorch_model.bin, "
            "or hparams.json + model.ckpt.index + model.ckpt.data-*",
            "a path without them" if folder.exists() else "a path that does not exist",
        )
    return build_gpt2(config, tensors, source, device), layout


# Configs


def config_from_hf(path):
    """GPT2Config from a Hugging Face config.json; a non-GPT-2 or non-tanh-GELU model is refused."""
    raw = read_json(path)
    activation = raw.get("activation_function", "gelu_new")
    if activation not in TANH_GELUS:
        raise ModelFileError(
            path, f"activation_function among {', '.join(TANH_GELUS)}", repr(activation)
        )
    try:
        return GPT2Config(
            n_vocab=int(raw["vocab_size"]),
            n_ctx=int(raw.get("n_positions", raw.get("n_ctx"))),
            n_embd=int(raw["n_embd"]),
            n_head=int(raw["n_head"]),
            n_layer=int(raw["n_layer"]),
            n_inner=int(raw.get("n_inner") or 0),
            eps=float(raw.get("layer_norm_epsilon", 1e-5)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(
            path,
            "a GPT-2 config (vocab_size, n_positions, n_embd, n_head, n_layer)",
            f"missing or bad {exc}",
        )


def config_from_hparams(path):
    """GPT2Config from OpenAI's hparams.json (n_vocab, n_ctx, n_embd, n_head, n_layer)."""
    raw = read_json(path)
    try:
        fields = {key: int(raw[key]) for key in ("n_vocab", "n_ctx", "n_embd", "n_head", "n_layer")}
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(
            path, "hparams with n_vocab, n_ctx, n_embd, n_head, n_layer", f"missing or bad {exc}"
        )
    return GPT2Config(**fields)


def read_json(path):
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(path, "a JSON file", "a path that does not exist") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(path, "a JSON object", f"unreadable JSON ({exc})")
    if not isinstance(raw, dict):
        raise ModelFileError(path, "a JSON object", f"a {type(raw).__name__}")
    return raw


# Hugging Face weights


def read_hf_weights(folder, layout):
    if layout == "safetensors":
        from .safetensors import read_safetensors

        return read_safetensors(folder / "model.safetensors")
    return read_torch_state(folder / "pytorch_model.bin")


def read_torch_state(path):
    """A state dict from a torch.save file, loaded with weights_only so no pickled code runs."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds; all mean "not loadable"
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(
            path, "a PyTorch state dict of tensors only", f"a file torch refuses ({message})"
        )
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ModelFileError(
            path, "a dict of name -> tensor", f"a {type(state).__name__} of other objects"
        )
    return state


def neutral_from_hf(tensors):
    """Drops the `transformer.` prefix, the tied lm_head and the legacy mask buffers."""
    neutral = {}
    for name, tensor in tensors.items():
        name = name.removeprefix("transformer.")
        if name == "lm_head.weight" or name.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        neutral[name] = tensor
    return neutral


# OpenAI TensorFlow weights


def neutral_name_of_openai(name):
    """model/h3/attn/c_attn/w -> h.3.attn.c_attn.weight; None for names GPT-2 does not use."""
    match = OPENAI_NAME.match(name)
    if not match:
        return None
    whole, layer, part, leaf = match.groups()
    if layer is None:
        return "ln_f." + OPENAI_SUFFIX[whole[-1]] if whole.startswith("ln_f") else whole + ".weight"
    return f"h.{layer}.{part.replace('/', '.')}.{OPENAI_SUFFIX[leaf]}"


def neutral_from_openai(tensors):
    """Renames OpenAI's variables and drops the leading 1 of its [1, in, out] conv weights."""
    neutral = {}
    for name, tensor in tensors.items():
        target = neutral_name_of_openai(name)
        if target is None:
            continue
        if target.endswith(CONV1D_WEIGHTS) and tensor.dim() == 3 and tensor.shape[0] == 1:
            tensor = tensor[0]
        neutral[target] = tensor
    return neutral


def read_openai_tf(index_path):
    """The neutral tensors of an OpenAI TF checkpoint, reading only GPT-2's own variables."""
    from .tf_checkpoint import TFCheckpoint

    checkpoint = TFCheckpoint(index_path)
    wanted = [name for name in checkpoint.names() if neutral_name_of_openai(name) is not None]
    tensors = {name: torch.from_numpy(checkpoint.read(name)) for name in wanted}
    return neutral_from_openai(tensors)


# Building the model


def expected_shapes(config):
    """The neutral name -> shape table a config implies."""
    C, inner = config.n_embd, config.mlp_width
    shapes = {"wte.weight": (config.n_vocab, C), "wpe.weight": (config.n_ctx, C)}
    shapes.update({"ln_f.weight": (C,), "ln_f.bias": (C,)})
    for i in range(config.n_layer):
        per_layer = {
            "ln_1.weight": (C,), "ln_1.bias": (C,), "ln_2.weight": (C,), "ln_2.bias": (C,),
            "attn.c_attn.weight": (C, 3 * C), "attn.c_attn.bias": (3 * C,),
            "attn.c_proj.weight": (C, C), "attn.c_proj.bias": (C,),
            "mlp.c_fc.weight": (C, inner), "mlp.c_fc.bias": (inner,),
            "mlp.c_proj.weight": (inner, C), "mlp.c_proj.bias": (C,),
        }  # fmt: skip
        shapes.update({f"h.{i}.{key}": shape for key, shape in per_layer.items()})
    return shapes


def build_gpt2(config, tensors, source, device="cpu", dtype=torch.float32):
    """A GPT2 whose parameters are `tensors` (neutral layout), checked name by name and shape."""
    shapes = expected_shapes(config)
    missing = [name for name in shapes if name not in tensors]
    if missing:
        raise ModelFileError(
            source, f"GPT-2 weights for {config.n_layer} layers", f"no {', '.join(missing[:4])}"
        )
    for name, shape in shapes.items():
        if tuple(tensors[name].shape) != shape:
            raise ModelFileError(
                source, f"{name} of shape {list(shape)}", f"shape {list(tensors[name].shape)}"
            )
    model = GPT2(config, device="meta")
    for name in shapes:
        tensor = tensors[name].to(dtype)
        if name.endswith(CONV1D_WEIGHTS):
            tensor = tensor.t()  # Conv1D [in,out] -> nn.Linear [out,in]
        set_parameter(model, name, tensor.contiguous().to(device))
    return model.eval()


def set_parameter(model, name, tensor):
    """Puts `tensor` in place of the (meta) parameter `name`, without copying it again."""
    owner_path, _, leaf = name.rpartition(".")
    owner = model.get_submodule(owner_path)
    owner._parameters[leaf] = nn.Parameter(tensor, requires_grad=False)
