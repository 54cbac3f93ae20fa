"""Errors the sidecar reports to the orchestrator as one readable line."""


class SidecarError(Exception):
    """A failure with a kind the orchestrator can act on (retry, shrink, give up)."""

    kind = "error"


class ModelFileError(SidecarError):
    """A model file that cannot be loaded: names the file, what was expected and what was found."""

    kind = "model"

    def __init__(self, path, expected, received):
        self.path = str(path)
        self.expected = expected
        self.received = received
        super().__init__(f"{self.path}: expected {expected}, received {received}")


class UnsafePickleError(ModelFileError):
    """A pickle that asks for a global outside the allow-list; nothing from it was run."""

    def __init__(self, path, global_name):
        self.global_name = global_name
        super().__init__(
            path,
            "a network pickle made only of known classes",
            f"a reference to the forbidden global {global_name!r} (refused, nothing was executed)",
        )


class RequestError(SidecarError):
    """A request the model cannot serve (unknown op, missing field)."""

    kind = "request"


class OutOfMemory(SidecarError):
    """The device ran out of memory; the orchestrator retries with a smaller batch."""

    kind = "oom"


def is_out_of_memory(exc):
    """True for torch's CUDA/CPU out-of-memory errors, whatever torch version raised them."""
    if isinstance(exc, (OutOfMemory, MemoryError)):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
