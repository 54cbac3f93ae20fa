"""CUNet: the ncnn reader and interpreter match the float64 reference; files and options."""

import functools
import shutil

import numpy as np
import pytest
import reference_waifu2x as reference
import torch
from shared_paths import CUNET, DCGAN

from twdne.errors import ModelFileError
from twdne.models import detect_kind, load_model
from twdne.waifu2x.cunet import load_cunet
from twdne.waifu2x.image_pools import run_with_image_pools
from twdne.waifu2x.upscale import upscale_image

FOLDER = str(CUNET)


@functools.cache
def faces():
    generator = load_model("dcgan", DCGAN)
    return generator.images([0, 1], None, {})


@functools.cache
def net(name="noise1_scale2.0x_model"):
    return load_cunet(f"{FOLDER}/{name}.param")


def diff(a, b):
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


@pytest.mark.parametrize("name", ["noise1_scale2.0x_model", "scale2.0x_model"])
def test_matches_float64_reference(name):
    crop = faces()[0][20:44, 22:42]  # [24, 20, 3]
    expected = reference.cunet(f"{FOLDER}/{name}.bin", crop)
    got = upscale_image(net(name), crop, scale=2, tile=256)
    assert got.shape == (48, 40, 3)
    assert diff(got, expected).max() <= 1


def test_geometry_is_read_from_the_graph():
    cunet = net()
    assert (cunet.scale, cunet.pad, cunet.multiple) == (2, 18, 2)
    assert cunet.parameter_count() == 1284598


@pytest.mark.parametrize("tile,batch", [(8, 1), (13, 3), (17, 2), (24, 4), (36, 5)])
def test_tiled_equals_untiled_on_odd_sizes(tile, batch):
    """Squeeze-and-excitation pools over the whole image, not per tile, so tiles agree."""
    image = faces()[1][3:40, 5:58]  # [37, 53, 3]: odd, and no tile divides it
    untiled = upscale_image(net(), image, scale=2, tile=1000)
    assert untiled.shape == (74, 106, 3)
    tiled = upscale_image(net(), image, scale=2, tile=tile, batch=batch)
    assert tiled.shape == untiled.shape
    assert diff(tiled, untiled).max() <= 1
    assert (diff(tiled, untiled) == 0).mean() >= 0.999


def test_waiting_tiles_parked_in_host_memory_give_the_same_output():
    image = torch.from_numpy(faces()[0][:30, :44].copy()).permute(2, 0, 1).float() / 255
    cunet = net()
    pad, tile = cunet.pad, (16, 24)
    padded = torch.nn.functional.pad(image[None], (pad, pad + 4, pad, pad + 2), mode="replicate")[0]
    corners = [(y, x) for y in (0, 16) for x in (0, 24)]
    crops = [padded[:, y : y + 16 + 2 * pad, x : x + 24 + 2 * pad] for y, x in corners]
    batches = [(torch.stack(crops[:3]), corners[:3]), (torch.stack(crops[3:]), corners[3:])]
    kept, parked = (
        run_with_image_pools(cunet, batches, [0, 16], [0, 24], tile, (30, 44), park=park)
        for park in (False, True)
    )
    assert all(torch.equal(a, b) for a, b in zip(kept, parked))


def test_tiles_that_miss_a_pooled_map_are_refused():
    image = torch.zeros(3, 1, 1, 8 + 2 * net().pad, 8 + 2 * net().pad)
    with pytest.raises(ValueError, match="do not cover"):
        run_with_image_pools(net(), [(image[0], [(0, 0)])], [0], [0], (8, 8), (64, 64))


def test_sidecar_kind_folder_and_single_files(tmp_path):
    folder = load_model("waifu2x-cunet", FOLDER, options={"noise_level": 2})
    info = folder.info()
    assert info["files"] == ["noise2_scale2.0x_model.param", "noise2_scale2.0x_model.bin"]
    assert (info["noise_level"], info["pad"], info["parameters"]) == (2, 18, 1284598)
    by_bin = load_model("auto", f"{FOLDER}/noise2_scale2.0x_model.bin")
    assert by_bin.kind == "waifu2x-cunet" and by_bin.info()["noise_level"] == 2
    assert detect_kind(FOLDER) == "waifu2x-cunet"
    image = faces()[0][:16, :16]
    assert np.array_equal(upscale_image(folder.net, image), upscale_image(by_bin.net, image))
    assert load_model("waifu2x-cunet", FOLDER).info()["files"][0] == "scale2.0x_model.param"


def copy_pair(tmp_path, name="scale2.0x_model"):
    for suffix in (".param", ".bin"):
        shutil.copy(f"{FOLDER}/{name}{suffix}", tmp_path / f"{name}{suffix}")
    return tmp_path / f"{name}.param", tmp_path / f"{name}.bin"


def test_unknown_layer_type_is_refused_by_name(tmp_path):
    param, _ = copy_pair(tmp_path)
    param.write_text(
        param.read_text().replace("Split                    splitncnn_0", "Softmax splitncnn_0", 1)
    )
    with pytest.raises(ModelFileError, match=r"received a Softmax layer \(splitncnn_0\)$"):
        load_model("waifu2x-cunet", param)


def test_bad_weight_files_are_named(tmp_path):
    param, binary = copy_pair(tmp_path)
    data = binary.read_bytes()
    binary.write_bytes(data[:100000])
    with pytest.raises(
        ModelFileError,
        match=rf"^{binary}: expected at least \d+ bytes \(through \w+\.\w+\), received a file of 100000 bytes$",
    ):
        load_model("waifu2x-cunet", param)
    binary.write_bytes(data + b"\0\0\0\0")
    with pytest.raises(
        ModelFileError,
        match=rf"^{binary}: expected 2776400 bytes of weights for the .param, received 2776404 bytes$",
    ):
        load_model("waifu2x-cunet", param)
    binary.unlink()
    with pytest.raises(
        ModelFileError,
        match=rf"^{binary}: expected the ncnn .bin beside the .param, received a path that does not exist$",
    ):
        load_model("waifu2x-cunet", param)
    param.write_text("not ncnn\n")
    with pytest.raises(
        ModelFileError,
        match=rf"^{param}: expected an ncnn .param file starting with 7767517, received 'not ncnn'$",
    ):
        load_model("waifu2x-cunet", param)
    with pytest.raises(
        ModelFileError,
        match=r"noise1_scale2.0x_model.param: expected the weight file for noise_level 1, received no such file",
    ):
        load_model("waifu2x-cunet", tmp_path, options={"noise_level": 1})
