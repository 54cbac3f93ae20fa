"""The fast generator paths (fast_ops) against the reference ops, on the fixture networks."""

import numpy as np
import pytest
import torch
from shared_paths import STYLEGAN2_FIXTURES

from twdne.models.stylegan2 import StyleGAN2Generator
from twdne.seeds import z_from_seeds
from twdne.stylegan2 import fast_ops, noise_inputs, ops
from twdne.stylegan2.network import set_conv_path

FIXTURES = STYLEGAN2_FIXTURES
SEEDS = [0, 7, 42]
MODELS = {}
# A filter with no symmetry, so a flipped or transposed tap shows up as an error.
SKEWED = torch.tensor([[1.0, 2, 5, 1], [0, 1, 2, 3], [4, 1, 0, 2], [1, 1, 3, 2]])


def model(name):
    if name not in MODELS:
        MODELS[name] = StyleGAN2Generator(FIXTURES / f"{name}.pkl")
    return MODELS[name]


def synthesize(faces, conv_path, noise_mode, seeds=SEEDS, psi=0.7):
    """The synthesis output [N,3,H,W] for seeds, through one conv path."""
    G = faces.G
    class_idx = 1 if G.c_dim else None
    z = torch.from_numpy(z_from_seeds(seeds, G.z_dim))  # [N,z_dim]
    ws = G.mapping(z, faces.labels(len(seeds), class_idx), psi)  # [N,num_ws,w_dim]
    noises = noise_inputs(noise_mode, seeds, G.synthesis.noise_layers(), G.z_dim, "cpu")
    set_conv_path(G, conv_path)
    try:
        with torch.no_grad():
            return G.synthesis(ws, noises)
    finally:
        set_conv_path(G, "auto")


@pytest.mark.parametrize("name", ["tiny", "cond"])
@pytest.mark.parametrize("conv_path", ["auto", "fused", "unfused"])
@pytest.mark.parametrize("noise_mode", ["const", "random", "none"])
def test_network_matches_reference_path(name, conv_path, noise_mode):
    faces = model(name)
    reference = synthesize(faces, "reference", noise_mode)
    fast = synthesize(faces, conv_path, noise_mode)
    assert fast.shape == reference.shape
    assert (fast - reference).abs().max().item() <= 1e-4


@pytest.mark.parametrize("name", ["tiny", "cond"])
def test_single_seed_matches_reference_path(name):
    faces = model(name)
    reference = synthesize(faces, "reference", "const", seeds=[5])
    fast = synthesize(faces, "auto", "const", seeds=[5])
    assert (fast - reference).abs().max().item() <= 1e-4


def test_weight_changes_reach_the_cached_kernels():
    """Derived tensors follow in-place writes to the weights they come from."""
    faces = StyleGAN2Generator(FIXTURES / "tiny.pkl")
    before = synthesize(faces, "auto", "const")
    layer = faces.G.synthesis.noise_layers()[1]
    layer.weight.mul_(-1.5)
    faces.G.mapping.fc0.weight.mul_(0.5)
    after = synthesize(faces, "auto", "const")
    assert (after - before).abs().max().item() > 1e-2
    assert (after - synthesize(faces, "reference", "const")).abs().max().item() <= 1e-4


@pytest.mark.parametrize("taps", [[1, 3, 3, 1], SKEWED])
def test_polyphase_up_conv_matches_transposed_conv(taps):
    torch.manual_seed(0)
    f = ops.setup_filter(taps)
    x, w = torch.randn(3, 8, 5, 7), torch.randn(6, 8, 3, 3)  # [N,I,H,W], [O,I,3,3]
    expected = ops.conv2d_resample(x, w, f, up=2, padding=1)
    assert torch.allclose(fast_ops.conv2d_resample(x, w, f, up=2, padding=1), expected, atol=1e-4)
    grouped_x, grouped_w = x.reshape(1, 24, 5, 7), torch.randn(18, 8, 3, 3)
    expected = ops.conv2d_resample(grouped_x, grouped_w, f, up=2, padding=1, groups=3)
    found = fast_ops.conv2d_resample(grouped_x, grouped_w, f, up=2, padding=1, groups=3)
    assert torch.allclose(found, expected, atol=1e-4)


@pytest.mark.parametrize("taps", [[1, 3, 3, 1], SKEWED])
def test_phase_upsample_matches_zero_insertion(taps):
    torch.manual_seed(1)
    f = ops.setup_filter(taps)
    img = torch.randn(2, 3, 6, 5)  # [N,3,H,W]
    expected = ops.upsample2d(img, f)
    assert torch.allclose(fast_ops.upsample2d(img, f), expected, atol=1e-4)


@pytest.mark.parametrize("conv_path", ["auto", "fused", "unfused"])
@pytest.mark.parametrize("up", [1, 2])
def test_modulated_conv_matches_reference(conv_path, up):
    torch.manual_seed(2)
    f = ops.setup_filter([1, 3, 3, 1])
    x, w, styles = torch.randn(3, 8, 5, 7), torch.randn(6, 8, 3, 3), torch.randn(3, 8)
    expected = ops.modulated_conv2d(x, w, styles, None, up, 1, f) * 1.5
    found = fast_ops.modulated_conv2d(x, w, styles, up, 1, f, gain=1.5, conv_path=conv_path)
    assert torch.allclose(found, expected, atol=1e-4)


@pytest.mark.parametrize("conv_path", ["auto", "unfused"])
def test_torgb_matmul_matches_reference(conv_path):
    torch.manual_seed(3)
    x, w, styles = torch.randn(3, 8, 5, 7), torch.randn(3, 8, 1, 1), torch.randn(3, 8)
    expected = ops.modulated_conv2d(x, w, styles, demodulate=False)
    assert torch.allclose(fast_ops.modulated_torgb(x, w, styles, conv_path), expected, atol=1e-4)


def test_in_place_bias_act_folds_the_gain():
    torch.manual_seed(4)
    x, b = torch.randn(2, 5, 4, 4) * 3, torch.randn(5)
    expected = ops.bias_act(x, b, "lrelu", np.sqrt(2), clamp=1.5)
    found = fast_ops.bias_act_(x.clone() * np.sqrt(2), b * np.sqrt(2), "lrelu", clamp=1.5)
    assert torch.allclose(found, expected, atol=1e-5)


def test_unknown_conv_path_is_refused():
    with pytest.raises(ValueError, match="conv_path: expected one of reference, auto"):
        set_conv_path(model("tiny").G, "fastest")
