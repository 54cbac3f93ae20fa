"""Seed-for-seed parity with the official StyleGAN2 code on every fixture case."""

import json
from collections import defaultdict

import numpy as np
import pytest
import torch
from shared_paths import STYLEGAN2_FIXTURES

from twdne.images import read_rgb, to_uint8
from twdne.models.stylegan2 import StyleGAN2Generator
from twdne.seeds import z_from_seeds

FIXTURES = STYLEGAN2_FIXTURES
MODELS = {}


def model(name):
    if name not in MODELS:
        MODELS[name] = StyleGAN2Generator(FIXTURES / f"{name}.pkl")
    return MODELS[name]


def manifest(name):
    return json.loads((FIXTURES / name / "manifest.json").read_text())


def image_cases(fixture, png_kind="png", npy_kind="image_float32"):
    """{(noise_mode, psi, class): {seed: {"png": path, "npy": path}}} from a manifest's files."""
    cases = defaultdict(lambda: defaultdict(dict))
    for entry in manifest(fixture)["files"]:
        if entry["kind"] not in (png_kind, npy_kind):
            continue
        key = (entry.get("noise_mode", "tf"), entry["psi"], entry.get("class_idx"))
        slot = "png" if entry["kind"] == png_kind else "npy"
        cases[key][entry["seed"]][slot] = FIXTURES / entry["file"]
    return cases


def all_cases():
    """(network, fixture, noise_mode, psi, class, {seed: files}) for every listed case."""
    found = []
    for fixture in ("tiny", "cond"):
        for (mode, psi, cls), seeds in image_cases(fixture).items():
            found.append((fixture, fixture, mode, psi, cls, seeds))
    # tiny-tf.pkl holds tiny's weights: its manifest says tiny's outputs are its outputs.
    assert "identical to tiny/" in manifest("tiny-tf")["expected_outputs"]
    for (mode, psi, cls), seeds in image_cases("tiny").items():
        found.append(("tiny-tf", "tiny", mode, psi, cls, seeds))
    tfnoise = image_cases("tiny-tf", "png_tfnoise", "image_float32_tfnoise")
    for (mode, psi, cls), seeds in tfnoise.items():
        found.append(("tiny-tf", "tiny-tf/tfnoise", "tf", psi, cls, seeds))
    return found


CASES = all_cases()


def test_every_manifest_case_is_covered():
    counted = {"tiny": 0, "cond": 0, "tiny-tf/tfnoise": 0}
    for network, fixture, *_, seeds in CASES:
        if network != "tiny-tf" or fixture != "tiny":
            counted[fixture] += len(seeds)
    assert counted == {"tiny": 48, "cond": 52, "tiny-tf/tfnoise": 16}
    for fixture in ("tiny", "cond"):
        assert len({(c["case"]) for c in manifest(fixture)["cases"]}) == len(image_cases(fixture))


def assert_png_close(actual, expected_path):
    expected = read_rgb(expected_path)
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    assert actual.shape == expected.shape
    assert diff.max() <= 1, f"{expected_path}: max difference {diff.max()} levels"
    identical = float((diff == 0).all(axis=-1).mean())
    assert identical >= 0.999, f"{expected_path}: only {identical:.4%} of pixels identical"


@pytest.mark.parametrize(
    "network,fixture,noise_mode,psi,class_idx,seeds",
    CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}-psi{c[3]}-class{c[4]}" for c in CASES],
)
def test_images_match_official(network, fixture, noise_mode, psi, class_idx, seeds):
    """One batched forward pass per case; each image against its own official file."""
    order = sorted(seeds)
    img, _ = model(network).generate(order, psi, noise_mode, class_idx)
    pixels = to_uint8(img)
    for index, seed in enumerate(order):
        expected = np.load(seeds[seed]["npy"])
        error = np.abs(img[index : index + 1].numpy() - expected).max()
        assert error <= 1e-4, f"{seeds[seed]['npy']}: float error {error}"
        assert_png_close(pixels[index], seeds[seed]["png"])


