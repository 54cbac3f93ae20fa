"""Real output: DCGAN 64px faces upscaled 4x by UpConv7, saved beside a bicubic upscale.

The images go to tests/out/waifu2x/ for people to look at; the asserts check that the
upscale is faithful to the face (its box downscale matches the input) and sharper than
bicubic (stronger edges).
"""

from pathlib import Path

import numpy as np
from PIL import Image
from shared_paths import DCGAN, UPCONV7

from twdne.models import load_model
from twdne.waifu2x.upscale import upscale_image

OUT = Path(__file__).parent / "out" / "waifu2x"


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255**2 / mse)


def edge_strength(image):
    """Mean absolute difference between neighbouring pixels, over both axes."""
    x = image.astype(np.float64)
    return np.abs(np.diff(x, axis=0)).mean() + np.abs(np.diff(x, axis=1)).mean()


def box_down(image, factor):
    h, w, c = image.shape
    return (
        image.reshape(h // factor, factor, w // factor, factor, c).astype(np.float64).mean((1, 3))
    )


def test_dcgan_faces_upscaled_4x_look_sharp_and_faithful():
    faces = load_model("dcgan", DCGAN).images([0, 1, 2, 3], None, {})
    upconv7 = load_model("waifu2x-upconv7", str(UPCONV7), options={"noise_level": 1})
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed, face in enumerate(faces):
        waifu2x = upscale_image(upconv7.net, face, scale=4)  # [256, 256, 3]
        bicubic = np.asarray(Image.fromarray(face).resize((256, 256), Image.BICUBIC))
        assert waifu2x.shape == bicubic.shape == (256, 256, 3)
        assert psnr(box_down(waifu2x, 4).round(), face) > 28
        assert edge_strength(waifu2x) > 1.05 * edge_strength(bicubic)
        pair = np.concatenate([bicubic, np.full((256, 8, 3), 255, np.uint8), waifu2x], axis=1)
        Image.fromarray(pair).save(OUT / f"face-{seed}-bicubic-vs-upconv7.png")
        rows.append(pair)
    Image.fromarray(np.concatenate(rows, axis=0)).save(OUT / "faces-bicubic-vs-upconv7.png")
