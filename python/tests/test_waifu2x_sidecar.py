"""The waifu2x sidecar models: upscale batches, item errors, params, and the real worker."""

import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from shared_paths import DCGAN, UPCONV7

from twdne.errors import RequestError
from twdne.images import write_png
from twdne.models import detect_kind, load_model

FOLDER = str(UPCONV7)
PYTHON_ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def faces():
    generator = load_model("dcgan", DCGAN)
    return generator.images([0, 1, 2], None, {})


@functools.cache
def upscaler(noise_level=1):
    return load_model("waifu2x-upconv7", FOLDER, options={"noise_level": noise_level})


def write_inputs(folder):
    """Three face PNGs in `folder`, returned as paths."""
    paths = []
    for index, face in enumerate(faces()):
        paths.append(folder / f"{index}.png")
        write_png(face, paths[-1])
    return paths


def read(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def test_upscale_batch_writes_every_output(tmp_path):
    inputs = write_inputs(tmp_path)
    items = [
        {"id": i, "in": str(p), "out": str(tmp_path / f"{i}.out.png")} for i, p in enumerate(inputs)
    ]
    results = upscaler().run("upscale", items, {"scale": 2})
    assert results == [{"id": i, "width": 128, "height": 128} for i in range(3)]
    for item in items:
        assert read(item["out"]).shape == (128, 128, 3)


def test_bad_inputs_are_item_errors_and_the_rest_finish(tmp_path):
    good = write_inputs(tmp_path)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    missing = tmp_path / "missing.png"
    items = [
        {"id": 10, "in": str(good[0]), "out": str(tmp_path / "10.png")},
        {"id": 11, "in": str(corrupt), "out": str(tmp_path / "11.png")},
        {"id": 12, "in": str(missing), "out": str(tmp_path / "12.png")},
        {"id": 13, "in": str(good[1]), "out": str(tmp_path / "13.png")},
    ]
    results = upscaler().run("upscale", items, {"scale": 2})
    assert results[0] == {"id": 10, "width": 128, "height": 128}
    assert results[3] == {"id": 13, "width": 128, "height": 128}
    assert set(results[1]) == {"id", "error"}
    assert results[1]["error"].startswith(
        f"{corrupt}: expected a PNG image, received a file starting with bytes 89 50 4e 47 0d 0a 1a 0a"
    )
    assert results[2] == {
        "id": 12,
        "error": f"{missing}: expected a PNG image, received a path that does not exist",
    }
    assert not (tmp_path / "11.png").exists() and not (tmp_path / "12.png").exists()


def test_scale_4_and_tile_override(tmp_path):
    source = write_inputs(tmp_path)[2]
    outs = {}
    for name, params in {"whole": {"scale": 4}, "tiled": {"scale": 4, "tile": 24}}.items():
        out = tmp_path / f"{name}.png"
        result = upscaler().run("upscale", [{"id": 2, "in": str(source), "out": str(out)}], params)
        assert result == [{"id": 2, "width": 256, "height": 256}]
        outs[name] = read(out)
    assert np.abs(outs["whole"].astype(int) - outs["tiled"]).max() <= 1


def test_request_errors_name_the_param():
    with pytest.raises(RequestError, match=r"params.scale: expected 2 or 4, received 3"):
        upscaler().run("upscale", [], {"scale": 3})
    with pytest.raises(
        RequestError, match=r"params.tile: expected a positive integer, received -8"
    ):
        upscaler().run("upscale", [], {"scale": 2, "tile": -8})
    with pytest.raises(RequestError, match=r"items\[0\]: expected a field 'out'"):
        upscaler().run("upscale", [{"id": 1, "in": "x.png"}], {})
    with pytest.raises(RequestError, match=r"answers upscale; received op 'generate'"):
        upscaler().run("generate", [], {})


def test_info_and_detection():
    info = upscaler(2).info()
    assert info["kind"] == "waifu2x-upconv7"
    assert info["noise_level"] == 2 and info["scale"] == 2 and info["scales"] == [2, 4]
    assert info["parameters"] == 994976
    assert info["files"] == ["anime_style_noise2_scale_rgb.npz"]
    assert detect_kind(FOLDER) == "waifu2x-upconv7"
    assert detect_kind(f"{FOLDER}/anime_style_scale_rgb.npz") == "waifu2x-upconv7"


def test_worker_end_to_end(tmp_path):
    inputs = write_inputs(tmp_path)
    command = [
        sys.executable,
        "-m",
        "twdne.worker",
        "--kind",
        "waifu2x-upconv7",
        "--model",
        FOLDER,
        "--options",
        json.dumps({"noise_level": 1}),
    ]
    items = [
        {"id": 5, "in": str(inputs[0]), "out": str(tmp_path / "5.tmp.png")},
        {"id": 6, "in": str(tmp_path / "nope.png"), "out": str(tmp_path / "6.tmp.png")},
    ]
    requests = [
        {"id": 1, "op": "upscale", "params": {"scale": 4}, "items": items},
        {"id": 2, "op": "upscale", "params": {"scale": 5}, "items": items},
        {"op": "quit"},
    ]
    done = subprocess.run(
        command,
        check=False,
        input="".join(json.dumps(r) + "\n" for r in requests),
        capture_output=True,
        text=True,
        cwd=PYTHON_ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["event"] == "ready"
    assert lines[0]["info"]["kind"] == "waifu2x-upconv7" and lines[0]["info"]["noise_level"] == 1
    assert lines[1]["id"] == 1 and lines[1]["ok"] is True
    assert lines[1]["results"][0] == {"id": 5, "width": 256, "height": 256}
    assert (
        "expected a PNG image, received a path that does not exist"
        in lines[1]["results"][1]["error"]
    )
    assert lines[2] == {
        "id": 2,
        "ok": False,
        "error": {"kind": "request", "message": "params.scale: expected 2 or 4, received 5"},
    }
    assert read(tmp_path / "5.tmp.png").shape == (256, 256, 3)
    # The worker's output is the in-process model's output, byte for byte
    direct = tmp_path / "direct.png"
    upscaler(1).run("upscale", [{"id": 5, "in": str(inputs[0]), "out": str(direct)}], {"scale": 4})
    assert np.array_equal(read(direct), read(tmp_path / "5.tmp.png"))


def test_worker_reports_a_missing_weight_file(tmp_path):
    command = [
        sys.executable,
        "-m",
        "twdne.worker",
        "--kind",
        "waifu2x-upconv7",
        "--model",
        str(tmp_path),
        "--options",
        json.dumps({"noise_level": 3}),
    ]
    done = subprocess.run(
        command,
        check=False,
        input="",
        capture_output=True,
        text=True,
        cwd=PYTHON_ROOT,
        timeout=60,
    )
    assert done.returncode == 3
    event = json.loads(done.stdout.splitlines()[0])
    assert event == {
        "event": "fatal",
        "error": {
            "kind": "model",
            "message": f"{tmp_path}/anime_style_noise3_scale_rgb.npz: "
            "expected the weight file for noise_level 3, received no such file",
        },
    }


def test_rgb_output_is_the_same_pixels_without_a_png(tmp_path):
    inputs = write_inputs(tmp_path)
    png = {"id": 0, "in": str(inputs[0]), "out": str(tmp_path / "0.out.png")}
    rgb = {"id": 0, "in": str(inputs[0]), "out": str(tmp_path / "0.out.rgb")}
    upscaler().run("upscale", [png], {"scale": 2})
    result = upscaler().run("upscale", [rgb], {"scale": 2, "output": "rgb"})
    assert result == [{"id": 0, "width": 128, "height": 128}]
    pixels = np.frombuffer((tmp_path / "0.out.rgb").read_bytes(), dtype=np.uint8)
    assert pixels.reshape(128, 128, 3).tobytes() == read(png["out"]).tobytes()
    with pytest.raises(RequestError, match="params.output: expected png or rgb, received 'jpeg'"):
        upscaler().run("upscale", [rgb], {"output": "jpeg"})
