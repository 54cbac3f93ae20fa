"""The DCGAN against an independent float64 NumPy forward pass of the same Keras file."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from twdne.errors import ModelFileError
from twdne.models import detect_kind, load_model
from twdne.seeds import z_from_seeds

DCGAN = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "models"
    / "dcgan-anime"
    / "generator.h5"
)


def keras_weights(path):
    """(layer configs, {layer name: {weight name: array}}) read directly with h5py."""
    with h5py.File(path, "r") as f:
        layers = json.loads(f.attrs["model_config"])["config"]["layers"]
        weights = {name: datasets_of(group) for name, group in f["model_weights"].items()}
    return layers, weights


def datasets_of(group):
    """{"kernel": array, ...} for every dataset under an HDF5 group, named without ":0"."""
    found = {}

    def visit(key, obj):
        if isinstance(obj, h5py.Dataset):
            found[key.split("/")[-1][:-2]] = obj[()]

    group.visititems(visit)
    return found


def conv_transpose_same(x, kernel, bias, stride):
    """TF 'same' transposed conv on [C,H,W] in float64: scatter each kernel tap, then crop."""
    k = kernel.shape[0]
    channels_out, n = kernel.shape[2], x.shape[1]
    full = np.zeros((channels_out, (n - 1) * stride + k, (n - 1) * stride + k))
    for ky in range(k):
        for kx in range(k):
            tap = np.einsum("cij,oc->oij", x, kernel[ky, kx].astype(np.float64))
            full[
                :, ky : ky + (n - 1) * stride + 1 : stride, kx : kx + (n - 1) * stride + 1 : stride
            ] += tap
    n_out = n * stride
    start = ((n - 1) * stride + k - n_out) // 2
    return full[:, start : start + n_out, start : start + n_out] + bias[:, None, None]


def numpy_forward(z, layers, weights):
    x = z.astype(np.float64)
    for layer in layers:
        kind, cfg = layer["class_name"], layer["config"]
        w = weights.get(cfg.get("name"), {})
        if kind == "Dense":
            x = x @ w["kernel"] + w["bias"]
        elif kind == "Reshape":
            x = x.reshape(cfg["target_shape"]).transpose(2, 0, 1)
        elif kind == "Conv2DTranspose":
            x = conv_transpose_same(x, w["kernel"], w["bias"], cfg["strides"][0])
            x = np.maximum(x, 0) if cfg["activation"] == "relu" else 1 / (1 + np.exp(-x))
        elif kind == "BatchNormalization":
            scale = w["gamma"] / np.sqrt(w["moving_variance"] + cfg["epsilon"])
            x = (x - w["moving_mean"][:, None, None]) * scale[:, None, None] + w["beta"][
                :, None, None
            ]
    return x.transpose(1, 2, 0)  # [H,W,3] in [0,1]


@pytest.fixture(scope="module")
def model():
    return load_model("auto", DCGAN)


def test_matches_an_independent_numpy_forward(model):
    layers, weights = keras_weights(DCGAN)
    seeds = [0, 42, 4294967295]
    ours = model.images(seeds, None, {})
    for row, seed in enumerate(seeds):
        expected = numpy_forward(z_from_seeds([seed], 128)[0], layers[1:], weights)
        expected = np.clip(np.round(expected * 255), 0, 255)
        diff = np.abs(ours[row].astype(int) - expected.astype(int))
        assert diff.max() <= 1, f"seed {seed}: max difference {diff.max()}"
        assert (diff == 0).mean() > 0.99


def test_a_seed_gives_the_same_face_in_any_batch(model):
    seeds = list(range(40))
    by_16 = np.concatenate([model.images(seeds[i : i + 16], None, {}) for i in range(0, 40, 16)])
    by_5 = np.concatenate([model.images(seeds[i : i + 5], None, {}) for i in range(0, 40, 5)])
    alone = np.concatenate([model.images([seed], None, {}) for seed in seeds])
    assert by_16.tobytes() == by_5.tobytes() == alone.tobytes()


def test_info_describes_the_network(model):
    info = model.info()
    assert info["kind"] == "dcgan" and info["resolution"] == 64 and info["z_dim"] == 128
    assert info["parameters"] == 512451
    assert detect_kind(DCGAN) == "dcgan"


def test_bad_files_name_the_file_and_what_was_expected(tmp_path):
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(DCGAN.read_bytes()[:5000])
    with pytest.raises(
        ModelFileError,
        match=r"truncated\.h5: expected a Keras HDF5 model file, received a file h5py cannot open",
    ):
        load_model("dcgan", truncated)
    empty = tmp_path / "other.h5"
    with h5py.File(empty, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(
        ModelFileError,
        match=r"other\.h5: expected a Keras model \(model_config and model_weights\)",
    ):
        load_model("auto", empty)
    with pytest.raises(ModelFileError, match="expected a model file, received an empty file"):
        (tmp_path / "zero.h5").write_bytes(b"")
        load_model("auto", tmp_path / "zero.h5")
