"""`python -m twdne.inspect_model FILE [KIND] [OPTIONS]`: what a model file is, as JSON."""

import json
import sys

from .errors import SidecarError
from .hashing import sha256_file


def inspect(path, kind="auto", options=None):
    """{"ok": true, "info": {...}} for a loadable model, else {"ok": false, "error": ...}.

    options: the model options a worker would get (e.g. {"vocab": DIR} for GPT-2).
    """
    from .models import load_model

    try:
        model = load_model(kind, path, device="cpu", options=options)
        return {
            "ok": True,
            "info": {**model.info(), "path": str(path), "sha256": sha256_file(path)},
        }
    except SidecarError as exc:
        return {"ok": False, "error": {"kind": exc.kind, "message": str(exc)}}
    except Exception as exc:  # noqa: BLE001 - inspect reports, it does not crash
        return {
            "ok": False,
            "error": {"kind": "model", "message": f"{path}: {type(exc).__name__}: {exc}"},
        }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m twdne.inspect_model FILE [KIND] [OPTIONS_JSON]", file=sys.stderr)
        return 2
    kind = argv[1] if len(argv) > 1 else "auto"
    options = json.loads(argv[2]) if len(argv) > 2 else None
    report = inspect(argv[0], kind, options)
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
