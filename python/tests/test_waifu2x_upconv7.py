"""UpConv7: matches the float64 reference, tiles without seams, every option, bad files."""

import functools
import itertools
import shutil

import numpy as np
import pytest
import reference_waifu2x as reference
from shared_paths import DCGAN, UPCONV7

from twdne.errors import ModelFileError, OutOfMemory, RequestError
from twdne.models import load_model
from twdne.waifu2x.upconv7 import load_upconv7
from twdne.waifu2x.upscale import upscale_image

FOLDER = str(UPCONV7)
SCALE_ONLY = f"{FOLDER}/anime_style_scale_rgb.npz"


@functools.cache
def faces():
    """Two real 64px DCGAN faces, [2, 64, 64, 3] uint8."""
    generator = load_model("dcgan", DCGAN)
    return generator.images([0, 1], None, {})


@functools.cache
def net(noise_level=-1):
    name = (
        "anime_style_scale_rgb.npz"
        if noise_level < 0
        else f"anime_style_noise{noise_level}_scale_rgb.npz"
    )
    return load_upconv7(f"{FOLDER}/{name}")


def max_diff(a, b):
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


@pytest.mark.parametrize("noise_level", [-1, 2])
def test_matches_float64_reference(noise_level):
    crop = faces()[0][20:44, 22:42]  # [24, 20, 3], eyes and hair
    name = (
        "anime_style_scale_rgb.npz"
        if noise_level < 0
        else f"anime_style_noise{noise_level}_scale_rgb.npz"
    )
    expected = reference.upconv7(f"{FOLDER}/{name}", crop)
    got = upscale_image(net(noise_level), crop, scale=2, tile=256)
    assert got.shape == (48, 40, 3)
    assert max_diff(got, expected) <= 1
    assert max_diff(got, np.repeat(np.repeat(crop, 2, 0), 2, 1)) > 8  # the net did something


@pytest.mark.parametrize("tile,batch", [(8, 4), (13, 3), (16, 1), (29, 2), (200, 4)])
def test_tiled_equals_untiled_on_odd_sizes(tile, batch):
    image = faces()[1][3:40, 5:58]  # [37, 53, 3]: odd, and no tile divides it
    untiled = upscale_image(net(), image, scale=2, tile=1000)
    tiled = upscale_image(net(), image, scale=2, tile=tile, batch=batch)
    assert tiled.shape == (74, 106, 3)
    assert max_diff(tiled, untiled) <= 1


def test_image_smaller_than_tile_and_thin_images():
    for image in (faces()[0][:1, :1], faces()[0][:5, :64], faces()[0][:64, :3]):
        out = upscale_image(net(), image, scale=2, tile=4)
        assert out.shape == (2 * image.shape[0], 2 * image.shape[1], 3)
        assert max_diff(out, upscale_image(net(), image, scale=2, tile=256)) <= 1


def test_scale_4_is_scale_2_twice():
    image = faces()[0][:30, :26]
    four = upscale_image(net(), image, scale=4, tile=256)
    twice = upscale_image(net(), upscale_image(net(), image, scale=2), scale=2)
    assert four.shape == (120, 104, 3)
    assert np.array_equal(four, twice)


def test_noise_levels_pick_their_files_and_differ():
    outputs = {}
    for level in (-1, 0, 1, 2, 3):
        model = load_model("waifu2x-upconv7", FOLDER, options={"noise_level": level})
        expected = (
            "anime_style_scale_rgb.npz" if level < 0 else f"anime_style_noise{level}_scale_rgb.npz"
        )
        assert model.info()["files"] == [expected]
        assert model.info()["noise_level"] == level
        outputs[level] = upscale_image(model.net, faces()[0][:24, :24])
    for a, b in itertools.combinations(outputs, 2):
        assert max_diff(outputs[a], outputs[b]) > 0, (a, b)


def test_single_file_and_folder_agree():
    folder = load_model("waifu2x-upconv7", FOLDER, options={"noise_level": 1})
    single = load_model("waifu2x-upconv7", f"{FOLDER}/anime_style_noise1_scale_rgb.npz")
    assert single.info()["noise_level"] == 1
    image = faces()[1][:20, :20]
    assert np.array_equal(upscale_image(folder.net, image), upscale_image(single.net, image))
    # With no noise_level, a folder means the scale-only file
    assert load_model("waifu2x-upconv7", FOLDER).info()["files"] == ["anime_style_scale_rgb.npz"]


def test_option_errors_name_the_option():
    with pytest.raises(
        RequestError, match=r"options.noise_level: expected -1, 0, 1, 2 or 3, received 5"
    ):
        load_model("waifu2x-upconv7", FOLDER, options={"noise_level": 5})
    with pytest.raises(
        RequestError, match=r"options.tile: expected a positive integer, received 0"
    ):
        load_model("waifu2x-upconv7", FOLDER, options={"tile": 0})
    with pytest.raises(
        ModelFileError, match=r"noise1_scale_rgb.npz: expected the weight file for noise_level 3"
    ):
        load_model(
            "waifu2x-upconv7",
            f"{FOLDER}/anime_style_noise1_scale_rgb.npz",
            options={"noise_level": 3},
        )


def test_out_of_memory_halves_the_tile_then_gives_up():
    calls = []

    class Tight:
        """The real net, answering out of memory for any tile wider than `limit` pixels."""

        scale, pad, multiple = 2, 7, 1
        limit = 20

        def __call__(self, x):
            calls.append(x.shape[-1] - 14)
            if x.shape[-1] - 14 > self.limit:
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return net()(x)

    image = faces()[0][:40, :40]
    out = upscale_image(Tight(), image, scale=2, tile=64, min_tile=8)
    assert calls[0] == 40 and 20 in calls  # 64 fits the image as 40, then 20 fits
    assert max_diff(out, upscale_image(net(), image, tile=256)) <= 1
    Tight.limit = 4
    with pytest.raises(OutOfMemory, match="out of memory even at tile 8"):
        upscale_image(Tight(), image, scale=2, tile=64, min_tile=8)


def test_missing_weight_file_in_folder_is_named(tmp_path):
    shutil.copy(SCALE_ONLY, tmp_path / "anime_style_scale_rgb.npz")
    with pytest.raises(ModelFileError) as caught:
        load_model("waifu2x-upconv7", tmp_path, options={"noise_level": 2})
    assert str(caught.value) == (
        f"{tmp_path}/anime_style_noise2_scale_rgb.npz: "
        "expected the weight file for noise_level 2, received no such file"
    )


def test_corrupt_weight_files_are_named(tmp_path):
    garbage = tmp_path / "anime_style_scale_rgb.npz"
    garbage.write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(
        ModelFileError, match=rf"^{garbage}: expected a waifu2x UpConv7 .npz file, received"
    ):
        load_model("waifu2x-upconv7", garbage)
    arrays = dict(np.load(SCALE_ONLY))
    arrays["conv3/W"] = arrays["conv3/W"][:, :16]
    wrong = tmp_path / "wrong_shape.npz"
    np.savez(wrong, **arrays)
    with pytest.raises(
        ModelFileError,
        match=r"expected conv3/W as float \(64, 32, 3, 3\), received float32 \(64, 16, 3, 3\)",
    ):
        load_model("waifu2x-upconv7", wrong)
    arrays["conv3/W"] = np.load(SCALE_ONLY)["conv3/W"]
    del arrays["conv7/W"]
    np.savez(wrong, **arrays)
    with pytest.raises(ModelFileError, match=r"expected an array 'conv7/W' in the .npz file"):
        load_model("waifu2x-upconv7", wrong)
