"""Runs an ncnn layer graph in PyTorch, and walks its shapes to find a net's geometry.

Blobs are NCHW tensors, or [N, C] vectors after global pooling and InnerProduct, as ncnn's
1-D blobs. Every layer type the interpreter knows is listed in LAYERS; anything else is
refused by name when the model is loaded.
"""

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..errors import ModelFileError

ARRAY_SLOPE = 10  # param id of an activation's parameters


@dataclass
class Run:
    """One pass through the graph, resumable: the input, the live blobs, the next layer, and
    vectors that stand in for global pooling layers (by layer name) when given."""

    x: torch.Tensor
    pooled: dict
    blobs: dict = field(default_factory=dict)
    index: int = 0


class NcnnNet:
    """A callable ncnn graph: one input blob [N, C, H, W] in, the one unconsumed blob out."""

    def __init__(self, path, layers):
        self.path = path
        for layer in layers:
            if layer.type not in LAYERS:
                known = ", ".join(sorted(LAYERS))
                raise ModelFileError(
                    path,
                    f"ncnn layers of a known type ({known})",
                    f"a {layer.type} layer ({layer.name})",
                )
        self.layers = layers
        self.weights = {
            (layer.name, k): torch.from_numpy(w)
            for layer in layers
            for k, w in layer.weights.items()
        }
        produced = [top for layer in layers for top in layer.tops]
        consumed = {bottom for layer in layers for bottom in layer.bottoms}
        outputs = [blob for blob in produced if blob not in consumed]
        if len(outputs) != 1:
            raise ModelFileError(path, "a graph with one output blob", f"outputs {outputs}")
        self.output = outputs[0]
        last_reader = {b: i for i, layer in enumerate(layers) for b in layer.bottoms}
        self.freed_after = [
            [b for b in layer.bottoms if last_reader[b] == i] for i, layer in enumerate(layers)
        ]

    def __call__(self, x):
        return self.run(self.begin(x))

    def begin(self, x, pooled=None):
        """A run of the graph on input x that has not started; see run."""
        return Run(x, pooled if pooled is not None else {})

    def run(self, state, until=None):
        """Runs layers from where `state` stopped: to the end, returning the output blob, or
        up to (not including) layer index `until`, returning that layer's first input blob."""
        stop = len(self.layers) if until is None else until
        for index in range(state.index, stop):
            layer = self.layers[index]
            inputs = [state.blobs[b] for b in layer.bottoms]
            state.blobs.update(zip(layer.tops, LAYERS[layer.type](self, layer, inputs, state)))
            for blob in self.freed_after[index]:
                del state.blobs[blob]  # its last reader ran: free the memory now
        state.index = stop
        if until is None:
            return state.blobs[self.output]
        return state.blobs[self.layers[until].bottoms[0]]

    def global_pools(self):
        """Indices of the layers that pool a whole feature map into one vector."""
        return [
            index
            for index, layer in enumerate(self.layers)
            if layer.type == "Pooling" and layer.params.get(4, 0)
        ]

    def weight(self, layer, name):
        return self.weights[(layer.name, name)]

    def to(self, device):
        self.weights = {key: w.to(device) for key, w in self.weights.items()}
        return self

    def parameter_count(self):
        return sum(w.numel() for w in self.weights.values())


# Layers: each takes (net, layer, input tensors, the Run) and returns its output tensors


def input_layer(net, layer, inputs, run):
    return [run.x]


def convolution(net, layer, inputs, run):
    p = layer.params
    weight = conv_weight(net, layer, transposed=False)  # [out, in, kh, kw]
    bias = net.weight(layer, "bias") if p.get(5, 0) else None
    left, right, top, bottom = pads(p)
    y = (
        F.pad(inputs[0], (left, right, top, bottom))
        if left or right or top or bottom
        else inputs[0]
    )
    stride, dilation = (p.get(13, p.get(3, 1)), p.get(3, 1)), (p.get(12, p.get(2, 1)), p.get(2, 1))
    return [activate(p, F.conv2d(y, weight, bias, stride, 0, dilation))]


def deconvolution(net, layer, inputs, run):
    p = layer.params
    weight = conv_weight(net, layer, transposed=True)  # [in, out, kh, kw]
    bias = net.weight(layer, "bias") if p.get(5, 0) else None
    stride, dilation = (p.get(13, p.get(3, 1)), p.get(3, 1)), (p.get(12, p.get(2, 1)), p.get(2, 1))
    y = F.conv_transpose2d(inputs[0], weight, bias, stride, 0, 0, 1, dilation)  # full output
    left, right, top, bottom = pads(p)
    y = y[:, :, top : y.shape[2] - bottom, left : y.shape[3] - right]
    return [activate(p, y)]


def conv_weight(net, layer, transposed):
    """The flat weight as [out, in, kh, kw], or [in, out, kh, kw] for a transposed conv.

    ncnn stores both kinds output-major, and its Deconvolution scatters without flipping the
    kernel, as torch's conv_transpose2d does.
    """
    p = layer.params
    kw = p[1]
    kh = p.get(11, kw)
    flat = net.weight(layer, "weight")
    weight = flat.reshape(p[0], -1, kh, kw)
    return weight.transpose(0, 1) if transposed else weight


