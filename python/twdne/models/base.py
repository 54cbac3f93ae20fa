"""The interface every sidecar model implements, and the shared face-generator batch loop."""

from .. import faults
from ..errors import RequestError
from ..images import write_png


class Model:
    """A loaded model that answers batches. Subclasses set `kind` and `ops` and implement `run`.

    `info()` describes the model for `twdne inspect` and for provenance; `run(op, items,
    params)` returns one result dict per item, in order, each with the item's `id`.
    """

    kind = "model"
    ops = ()

    def __init__(self, path, device="cpu", options=None):
        self.path = str(path)
        self.device = device
        self.options = dict(options or {})

    def info(self):
        return {"kind": self.kind, "ops": list(self.ops)}

    def run(self, op, items, params):
        raise NotImplementedError

    def check_op(self, op):
        if op not in self.ops:
            raise RequestError(f"{self.kind} answers {', '.join(self.ops)}; received op {op!r}")


class FaceGenerator(Model):
    """A seed -> image model. Subclasses implement `images(seeds, psi, params)`.

    Items of a `generate` request: {"id", "seed", "psi", "out"}; `out` is where the PNG goes.
    Results: {"id", "width", "height"}. Items are grouped by psi, each group one forward pass.
    """

    ops = ("generate",)
    uses_psi = True

    def images(self, seeds, psi, params):
        """[N, H, W, 3] uint8 for these seeds at truncation psi."""
        raise NotImplementedError

    def run(self, op, items, params):
        self.check_op(op)
        faults.before_batch(items)
        results = {}
        for psi, group in group_by_psi(items).items():
            arrays = self.images([item["seed"] for item in group], psi, params)
            for index, (item, array) in enumerate(zip(group, arrays)):
                results[item["id"]] = self.write(item, array)
                if index == 0:
                    faults.mid_batch()
        return [results[item["id"]] for item in items]

    def write(self, item, array):
        failure = faults.item_error(item["id"])
        if failure:
            return {"id": item["id"], "error": str(failure)}
        write_png(array, item["out"])
        return {"id": item["id"], "height": int(array.shape[0]), "width": int(array.shape[1])}


def group_by_psi(items):
    """{psi: [items]} keeping first-seen order, so one batch may mix psi groups."""
    groups = {}
    for item in items:
        groups.setdefault(item.get("psi"), []).append(item)
    return groups
