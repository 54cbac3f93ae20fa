"""GPT-2 forward pass and weight loading against the tiny model's golden logits and greedy ids."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from twdne.errors import ModelFileError
from twdne.text.gpt2_weights import (
    build_gpt2,
    config_from_hf,
    load_gpt2,
    neutral_from_hf,
    neutral_from_openai,
)
from twdne.text.safetensors import read_safetensors, write_safetensors
from twdne.text.sampler import SampleSettings, generate

TINY = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "gpt2" / "tiny"
GOLDEN = json.loads((TINY / "golden.json").read_text())
PROMPTS = GOLDEN["prompts"]
LAST_LOGITS = np.load(TINY / "golden-last-logits.npy")  # [6, 50257]
TOLERANCE = GOLDEN["tolerances"]["last_logits_max_abs"]
EOT = 50256


@pytest.fixture(scope="module")
def model():
    return load_gpt2(TINY)[0]


def last_logits_error(model):
    """Largest |logit - golden| over all prompts' last positions."""
    worst = 0.0
    for prompt in PROMPTS:
        with torch.no_grad():
            logits = model(torch.tensor([prompt["prompt_ids"]]), last_only=True)[0, -1]
        golden = torch.from_numpy(LAST_LOGITS[prompt["last_logits_row"]])
        worst = max(worst, (logits - golden).abs().max().item())
    return worst


def copy_config(folder):
    shutil.copy(TINY / "config.json", folder / "config.json")


def test_logits_from_safetensors(model):
    assert last_logits_error(model) < TOLERANCE


def test_logits_from_pytorch_bin(tmp_path):
    copy_config(tmp_path)
    shutil.copy(TINY / "pytorch_model.bin", tmp_path / "pytorch_model.bin")
    loaded, layout = load_gpt2(tmp_path)
    assert layout == "pytorch"
    assert last_logits_error(loaded) < TOLERANCE


def test_logits_from_no_prefix_safetensors(tmp_path):
    tensors = read_safetensors(TINY / "model.safetensors")
    renamed = {name.replace("transformer.", "", 1): t for name, t in tensors.items()}
    assert not any(name.startswith("transformer.") for name in renamed)
    copy_config(tmp_path)
    write_safetensors(tmp_path / "model.safetensors", renamed, {"format": "pt"})
    loaded, layout = load_gpt2(tmp_path)
    assert layout == "safetensors"
    assert last_logits_error(loaded) < TOLERANCE


def test_safetensors_writer_round_trips_dtypes(tmp_path):
    tensors = {
        "a": torch.randn(3, 4),
        "b": torch.randn(5).to(torch.bfloat16),
        "c": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        "d": torch.randn(2, 2).half(),
    }
    write_safetensors(tmp_path / "x.safetensors", tensors)
    back = read_safetensors(tmp_path / "x.safetensors")
    for name, tensor in tensors.items():
        assert back[name].dtype == tensor.dtype and torch.equal(back[name], tensor)


def to_openai_names(neutral):
    """The tiny model's weights renamed and reshaped the way OpenAI's TF checkpoints hold them."""
    openai = {}
    for name, tensor in neutral.items():
        parts = name.split(".")
        leaf = {"weight": "w", "bias": "b"}[parts[-1]]
        if parts[0] in ("wte", "wpe"):
            openai[f"model/{parts[0]}"] = tensor
        elif parts[0] == "ln_f":
            openai["model/ln_f/" + {"weight": "g", "bias": "b"}[parts[-1]]] = tensor
        elif parts[2].startswith("ln_"):
            openai[f"model/h{parts[1]}/{parts[2]}/" + {"w": "g", "b": "b"}[leaf]] = tensor
        else:
            tensor = tensor[None] if leaf == "w" else tensor  # conv weights are [1, in, out]
            openai[f"model/h{parts[1]}/{parts[2]}/{parts[3]}/{leaf}"] = tensor
    return openai