def pads(p):
    """(left, right, top, bottom) from ncnn's pad ids 4, 15, 14, 16 (each defaults to pad 4)."""
    left = p.get(4, 0)
    if left < 0:
        raise ValueError("ncnn 'same' padding (negative pad) is not supported")
    top = p.get(14, left)
    return left, p.get(15, left), top, p.get(16, top)


def activate(p, y):
    """ncnn's fused activation: 9 = type (0 none, 1 relu, 2 leaky, 3 clip, 4 sigmoid)."""
    kind, args = p.get(9, 0), p.get(ARRAY_SLOPE, [])
    if kind == 0:
        return y
    if kind == 1:
        return F.relu(y)
    if kind == 2:
        return F.leaky_relu(y, args[0])
    if kind == 3:
        return y.clamp(args[0], args[1])
    if kind == 4:
        return torch.sigmoid(y)
    raise ValueError(f"ncnn activation type {kind} is not supported")


def pooling(net, layer, inputs, run):
    """Global pooling gives an [N, C] vector (or the run's stand-in [C] for every sample);
    windowed pooling needs no padding here."""
    p, y = layer.params, inputs[0]
    average = p.get(0, 0) == 1
    if layer.name in run.pooled:
        return [run.pooled[layer.name].to(y.dtype).expand(y.shape[0], -1)]
    if p.get(4, 0):
        return [y.mean((2, 3)) if average else y.amax((2, 3))]
    kernel, stride = p.get(1, 0), p.get(2, 1)
    pool = F.avg_pool2d if average else F.max_pool2d
    return [pool(y, kernel, stride)]


def inner_product(net, layer, inputs, run):
    p = layer.params
    y = inputs[0].flatten(1)  # [N, in]
    weight = net.weight(layer, "weight").reshape(p[0], -1)  # [out, in]
    bias = net.weight(layer, "bias") if p.get(1, 0) else None
    return [activate(p, F.linear(y, weight, bias))]


def scale(net, layer, inputs, run):
    """Per-channel scale: from a second blob (squeeze-and-excitation) or from the weights."""
    p, y = layer.params, inputs[0]
    if p.get(0, 0) == -233:
        return [y * inputs[1].reshape(y.shape[0], -1, 1, 1)]
    y = y * net.weight(layer, "scale").reshape(1, -1, 1, 1)
    return [y + net.weight(layer, "bias").reshape(1, -1, 1, 1) if p.get(1, 0) else y]


def split(net, layer, inputs, run):
    return [inputs[0]] * len(layer.tops)


def crop(net, layer, inputs, run):
    """Offsets 0 (w) and 1 (h); the size is the second blob's, or params 3 (w) and 4 (h)."""
    p, y = layer.params, inputs[0]
    left, top = p.get(0, 0), p.get(1, 0)
    if len(inputs) > 1:
        height, width = inputs[1].shape[2:]
    else:
        height, width = p.get(4, y.shape[2] - top), p.get(3, y.shape[3] - left)
    return [y[:, :, top : top + height, left : left + width]]


def eltwise(net, layer, inputs, run):
    """0 = op (0 product, 1 sum with optional coefficients 1, 2 max)."""
    op, coeffs = layer.params.get(0, 1), layer.params.get(1, [])
    if op == 0:
        return [torch.stack(inputs).prod(0)]
    if op == 2:
        return [torch.stack(inputs).amax(0)]
    coeffs = coeffs or [1.0] * len(inputs)
    return [sum(c * t for c, t in zip(coeffs, inputs))]


BINARY = {
    0: torch.add,
    1: torch.sub,
    2: torch.mul,
    3: torch.div,
    4: torch.maximum,
    5: torch.minimum,
}


def binary_op(net, layer, inputs, run):
    """0 = op; 1 = with_scalar, 2 = the scalar; two blobs must have broadcastable shapes."""
    op = BINARY[layer.params.get(0, 0)]
    if layer.params.get(1, 0):
        return [
            op(inputs[0], torch.tensor(float(layer.params.get(2, 0.0)), device=inputs[0].device))
        ]
    return [op(inputs[0], inputs[1])]


def relu(net, layer, inputs, run):
    slope = layer.params.get(0, 0.0)
    return [F.leaky_relu(inputs[0], slope) if slope else F.relu(inputs[0])]


def sigmoid(net, layer, inputs, run):
    return [torch.sigmoid(inputs[0])]


def concat(net, layer, inputs, run):
    """0 = axis over ncnn's C, H, W (batch excluded)."""
    return [torch.cat(inputs, dim=1 + layer.params.get(0, 0))]


LAYERS = {
    "Input": input_layer,
    "Convolution": convolution,
    "Deconvolution": deconvolution,
    "Pooling": pooling,
    "InnerProduct": inner_product,
    "Scale": scale,
    "Split": split,
    "Crop": crop,
    "Eltwise": eltwise,
    "BinaryOp": binary_op,
    "ReLU": relu,
    "Sigmoid": sigmoid,
    "Concat": concat,
}