LATENT_KINDS = ("z", "z_all", "w", "w_all", "w_avg")


@pytest.mark.parametrize(
    "network,fixture", [("tiny", "tiny"), ("cond", "cond"), ("tiny-tf", "tiny")]
)
def test_latents_match_official(network, fixture):
    G = model(network).G
    latents = [e for e in manifest(fixture)["files"] if e["kind"] in LATENT_KINDS]
    assert len(latents) == len(LATENT_KINDS) + 2  # z, w at two psi for seed 0 and all seeds
    for entry in latents:
        expected = np.load(FIXTURES / entry["file"])
        if entry["kind"] in ("z", "z_all"):
            seeds = entry.get("seeds", [entry.get("seed")])
            assert np.array_equal(z_from_seeds(seeds, G.z_dim), expected)
        if entry["kind"] == "w_avg":
            assert np.abs(G.mapping.w_avg.numpy() - expected).max() <= 1e-6
        if entry["kind"] in ("w", "w_all"):
            seeds = entry.get("seeds", [entry.get("seed")])
            _, ws = model(network).generate(seeds, entry["psi"], "none", entry["class_idx"])
            assert np.abs(ws.numpy() - expected).max() <= 1e-4, entry["file"]


def test_tf_noise_draws_follow_run_generator():
    """noise_mode tf: z, then noise0..noise8 from the same RandomState, as the draws file."""
    from twdne.stylegan2 import noise_inputs

    draws = np.load(FIXTURES / "tiny-tf" / "tfnoise" / "draws-seed0000.npz")
    G = model("tiny-tf").G
    noises = noise_inputs("tf", [0], G.synthesis.noise_layers(), G.z_dim, "cpu")
    assert np.array_equal(z_from_seeds([0], G.z_dim), draws["z"])
    for index, noise in enumerate(noises):
        assert np.array_equal(noise.numpy(), draws[f"noise{index}"].astype(np.float32))


@pytest.mark.parametrize("noise_mode", ["const", "random", "none", "tf"])
def test_batch_of_eight_equals_one_at_a_time(noise_mode):
    faces = model("tiny")
    seeds = [3, 14, 15, 92, 65, 35, 89, 79]
    batched = faces.images(seeds, 0.7, {"noise_mode": noise_mode})
    for index, seed in enumerate(seeds):
        single = faces.images([seed], 0.7, {"noise_mode": noise_mode})[0]
        assert np.abs(batched[index].astype(int) - single.astype(int)).max() <= 1


@pytest.mark.parametrize("noise_mode", ["const", "random", "tf"])
def test_cpu_chunks_of_a_batch_change_nothing(noise_mode):
    faces = StyleGAN2Generator(FIXTURES / "tiny.pkl")
    synthesis = faces.G.synthesis
    seeds = [3, 14, 15, 92, 65, 35, 89]
    whole, _ = faces.generate(seeds, 0.7, noise_mode)
    top = synthesis.blocks()[-1].resolution
    synthesis.cpu_chunk_elements = 3 * synthesis.channels[top] * top**2  # slices of 3, 3, 1
    assert synthesis.chunk_size(synthesis.blocks()[-1], len(seeds), whole.device) == 3
    chunked, _ = faces.generate(seeds, 0.7, noise_mode)
    assert torch.allclose(whole, chunked, atol=1e-5)


def test_random_noise_is_per_seed_and_ignores_global_torch_state():
    faces = model("tiny")
    torch.manual_seed(1234)
    first = faces.images([5, 6], 1.0, {"noise_mode": "random"})
    torch.manual_seed(999)
    second = faces.images([6, 5], 1.0, {"noise_mode": "random"})
    assert np.array_equal(first[0], second[1]) and np.array_equal(first[1], second[0])
    assert not np.array_equal(first[0], faces.images([5], 1.0, {"noise_mode": "const"})[0])