def test_openai_tf_name_mapping_gives_same_logits():
    neutral = neutral_from_hf(read_safetensors(TINY / "model.safetensors"))
    openai = to_openai_names(neutral)
    assert openai["model/h0/attn/c_attn/w"].shape == (1, 32, 96)
    openai["model/h0/attn/c_attn/w/Adam"] = torch.zeros(1, 32, 96)  # optimizer slots are skipped
    openai["global_step"] = torch.tensor(7)
    mapped = neutral_from_openai(openai)
    assert sorted(mapped) == sorted(neutral)
    loaded = build_gpt2(config_from_hf(TINY / "config.json"), mapped, "in-memory")
    assert last_logits_error(loaded) < TOLERANCE


@pytest.mark.parametrize("use_cache", [True, False], ids=["kv_cache", "no_cache"])
def test_greedy_ids_one_prompt_at_a_time(model, use_cache):
    settings = SampleSettings(temperature=0, max_new_tokens=20, stop_at_eot=False)
    for prompt in PROMPTS:
        out = generate(model, [prompt["prompt_ids"]], [0], settings, EOT, use_cache=use_cache)
        assert out[0]["ids"] == prompt["greedy_ids"], prompt["name"]


@pytest.mark.parametrize("use_cache", [True, False], ids=["kv_cache", "no_cache"])
def test_greedy_ids_in_padded_batch(model, use_cache):
    lengths = {len(p["prompt_ids"]) for p in PROMPTS}
    assert len(lengths) > 2  # the batch really mixes lengths, so rows are padded
    settings = SampleSettings(top_k=1, max_new_tokens=20, stop_at_eot=False)
    prompt_ids = [p["prompt_ids"] for p in PROMPTS]
    out = generate(model, prompt_ids, range(len(PROMPTS)), settings, EOT, use_cache=use_cache)
    assert [o["ids"] for o in out] == [p["greedy_ids"] for p in PROMPTS]


def test_parameter_count_counts_tied_head_once(model):
    # wte 50257x32 + wpe 128x32 + 2 blocks + ln_f
    block = 2 * 2 * 32 + (32 * 96 + 96) + (32 * 32 + 32) + (32 * 128 + 128) + (128 * 32 + 32)
    assert model.parameter_count() == 50257 * 32 + 128 * 32 + 2 * block + 2 * 32


def test_truncated_safetensors_is_named(tmp_path):
    copy_config(tmp_path)
    data = (TINY / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError) as error:
        load_gpt2(tmp_path)
    message = str(error.value)
    assert str(tmp_path / "model.safetensors") in message
    assert "expected" in message and "received data_offsets" in message


def test_not_safetensors_is_named(tmp_path):
    copy_config(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"PK\x03\x04 this is a zip, not safetensors")
    with pytest.raises(ModelFileError, match="header length"):
        load_gpt2(tmp_path)


def test_wrong_shape_is_named(tmp_path):
    config = json.loads((TINY / "config.json").read_text())
    config["n_embd"] = 64
    (tmp_path / "config.json").write_text(json.dumps(config))
    shutil.copy(TINY / "model.safetensors", tmp_path / "model.safetensors")
    with pytest.raises(ModelFileError) as error:
        load_gpt2(tmp_path)
    assert "wte.weight of shape [50257, 64]" in str(error.value)
    assert "received shape [50257, 32]" in str(error.value)


def test_exact_gelu_config_is_refused(tmp_path):
    config = json.loads((TINY / "config.json").read_text())
    config["activation_function"] = "relu"
    (tmp_path / "config.json").write_text(json.dumps(config))
    shutil.copy(TINY / "model.safetensors", tmp_path / "model.safetensors")
    with pytest.raises(ModelFileError, match="activation_function"):
        load_gpt2(tmp_path)


def test_folder_without_weights_is_named(tmp_path):
    with pytest.raises(ModelFileError) as error:
        load_gpt2(tmp_path)
    assert str(tmp_path) in str(error.value) and "config.json" in str(error.value)


def test_pickle_with_code_is_refused(tmp_path):
    copy_config(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("ran",))

    torch.save({"wte.weight": Evil()}, tmp_path / "pytorch_model.bin")
    with pytest.raises(ModelFileError, match="pytorch_model.bin"):
        load_gpt2(tmp_path)
