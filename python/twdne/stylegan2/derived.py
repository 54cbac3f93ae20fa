"""Tensors derived from a module's weights, computed once and kept until the weights change."""


def derived(owner, name, source, compute):
    """compute() cached on `owner` for as long as `source` is the same, unmodified tensor.

    The key holds the tensor's version counter, so in-place writes (loading, re-seeding weights)
    and moves to another device or dtype all recompute.
    """
    key = (source._version, source.data_ptr(), source.dtype, source.device)
    cache = owner.__dict__.setdefault("_derived", {})
    entry = cache.get(name)
    if entry is None or entry[0] != key:
        entry = cache[name] = (key, compute())
    return entry[1]
