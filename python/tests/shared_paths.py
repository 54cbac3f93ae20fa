"""Where the shared fixtures and models are: ../shared beside the project root."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared"
STYLEGAN2_FIXTURES = SHARED / "fixtures" / "stylegan2"
DCGAN = SHARED / "models" / "dcgan-anime" / "generator.h5"
UPCONV7 = SHARED / "models" / "waifu2x" / "upconv7"
CUNET = SHARED / "models" / "waifu2x" / "cunet"
