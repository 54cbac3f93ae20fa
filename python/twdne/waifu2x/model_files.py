"""Which waifu2x weight file serves a noise_level, in a folder of the published files."""

from pathlib import Path

from ..errors import ModelFileError, RequestError

NOISE_LEVELS = (-1, 0, 1, 2, 3)

# noise_level -> file name, as the files are published (-1: scale only, no denoising)
UPCONV7_NAMES = {-1: "anime_style_scale_rgb.npz"}
UPCONV7_NAMES.update({n: f"anime_style_noise{n}_scale_rgb.npz" for n in range(4)})
CUNET_NAMES = {-1: "scale2.0x_model.param"}
CUNET_NAMES.update({n: f"noise{n}_scale2.0x_model.param" for n in range(4)})


def check_noise_level(value, flag="options.noise_level"):
    """The noise_level as an int, or a RequestError naming the flag."""
    if isinstance(value, bool) or value not in NOISE_LEVELS:
        raise RequestError(f"{flag}: expected -1, 0, 1, 2 or 3, received {value!r}")
    return int(value)


def pick_file(path, names, noise_level):
    """(file, noise_level): the file for noise_level inside a folder, or `path` itself.

    A single file's noise_level is read from its published name; a renamed file keeps the
    requested one (None when none was requested, meaning unknown).
    """
    path = Path(path)
    if path.is_dir():
        level = -1 if noise_level is None else noise_level
        file = path / names[level]
        if not file.is_file():
            raise ModelFileError(file, f"the weight file for noise_level {level}", "no such file")
        return file, level
    named = {name: level for level, name in names.items()}.get(path.name)
    if named is not None and noise_level is not None and named != noise_level:
        raise ModelFileError(
            path, f"the weight file for noise_level {noise_level}", f"the noise_level {named} file"
        )
    return path, named if named is not None else noise_level


def looks_like_upconv7(path, head):
    """A folder of UpConv7 .npz files, or one .npz file (a zip archive)."""
    path = Path(path)
    if path.is_dir():
        return any((path / name).is_file() for name in UPCONV7_NAMES.values())
    return path.suffix == ".npz" and head.startswith(b"PK")


def looks_like_cunet(path, head):
    """A folder of CUNet ncnn files, or one ncnn .param file (magic 7767517) or its .bin."""
    path = Path(path)
    if path.is_dir():
        return any((path / name).is_file() for name in CUNET_NAMES.values())
    if path.suffix == ".bin":
        return path.with_suffix(".param").is_file()
    return path.suffix == ".param" and head.startswith(b"7767517")
