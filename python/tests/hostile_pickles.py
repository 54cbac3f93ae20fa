"""Builds a corpus of hostile network pickles; each would create a sentinel file if executed.

`build_corpus(folder)` writes the files and returns one HostileCase per file, naming the
global the loader must refuse. Run directly to write the corpus into a folder for a look.
"""

import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

from shared_paths import STYLEGAN2_FIXTURES

FIXTURES = STYLEGAN2_FIXTURES


@dataclass
class HostileCase:
    name: str
    path: Path  # the hostile pickle
    global_name: str  # what the refusal must name
    sentinel: Path  # created if the payload ever runs
    canary: Path = None  # a folder that must survive (the rmtree payload)


# Opcode helpers: enough of the pickle machine to write payloads by hand.
def proto(n):
    return b"\x80" + bytes([n])


def text0(s):  # protocol 0 STRING
    return b"S" + repr(s).encode() + b"\n"


def text(s):  # BINUNICODE, protocol 1+
    raw = s.encode()
    return b"X" + len(raw).to_bytes(4, "little") + raw


def glob(module, name):  # GLOBAL
    return b"c" + f"{module}\n{name}\n".encode()


def stack_glob(module, name):  # STACK_GLOBAL, protocol 4+
    return text(module) + text(name) + b"\x93"


def tup(*items):
    return b"(" + b"".join(items) + b"t"


def call(callable_ops, *args):
    return callable_ops + tup(*args) + b"R"


STOP = b"."


def touch_code(sentinel):
    return f"open({str(sentinel)!r}, 'w').close()"


