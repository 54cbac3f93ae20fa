"""Global pooling over the whole image while a net runs tile by tile.

A squeeze-and-excitation block (CUNet has four) scales its channels by a vector pooled over
the entire feature map. Run per tile, each tile would pool only itself and tiles would
disagree at their seams. Here every tile's run stops at each global pool in turn; the pooled
vector is gathered from the part of each tile's feature map that no other tile covers, exactly
as the untiled run would pool it, and handed to every tile before they go on. The graph is run
once: the tiles' live blobs wait between stops (in host memory when the net is on a GPU).
"""

from fractions import Fraction

import torch

from .shapes import walk


def run_with_image_pools(net, batches, rows, cols, tile, whole, park=None):
    """Outputs of the net for each batch of tiles, every global pool taken over the image.

    `batches` are (tensor [B, 3, th+2p, tw+2p], corners [(y, x), ...]); `rows` and `cols` the
    tile origins, multiples of net.multiple, `tile` (th, tw) and `whole` (H, W) the tile and
    image sides in input pixels (multiples of net.multiple). `park` moves waiting runs to
    host memory; by default when there are several batches on a GPU.
    """
    runs = [net.begin(tensor) for tensor, _ in batches]
    device = batches[0][0].device
    if park is None:
        park = len(runs) > 1 and device.type != "cpu"
    maps = map_sides(net, [*tile, *whole, *(side + net.multiple for side in tile)])
    for index in net.global_pools():
        layer = net.layers[index]
        average = layer.params.get(0, 0) == 1  # else max
        owned = owned_regions(net, maps, layer.bottoms[0], rows, cols, tile, whole)
        parts = []
        for run, (_, corners) in zip(runs, batches):
            resume(run, device, park)
            blob = net.run(run, until=index)  # [B, C, h, w]
            parts.append(pool_part(blob, corners, owned, average))
            suspend(run, park)
        parts = torch.stack(parts)  # [batches, C]
        vector = parts.sum(0) / owned["count"] if average else parts.amax(0)  # [C]
        for run in runs:
            run.pooled[layer.name] = vector.float()
    outputs = []
    for run in runs:
        resume(run, device, park)
        outputs.append(net.run(run))
    return outputs


def map_sides(net, sides):
    """{input side: {blob: (map side or None, channels)}}, one shape walk per distinct side;
    a side is input pixels, to which the walk adds the net's context on both edges."""
    return {n: walk(net.layers, n + 2 * net.pad).blobs for n in set(sides)}


def owned_regions(net, maps, blob, rows, cols, tile, whole):
    """Rows and columns of its feature map that each tile contributes to a pool, by origin."""
    row_spans = owned_spans(net, maps, blob, rows, tile[0], whole[0])
    col_spans = owned_spans(net, maps, blob, cols, tile[1], whole[1])
    count = sum(row_spans.values()) * sum(col_spans.values())
    return {"rows": row_spans, "cols": col_spans, "count": count}


def owned_spans(net, maps, blob, origins, side, full):
    """{origin: map pixels owned} along one axis.

    With aligned tiles, pixel j of a tile at origin y is pixel y*q + j of the untiled map,
    where q is the map's pixels per input pixel; a tile owns from its origin up to the next
    tile's, and the last one up to the untiled map's edge.
    """
    here, wider, total = (maps[n][blob][0] for n in (side, side + net.multiple, full))
    q = Fraction(wider - here, net.multiple)
    starts = [int(origin * q) for origin in origins]
    ends = starts[1:] + [total]
    spans = {origin: end - start for origin, start, end in zip(origins, starts, ends)}
    if any(span <= 0 or span > here for span in spans.values()):
        raise ValueError(
            f"tiles of {side} pixels do not cover the {blob} map of a {full}-pixel image"
        )
    return spans


def pool_part(blob, corners, owned, average):
    """[C]: the sum (or max) of each tile's owned part of the map, over the batch's tiles."""
    parts = []
    for sample, (y, x) in zip(blob, corners):
        region = sample[:, : owned["rows"][y], : owned["cols"][x]]  # [C, h', w']
        parts.append(region.double().sum((1, 2)) if average else region.amax((1, 2)))
    stacked = torch.stack(parts)  # [B, C]
    return stacked.sum(0) if average else stacked.amax(0)


def suspend(run, park):
    """Moves a waiting run's blobs to host memory, so only one batch of tiles is on the GPU."""
    if park:
        run.blobs = {name: blob.cpu() for name, blob in run.blobs.items()}


def resume(run, device, park):
    if park:
        run.blobs = {name: blob.to(device) for name, blob in run.blobs.items()}
