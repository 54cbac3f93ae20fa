"""The worker process speaks the documented line protocol."""

import json
import os
import subprocess
import sys
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]


def start(*args, env=None):
    return subprocess.Popen(
        [sys.executable, "-m", "twdne.worker", *args],
        cwd=PYTHON_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PYTHON_DIR), **(env or {})},
    )


def ask(worker, request):
    worker.stdin.write(json.dumps(request) + "\n")
    worker.stdin.flush()
    return json.loads(worker.stdout.readline())


def test_ready_then_one_answer_per_request(tmp_path):
    worker = start("--kind", "null", "--model", "")
    ready = json.loads(worker.stdout.readline())
    assert ready["event"] == "ready" and ready["info"]["kind"] == "null"
    items = [{"id": i, "seed": i, "psi": 0.5, "out": str(tmp_path / f"{i}.png")} for i in range(3)]
    answer = ask(worker, {"id": 1, "op": "generate", "items": items, "params": {}})
    assert answer == {
        "id": 1,
        "ok": True,
        "results": [{"id": i, "height": 8, "width": 8} for i in range(3)],
    }
    assert all((tmp_path / f"{i}.png").read_bytes().startswith(b"\x89PNG") for i in range(3))
    wrong = ask(worker, {"id": 2, "op": "sample", "items": [], "params": {}})
    assert wrong == {
        "id": 2,
        "ok": False,
        "error": {"kind": "request", "message": "null answers generate; received op 'sample'"},
    }
    worker.stdin.write('{"op": "quit"}\n')
    worker.stdin.flush()
    assert worker.wait(10) == 0
    assert worker.stdout.read() == ""


def test_out_of_memory_is_reported_as_its_own_kind(tmp_path):
    worker = start("--kind", "null", "--model", "", env={"TWDNE_FAULT": "oom_above=2"})
    json.loads(worker.stdout.readline())
    items = [{"id": i, "seed": i, "psi": 1, "out": str(tmp_path / f"{i}.png")} for i in range(3)]
    answer = ask(worker, {"id": 5, "op": "generate", "items": items, "params": {}})
    assert answer["ok"] is False and answer["error"]["kind"] == "oom"
    answer = ask(worker, {"id": 6, "op": "generate", "items": items[:2], "params": {}})
    assert answer["ok"] is True
    worker.stdin.close()
    assert worker.wait(10) == 0


def test_an_unloadable_model_is_one_fatal_event(tmp_path):
    bogus = tmp_path / "weights.bin"
    bogus.write_bytes(b"not a model at all")
    worker = start("--model", str(bogus))
    out, err = worker.communicate(timeout=30)
    assert worker.returncode == 3
    event = json.loads(out.strip())
    assert event["event"] == "fatal" and event["error"]["kind"] == "model"
    assert "weights.bin: expected a model file of a known kind" in event["error"]["message"]
    assert "Traceback" not in err
