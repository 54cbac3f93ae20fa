"""Bad network files get one-line errors that name the file, the expectation and the finding."""

import os
import pickle

import pytest
from hostile_pickles import FIXTURES, call, glob, proto, text

from twdne.errors import ModelFileError, RequestError
from twdne.models import detect_kind, load_model
from twdne.models.stylegan2 import StyleGAN2Generator
from twdne.stylegan2 import load_network


def error_of(path):
    with pytest.raises(ModelFileError) as caught:
        load_network(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: expected ") and "\n" not in message
    return message


def test_truncated_pickle(tmp_path):
    path = tmp_path / "half.pkl"
    data = (FIXTURES / "tiny.pkl").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "received a truncated pickle" in error_of(path)


def test_random_bytes_and_png_are_not_pickles(tmp_path):
    noise = tmp_path / "noise.pkl"
    noise.write_bytes(b"\x13" + os.urandom(999))
    assert "expected a network pickle, received a file starting with bytes 13" in error_of(noise)
    png = tmp_path / "face.pkl"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    assert "received a PNG image" in error_of(png)


@pytest.mark.parametrize(
    "payload,finding",
    [({"a": 1, "b": 2}, "a pickled dict with keys ['a', 'b']"), ([1, 2, 3], "a pickled list of 3")],
)
def test_pickle_of_something_else(tmp_path, payload, finding):
    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps(payload, protocol=4))
    message = error_of(path)
    assert "G_ema" in message and finding in message


def snapshot_with_g_ema(class_name, init_kwargs=None):
    """A snapshot dict whose G_ema is one persistent record, written with pickle opcodes."""
    meta = {"type": "class", "version": 6, "module_src": "# stripped", "class_name": class_name,
            "state": {"_modules": {}, "_init_args": (), "_init_kwargs": init_kwargs or {}}}  # fmt: skip
    body = pickle.dumps(meta, protocol=2)[2:-1]
    record = call(glob("torch_utils.persistence", "_reconstruct_persistent_obj"), body)
    return proto(2) + b"}" + text("G_ema") + record + b"s."


def test_stylegan3_generator_is_refused_by_name(tmp_path):
    path = tmp_path / "sg3.pkl"
    path.write_bytes(snapshot_with_g_ema("training.networks_stylegan3.Generator"))
    message = error_of(path)
    assert "training.networks_stylegan3.Generator" in message and "StyleGAN3" in message


def test_unknown_architecture_is_refused(tmp_path):
    path = tmp_path / "resnet.pkl"
    kwargs = {"z_dim": 8, "c_dim": 0, "w_dim": 8, "img_resolution": 8, "img_channels": 3,
              "synthesis_kwargs": {"architecture": "resnet"}}  # fmt: skip
    path.write_bytes(snapshot_with_g_ema("Generator", kwargs))
    assert "architecture='resnet'" in error_of(path)
    kwargs["synthesis_kwargs"] = {"magnitude_ema_beta": 0.9}
    path.write_bytes(snapshot_with_g_ema("Generator", kwargs))
    assert "unknown kwargs ['magnitude_ema_beta']" in error_of(path)


def test_pickles_are_detected_and_inspected():
    assert detect_kind(FIXTURES / "tiny.pkl") == "stylegan2"
    assert detect_kind(FIXTURES / "tiny-tf.pkl") == "stylegan2"
    info = load_model("auto", FIXTURES / "tiny-tf.pkl").info()
    assert info["format"] == "stylegan2-tf" and info["num_ws"] == 10
    info = load_model("auto", FIXTURES / "cond.pkl").info()
    assert (info["z_dim"], info["w_dim"], info["c_dim"], info["resolution"]) == (40, 48, 4, 32)
    assert info["mapping_layers"] == 2 and info["fp16_resolutions"] == []
    assert info["channels"] == {"4": 64, "8": 64, "16": 64, "32": 32}


def test_request_errors_name_the_param():
    cond = StyleGAN2Generator(FIXTURES / "cond.pkl")
    for bad in (None, 4, -1, "1", True):
        with pytest.raises(RequestError, match=r"class: expected an integer class in 0\.\.3"):
            cond.images([0], 1.0, {"class": bad})
    with pytest.raises(RequestError, match="noise_mode: expected one of const, random, none, tf"):
        cond.images([0], 1.0, {"class": 1, "noise_mode": "loud"})


def test_bad_options_name_the_option():
    with pytest.raises(ModelFileError, match="options.fp16 as true or false"):
        StyleGAN2Generator(FIXTURES / "tiny.pkl", options={"fp16": "yes"})
    with pytest.raises(ModelFileError, match="options.truncation_cutoff as an integer"):
        StyleGAN2Generator(FIXTURES / "tiny.pkl", options={"truncation_cutoff": 2.5})


def test_truncation_cutoff_truncates_only_the_first_rows():
    cut = StyleGAN2Generator(FIXTURES / "tiny.pkl", options={"truncation_cutoff": 4})
    full = StyleGAN2Generator(FIXTURES / "tiny.pkl")
    _, ws_cut = cut.generate([7], 0.5)
    _, ws_full = full.generate([7], 0.5)
    _, ws_none = full.generate([7], 1.0)
    assert (ws_cut[:, :4] - ws_full[:, :4]).abs().max() == 0
    assert (ws_cut[:, 4:] - ws_none[:, 4:]).abs().max() == 0