class Reduce:
    """An object whose pickle calls `function(*args)`, as an attacker's pickle.dumps would."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def payloads(folder):
    """(name, bytes, global the loader must name, sentinel) for every hand-written case."""
    cases = []

    def add(name, global_name, make):
        sentinel = folder / f"sentinel-{name}"
        cases.append((name, make(sentinel), global_name, sentinel))

    touch = lambda s: f"touch {s}"
    add(
        "os-system-p0",
        "os.system",
        lambda s: glob("os", "system") + b"(" + text0(touch(s)) + b"tR.",
    )
    add(
        "posix-system-p1",
        "posix.system",
        lambda s: proto(1) + call(glob("posix", "system"), text(touch(s))) + STOP,
    )
    add(
        "nt-system-p2",
        "nt.system",
        lambda s: proto(2) + call(glob("nt", "system"), text(touch(s))) + STOP,
    )
    add(
        "eval-p2",
        "builtins.eval",
        lambda s: proto(2) + call(glob("builtins", "eval"), text(touch_code(s))) + STOP,
    )
    add(
        "exec-p3",
        "builtins.exec",
        lambda s: proto(3) + call(glob("builtins", "exec"), text(touch_code(s))) + STOP,
    )
    add(
        "open-p5",
        "builtins.open",
        lambda s: proto(5) + call(stack_glob("builtins", "open"), text(str(s)), text("w")) + STOP,
    )
    add(
        "py2-builtin-eval-p0",
        "__builtin__.eval",
        lambda s: glob("__builtin__", "eval") + b"(" + text0(touch_code(s)) + b"tR.",
    )
    add(
        "popen-p2",
        "subprocess.Popen",
        lambda s: (
            proto(2)
            + call(glob("subprocess", "Popen"), b"(" + text("touch") + text(str(s)) + b"l")
            + STOP
        ),
    )
    add(
        "check-output-p3",
        "subprocess.check_output",
        lambda s: (
            proto(3)
            + call(glob("subprocess", "check_output"), b"(" + text("touch") + text(str(s)) + b"l")
            + STOP
        ),
    )

    # Nested reduces: the callable itself comes out of another reduce.
    def getattr_import(s):
        system = call(
            stack_glob("builtins", "getattr"),
            call(stack_glob("builtins", "__import__"), text("os")),
            text("system"),
        )
        return proto(4) + system + tup(text(touch(s))) + b"R" + STOP

    add("getattr-import-p4", "builtins.getattr", getattr_import)

    def import_first(s):
        module = call(stack_glob("builtins", "__import__"), text("os"))
        return proto(4) + module + b"0" + call(stack_glob("os", "system"), text(touch(s))) + STOP

    add("import-p4", "builtins.__import__", import_first)

    def import_module(s):
        module = call(glob("importlib", "import_module"), text("os")) + b"q\x000"  # BINPUT, POP
        system = call(glob("builtins", "getattr"), b"h\x00", text("system"))
        return proto(2) + module + system + tup(text(touch(s))) + b"R" + STOP

    add("import-module-p2", "importlib.import_module", import_module)

    # Other opcodes that resolve globals: INST, OBJ, NEWOBJ, NEWOBJ_EX, BUILD, memo-fed STACK_GLOBAL.
    add("inst-p0", "os.system", lambda s: b"(" + text0(touch(s)) + b"ios\nsystem\n.")
    add(
        "obj-p1",
        "os.system",
        lambda s: proto(1) + b"(" + glob("os", "system") + text(touch(s)) + b"o.",
    )
    add(
        "newobj-p2",
        "subprocess.Popen",
        lambda s: (
            proto(2)
            + glob("subprocess", "Popen")
            + tup(b"(" + text("touch") + text(str(s)) + b"l")
            + b"\x81."
        ),
    )
    add(
        "newobj-ex-p4",
        "subprocess.Popen",
        lambda s: (
            proto(4)
            + stack_glob("subprocess", "Popen")
            + tup(b"(" + text("touch") + text(str(s)) + b"l")
            + b"}\x92."
        ),
    )
    add(
        "build-p2",
        "subprocess.Popen",
        lambda s: (
            proto(2)
            + glob("subprocess", "Popen")
            + b")\x81}"
            + text("args")
            + text(touch(s))
            + b"sb."
        ),
    )

    def memo_global(s):
        names = text("os") + b"\x94" + text("system") + b"\x94"  # MEMOIZE both names
        return proto(4) + names + b"00" + b"h\x00h\x01\x93" + tup(text(touch(s))) + b"R" + STOP

    add("memo-stack-global-p4", "os.system", memo_global)

    # Allowed globals used as gadgets.
    add(
        "build-on-allowed-p2",
        "collections.OrderedDict",
        lambda s: (
            proto(2)
            + glob("collections", "OrderedDict")
            + b"N}"
            + text("function")
            + text(touch(s))
            + b"s\x86b."
        ),
    )
    add(
        "ordered-dict-args-p2",
        "collections.OrderedDict",
        lambda s: proto(2) + call(glob("collections", "OrderedDict"), text(touch(s))) + STOP,
    )
    add(
        "object-dtype-p2",
        "numpy.dtype",
        lambda s: proto(2) + call(glob("numpy", "dtype"), text("O"), b"\x89\x88") + STOP,
    )
    add(
        "rebuild-tensor-p2",
        "torch._utils._rebuild_tensor_v2",
        lambda s: (
            proto(2)
            + call(glob("torch._utils", "_rebuild_tensor_v2"), text(touch(s)), b"K\x00")
            + STOP
        ),
    )
    add("persistent-id-p2", "persistent_load", lambda s: proto(2) + text(touch(s)) + b"Q.")

    def storage_bytes(s):
        inner = proto(2) + call(glob("os", "system"), text(touch(s))) + STOP
        raw = b"B" + len(inner).to_bytes(4, "little") + inner
        return proto(3) + call(glob("torch.storage", "_load_from_bytes"), raw) + STOP

    add("storage-bytes-p3", "os.system", storage_bytes)
    return cases


def spliced(folder):
    """Real network pickles with one malicious record spliced in."""
    cases = []
    tiny = (FIXTURES / "tiny.pkl").read_bytes()
    cond = (FIXTURES / "cond.pkl").read_bytes()
    s = folder / "sentinel-spliced-tiny"
    record = call(stack_glob("os", "system"), text(f"touch {s}")) + b"0"  # run, then POP
    cases.append(("spliced-tiny-p4", tiny[:2] + record + tiny[2:], "os.system", s))
    s = folder / "sentinel-spliced-cond"
    record = call(glob("subprocess", "check_output"), b"(" + text("touch") + text(str(s)) + b"l")
    cases.append(
        ("spliced-cond-p3", cond[:-1] + record + b"0" + STOP, "subprocess.check_output", s)
    )
    return cases


def reduce_dumps(folder):
    """pickle.dumps of crafted __reduce__ objects, protocols 0..5."""
    cases = []
    for protocol in range(6):
        s = folder / f"sentinel-dumps-p{protocol}"
        payload = pickle.dumps(Reduce(os.system, f"touch {s}"), protocol=protocol)
        cases.append((f"dumps-system-p{protocol}", payload, f"{os.system.__module__}.system", s))
    return cases


def build_corpus(folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, data, global_name, sentinel in (
        payloads(folder) + spliced(folder) + reduce_dumps(folder)
    ):
        path = folder / f"{name}.pkl"
        path.write_bytes(data)
        cases.append(HostileCase(name, path, global_name, sentinel))

    # rmtree's sentinel is a folder that must still be there afterwards.
    canary = folder / "canary"
    canary.mkdir(exist_ok=True)
    data = proto(4) + call(stack_glob("shutil", "rmtree"), text(str(canary))) + STOP
    path = folder / "rmtree-p4.pkl"
    path.write_bytes(data)
    cases.append(
        HostileCase("rmtree-p4", path, "shutil.rmtree", folder / "sentinel-rmtree", canary)
    )
    return cases


if __name__ == "__main__":
    for case in build_corpus(sys.argv[1] if len(sys.argv) > 1 else "hostile-pickles"):
        print(f"{case.path}  refuses {case.global_name}")
