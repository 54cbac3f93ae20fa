"""A text model that answers from a list of replies, for testing the snippet stages.

The model file is JSON: {"replies": ["text", ...], "stop": "eot" | "length"}. An item's reply
is replies[seed % len(replies)], so a test knows which text each seed gets; the real text
models are tested on their own.
"""

import json
from pathlib import Path

from .. import faults
from ..errors import ModelFileError
from .base import Model


class ScriptedTextModel(Model):
    kind = "scripted"
    ops = ("sample",)

    def __init__(self, path, device="cpu", options=None):
        super().__init__(path, device, options)
        try:
            script = json.loads(Path(self.path).read_text(encoding="utf-8"))
            self.replies = [str(reply) for reply in script["replies"]]
            self.stop = script.get("stop", "eot")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelFileError(
                self.path, 'JSON with a "replies" list', f"{type(exc).__name__}: {exc}"
            )
        if not self.replies:
            raise ModelFileError(self.path, "at least one reply", "an empty list")

    def info(self):
        return {**super().info(), "replies": len(self.replies)}

    def run(self, op, items, params):
        self.check_op(op)
        faults.before_batch(items)
        return [self.reply(item) for item in items]

    def reply(self, item):
        text = self.replies[item["seed"] % len(self.replies)]
        return {"id": item["id"], "text": text, "stop": self.stop, "new_tokens": len(text)}
