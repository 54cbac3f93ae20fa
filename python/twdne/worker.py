"""The sidecar worker: loads one model, then answers batch requests (see twdne.protocol)."""

import argparse
import json
import os
import sys
import time
import traceback

from .errors import SidecarError, is_out_of_memory
from .protocol import log, read_requests, send


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m twdne.worker", description=__doc__)
    parser.add_argument(
        "--kind", default="auto", help="model kind, or auto to detect it from the file"
    )
    parser.add_argument("--model", required=True, help="model file or folder")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--options", default="{}", help="JSON object of model options")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (0: torch default)"
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_or_report(args)
    if model is None:
        return 3
    for request in read_requests():
        send(answer(model, request))
    return 0


def load_or_report(args):
    """The loaded model, or None after sending a fatal event that says why."""
    from .models import load_model

    started = time.time()
    try:
        model = load_model(
            args.kind, args.model, device=args.device, options=json.loads(args.options)
        )
        info = {**model.info(), "path": args.model}
    except Exception as exc:  # noqa: BLE001 - every load failure becomes one readable event
        send({"event": "fatal", "error": describe(exc)})
        return None
    info.update(device=args.device, pid=os.getpid(), load_seconds=round(time.time() - started, 3))
    send({"event": "ready", "info": info})
    log(f"loaded {info['kind']} from {args.model} on {args.device} in {info['load_seconds']}s")
    return model


def answer(model, request):
    """The protocol answer to one request; never raises."""
    request_id = request.get("id")
    try:
        results = model.run(request.get("op"), request.get("items", []), request.get("params", {}))
        return {"id": request_id, "ok": True, "results": results}
    except Exception as exc:  # noqa: BLE001 - the orchestrator decides what a failure means
        if not isinstance(exc, SidecarError):
            log(traceback.format_exc().rstrip())
        release_memory()
        return {"id": request_id, "ok": False, "error": describe(exc)}


def describe(exc):
    if is_out_of_memory(exc):
        return {"kind": "oom", "message": str(exc).splitlines()[0] if str(exc) else "out of memory"}
    kind = exc.kind if isinstance(exc, SidecarError) else "error"
    message = str(exc) if isinstance(exc, SidecarError) else f"{type(exc).__name__}: {exc}"
    return {"kind": kind, "message": message}


def release_memory():
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


if __name__ == "__main__":
    sys.exit(main())
