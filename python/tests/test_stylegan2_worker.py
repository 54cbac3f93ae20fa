"""The real sidecar process serves a StyleGAN2 pickle and writes the official faces."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from shared_paths import STYLEGAN2_FIXTURES

from twdne.images import read_rgb

FIXTURES = STYLEGAN2_FIXTURES
PYTHON_ROOT = Path(__file__).resolve().parents[1]


def test_worker_generates_official_pngs(tmp_path):
    command = [sys.executable, "-m", "twdne.worker", "--kind", "auto", "--device", "cpu",
               "--model", str(FIXTURES / "tiny.pkl")]  # fmt: skip
    worker = subprocess.Popen(command, cwd=PYTHON_ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    seeds = [0, 1, 2, 3, 4, 5, 6, 7]
    items = [{"id": 100 + s, "seed": s, "psi": 0.7 if s % 2 else 1.0,
              "out": str(tmp_path / f"{s}.png")} for s in seeds]  # fmt: skip
    request = {"id": 1, "op": "generate", "params": {"noise_mode": "const"}, "items": items}
    out, err = worker.communicate(json.dumps(request) + "\n", timeout=120)
    assert worker.returncode == 0, err
    ready, answer = [json.loads(line) for line in out.splitlines()]
    assert ready["event"] == "ready" and ready["info"]["kind"] == "stylegan2", ready
    assert answer["ok"], answer
    assert [r["id"] for r in answer["results"]] == [item["id"] for item in items]
    for item, result in zip(items, answer["results"]):
        assert (result["width"], result["height"]) == (64, 64)
        case = f"psi{item['psi']}-const"
        expected = read_rgb(FIXTURES / "tiny" / "png" / case / f"seed{item['seed']:04d}.png")
        diff = np.abs(read_rgb(item["out"]).astype(int) - expected.astype(int))
        assert diff.max() <= 1 and (diff == 0).all(axis=-1).mean() >= 0.999


def test_worker_reports_hostile_pickle_as_fatal(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x04true\x85R.")
    command = [sys.executable, "-m", "twdne.worker", "--kind", "auto", "--model", str(path)]
    done = subprocess.run(
        command, cwd=PYTHON_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 3
    fatal = json.loads(done.stdout.splitlines()[0])
    assert fatal["event"] == "fatal" and "'os.system'" in fatal["error"]["message"]
