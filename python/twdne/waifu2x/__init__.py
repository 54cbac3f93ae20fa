"""waifu2x in plain PyTorch: UpConv7 from .npz, CUNet from ncnn .param/.bin, and tiled upscaling."""
