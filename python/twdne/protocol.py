"""The line protocol between the orchestrator and a sidecar worker.

A worker is started as::

    python -m twdne.worker --kind KIND --model PATH [--device cpu|cuda] [--options JSON]

and speaks JSON, one object per line, UTF-8:

* stdout, first line: ``{"event": "ready", "info": {...}}`` once the model is loaded, where
  ``info`` describes the model (kind, resolution, sha256, ...); or
  ``{"event": "fatal", "error": {"kind": "model", "message": "..."}}`` followed by exit
  status 3 when it cannot be loaded.
* stdin, one request per line::

      {"id": 7, "op": "generate", "params": {...}, "items": [{"id": 12, ...}, ...]}

  ``id`` is the request number chosen by the orchestrator, ``op`` one of the model's ops
  (``generate`` for face generators, ``upscale`` for upscalers, ``sample`` for text
  models), ``params`` the settings shared by the batch and ``items`` the work, each with the
  output id and the fields the op needs (see each model's ``run``).
* stdout, exactly one answer per request, in order::

      {"id": 7, "ok": true, "results": [{"id": 12, ...}, ...]}
      {"id": 7, "ok": false, "error": {"kind": "oom" | "request" | "error", "message": "..."}}

  A result carries either its outputs or ``"error": "message"`` for that item alone.
  ``kind: "oom"`` means the device ran out of memory: the same batch may succeed smaller.
* ``{"op": "quit"}`` or the end of stdin ends the worker with status 0.

Files named in a request (``out`` fields) are temporary names chosen by the orchestrator;
the worker writes them completely before answering, and the orchestrator renames them into
place. The worker never decides what to do next. stderr carries human diagnostics only.
"""

import json
import sys


def read_requests(stream=None):
    """Yields decoded requests until end of input or a quit request."""
    stream = stream or sys.stdin
    for line in stream:
        line = line.strip()
        if not line:
            continue
        request = json.loads(line)
        if request.get("op") == "quit":
            return
        yield request


def send(message, stream=None):
    """Writes one message as one line and flushes, so the orchestrator sees it at once."""
    stream = stream or sys.stdout
    stream.write(json.dumps(message, separators=(",", ":"), allow_nan=False) + "\n")
    stream.flush()


def log(*parts):
    """Human diagnostics go to stderr, never to the protocol stream."""
    print("[twdne sidecar]", *parts, file=sys.stderr, flush=True)
