"""A pickle reader that builds network pickles from an allow-list and never runs their code."""

import collections
import io
import pickle

import numpy as np
import torch

from ..errors import ModelFileError, UnsafePickleError
from .storage_bytes import read_storage_bytes


class MisusedGlobalError(UnsafePickleError):
    """An allowed global called in a way no network pickle does (a gadget, not a network)."""

    def __init__(self, path, global_name, why):
        self.global_name = global_name
        ModelFileError.__init__(
            self,
            path,
            "a network pickle made only of known classes",
            f"the allowed global {global_name!r} used as {why} (refused, nothing was executed)",
        )


class FrozenType(type):
    """Stand-in classes cannot be patched by a BUILD opcode aimed at the class itself."""

    def __setattr__(cls, name, value):
        raise pickle.UnpicklingError(f"refusing to set attribute {name!r} on {cls.pickle_name}")


class EasyDict(dict, metaclass=FrozenType):
    """dnnlib.util.EasyDict: a dict whose keys read as attributes; no __dict__ for BUILD."""

    __slots__ = ()
    pickle_name = "dnnlib.util.EasyDict"

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class PersistentRecord(metaclass=FrozenType):
    """torch_utils.persistence: a module saved as class name + init kwargs + state dict."""

    __slots__ = ("class_name", "init_args", "init_kwargs", "state", "version")
    pickle_name = "torch_utils.persistence record"

    def __init__(self, class_name, state, version):
        init = state.get("_init_args", ()), state.get("_init_kwargs", {})
        for name, value in zip(self.__slots__, (class_name, *init, state, version)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise pickle.UnpicklingError("persistent records are read-only")


class TFNetworkRecord(metaclass=FrozenType):
    """dnnlib.tflib.network.Network: the TF network's __getstate__ dict, kept as data."""

    __slots__ = ("state",)
    pickle_name = "dnnlib.tflib.network.Network"

    def __setstate__(self, state):
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise pickle.UnpicklingError("a TF Network state must be a dict with string keys")
        object.__setattr__(self, "state", state)

    def __setattr__(self, name, value):
        raise pickle.UnpicklingError("TF network records are read-only")


class Allowed:
    """One allow-listed callable: immutable, so a BUILD opcode cannot retarget it."""

    __slots__ = ("function", "name", "path")

    def __init__(self, name, function, path):
        for slot, value in (("name", name), ("function", function), ("path", path)):
            object.__setattr__(self, slot, value)

    def __setattr__(self, name, value):
        raise MisusedGlobalError(self.path, self.name, f"the target of a BUILD setting {name!r}")

    def __call__(self, *args):
        return self.function(*args)


# Marks numpy.ndarray where it is only ever an argument of numpy's _reconstruct.
NDARRAY = object()
NUMERIC_KINDS = "biufc"


class SafeUnpickler(pickle.Unpickler):
    """Resolves globals only from ALLOWED; everything else is refused by name."""

    def __init__(self, file, path):
        super().__init__(file)
        self.path = str(path)
        self.allowed = allowed_globals(self.path)

    def find_class(self, module, name):
        full = f"{module}.{name}"
        if full not in self.allowed:
            raise UnsafePickleError(self.path, full)
        return self.allowed[full]

    def persistent_load(self, pid):
        raise MisusedGlobalError(self.path, "persistent_load", f"a persistent id {str(pid)[:60]!r}")


def load_pickle(path):
    """The unpickled object of a network file, built from stand-ins; raises ModelFileError."""
    with open(path, "rb") as handle:
        data = handle.read()
    if not data or data[:1] not in PICKLE_STARTS or data.startswith(b"\x89PNG"):
        raise ModelFileError(path, "a network pickle", describe_head(data))
    try:
        return SafeUnpickler(io.BytesIO(data), path).load()
    except ModelFileError:
        raise
    except (EOFError, pickle.UnpicklingError) as exc:
        if isinstance(exc, EOFError) or "truncated" in str(exc):
            raise ModelFileError(path, "a complete network pickle", "a truncated pickle") from None
        raise ModelFileError(
            path, "a readable network pickle", f"a broken pickle ({exc})"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any malformed stream is one bad-file message
        received = f"a pickle that fails to load ({type(exc).__name__}: {exc})"
        raise ModelFileError(path, "a readable network pickle", received) from None


# First opcodes of a pickle: PROTO (protocol 2+), or what protocol 0/1 streams open with.
PICKLE_STARTS = {bytes([c]) for c in b"\x80c(]})NSVIFLKJMXGUTq"}


def describe_head(data):
    if not data:
        return "an empty file"
    if data.startswith(b"\x89PNG"):
        return "a PNG image"
    return f"a file starting with bytes {data[:8].hex(' ')}"


def allowed_globals(path):
    """{"module.name": stand-in} for every global a network pickle may name."""

    def misuse(name, why):
        raise MisusedGlobalError(path, name, why)

    table = {
        "collections.OrderedDict": lambda *args: empty_ordered_dict(args, misuse),
        "builtins.set": lambda *args: plain_set(set, args, misuse),
        "builtins.frozenset": lambda *args: plain_set(frozenset, args, misuse),
        "_codecs.encode": lambda *args: latin1_bytes(args, misuse),
        "torch._utils._rebuild_tensor_v2": lambda *args: rebuild_tensor(args, misuse),
        "torch._utils._rebuild_parameter": lambda *args: rebuild_parameter(args, misuse),
        "torch.storage._load_from_bytes": lambda *args: storage_from_bytes(path, args, misuse),
        "torch_utils.persistence._reconstruct_persistent_obj": lambda *a: persistent(a, misuse),
    }
    for prefix in ("numpy.core.multiarray", "numpy._core.multiarray"):
        table[f"{prefix}._reconstruct"] = lambda *args: empty_array(args, misuse)
        table[f"{prefix}.scalar"] = lambda *args: numeric_scalar(args, misuse)
    table["numpy.dtype"] = lambda *args: numeric_dtype(args, misuse)
    allowed = {name: Allowed(name, function, path) for name, function in table.items()}
    allowed["numpy.ndarray"] = NDARRAY
    allowed["dnnlib.util.EasyDict"] = EasyDict
    allowed["dnnlib.EasyDict"] = EasyDict
    allowed["dnnlib.tflib.network.Network"] = TFNetworkRecord
    return allowed


def empty_ordered_dict(args, misuse):
    if args:
        misuse("collections.OrderedDict", "a call with arguments")
    return collections.OrderedDict()


def plain_set(kind, args, misuse):
    if len(args) > 1 or (args and not isinstance(args[0], (list, tuple))):
        misuse(f"builtins.{kind.__name__}", "a call with non-list arguments")
    return kind(args[0] if args else ())


def latin1_bytes(args, misuse):
    """Protocol 2 writes bytes as _codecs.encode(text, "latin1"); nothing else is accepted."""
    if len(args) != 2 or not isinstance(args[0], str) or args[1] not in ("latin1", "latin-1"):
        misuse("_codecs.encode", "a call other than encode(str, 'latin1')")
    return args[0].encode("latin1")


def numeric_dtype(args, misuse):
    if not args or not isinstance(args[0], str) or any(not isinstance(a, bool) for a in args[1:]):
        misuse("numpy.dtype", f"dtype{args!r}")
    dtype = np.dtype(args[0])
    if dtype.kind not in NUMERIC_KINDS:
        misuse("numpy.dtype", f"the non-numeric dtype {args[0]!r}")
    return dtype


def checked_dtype(dtype, name, misuse):
    if not isinstance(dtype, np.dtype) or dtype.kind not in NUMERIC_KINDS or dtype.hasobject:
        misuse(name, "a call with a non-numeric dtype")
    return dtype


def numeric_scalar(args, misuse):
    name = "numpy.core.multiarray.scalar"
    if len(args) != 2 or not isinstance(args[1], bytes):
        misuse(name, "a call without (dtype, bytes)")
    dtype = checked_dtype(args[0], name, misuse)
    if len(args[1]) != dtype.itemsize:
        misuse(name, "a call whose bytes do not fit the dtype")
    return np.frombuffer(args[1], dtype=dtype)[0]


def empty_array(args, misuse):
    """numpy's _reconstruct(ndarray, (0,), b'b'): an empty array that BUILD then fills."""
    if len(args) != 3 or args[0] is not NDARRAY or args[1] != (0,) or args[2] != b"b":
        misuse("numpy.core.multiarray._reconstruct", "a call other than (ndarray, (0,), b'b')")
    return NumericArrayBuilder()


class NumericArrayBuilder:
    """Collects ndarray state from BUILD, accepting only numeric dtypes and raw bytes."""

    __slots__ = ("array",)

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) != 5:
            raise pickle.UnpicklingError(
                "an ndarray state must be (version, shape, dtype, f, data)"
            )
        _, shape, dtype, fortran, raw = state
        if not isinstance(dtype, np.dtype) or dtype.kind not in NUMERIC_KINDS or dtype.hasobject:
            raise pickle.UnpicklingError("an ndarray of a non-numeric dtype")
        if not isinstance(raw, bytes) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise pickle.UnpicklingError("an ndarray whose data is not raw bytes")
        count = int(np.prod(shape)) if shape else 1
        if count * dtype.itemsize != len(raw):
            raise pickle.UnpicklingError("an ndarray whose bytes do not match its shape")
        flat = np.frombuffer(raw, dtype=dtype).copy()
        self.array = flat.reshape(shape, order="F" if fortran else "C")


def rebuild_tensor(args, misuse):
    name = "torch._utils._rebuild_tensor_v2"
    if len(args) not in (6, 7) or not isinstance(args[0], torch.Tensor):
        misuse(name, "a call without a storage read from this file")
    storage, offset, size, stride, _, hooks = args[:6]
    if hooks or not all(isinstance(v, int) for v in (offset, *size, *stride)):
        misuse(name, "a call with hooks or non-integer geometry")
    if size and offset + sum((n - 1) * s for n, s in zip(size, stride)) >= storage.numel():
        misuse(name, "a view past the end of its storage")
    return storage.as_strided(tuple(size), tuple(stride), offset).clone()


def rebuild_parameter(args, misuse):
    if len(args) != 3 or not isinstance(args[0], torch.Tensor) or args[2]:
        misuse("torch._utils._rebuild_parameter", "a call without a tensor")
    return args[0]


def storage_from_bytes(path, args, misuse):
    if len(args) != 1 or not isinstance(args[0], bytes):
        misuse("torch.storage._load_from_bytes", "a call without bytes")
    return read_storage_bytes(path, args[0])


def persistent(args, misuse):
    name = "torch_utils.persistence._reconstruct_persistent_obj"
    meta = args[0] if len(args) == 1 else None
    if not isinstance(meta, dict) or meta.get("type") != "class":
        misuse(name, "a call without a class record")
    if not isinstance(meta.get("class_name"), str) or not isinstance(meta.get("state"), dict):
        misuse(name, "a call without class_name and state")
    return PersistentRecord(meta["class_name"], meta["state"], meta.get("version"))
