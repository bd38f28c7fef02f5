"""Convolution and pooling layers: F.conv1d/conv2d, the pools, and their Modules.

conv2d is im2col -> one matrix multiply on the C GEMM -> reshape (+ bias); groups
are a batch of smaller multiplies. Shapes, defaults, initialisation and state_dict
keys are PyTorch's. Read ../ops_conv.py for the gradients, docs/convolution.md for why.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import kernels, ops_conv
from ..tensor import Tensor, apply
from . import init
from .checks import check_tensor as _check_tensor
from .module import Module, Parameter

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
NUMPY_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
DEFAULT_DTYPE = np.float32

# ---------------------------------------------------------------- argument checks


def _tuple(value, n: int, name: str, minimum: int) -> tuple:
    """An int or a sequence of n ints, each >= minimum, as an n-tuple (ValueError naming `name`)."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(values) != n or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values
    ):
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    if min(values) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def _padding_pairs(padding, kernel_size: tuple, stride: tuple, dilation: tuple) -> tuple:
    """((before, after), ...) per spatial axis from an int, a tuple, "valid" or "same".

    "same" (stride 1 only, as PyTorch) pads dilation·(kernel-1) in total, the odd one
    extra after (bottom, right), so that the output has the input's size.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in kernel_size)
        if padding != "same":
            raise ValueError(f"padding must be 'valid', 'same' or ints, got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError("padding='same' is not supported for strided convolutions")
        totals = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
        return tuple((total // 2, total - total // 2) for total in totals)
    return tuple((p, p) for p in _tuple(padding, len(kernel_size), "padding", 0))


def _check_conv_input(x: Tensor, weight: Tensor, groups, spatial: int, name: str) -> None:
    _check_tensor(x, "input")
    _check_tensor(weight, "weight")
    if x.ndim != spatial + 2:
        raise ValueError(
            f"{name}: input must be {spatial + 2}-D (N, C, {'H, W' if spatial == 2 else 'L'}), "
            f"got shape {x.shape}"
        )
    if weight.ndim != spatial + 2:
        raise ValueError(f"{name}: weight must be {spatial + 2}-D, got shape {weight.shape}")
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"{name}: groups must be an int >= 1, got {groups!r}")
    if x.shape[1] % groups or weight.shape[0] % groups:
        raise ValueError(
            f"{name}: groups={groups} must divide the in_channels ({x.shape[1]}) and the "
            f"out_channels ({weight.shape[0]})"
        )
    if weight.shape[1] * groups != x.shape[1]:
        raise ValueError(
            f"{name}: input has {x.shape[1]} channels but weight {weight.shape} with "
            f"groups={groups} expects {weight.shape[1] * groups} (in_channels = "
            f"weight.shape[1] · groups)"
        )
    if x.dtype != weight.dtype:
        raise TypeError(f"{name}: input is {x.dtype} but weight is {weight.dtype}")


def _pad_with_indices(x: Tensor, pairs: tuple, mode: str) -> Tensor:
    """x padded along its last len(pairs) axes by picking indices (reflect, replicate,
    circular): a gather, so the gradient adds each copy back where it came from."""
    for axis, (before, after) in zip(range(x.ndim - len(pairs), x.ndim), pairs):
        size = x.shape[axis]
        limit = size - 1 if mode == "reflect" else size
        if max(before, after) > limit:
            raise ValueError(
                f"padding ({before}, {after}) is too large for padding_mode={mode!r} on an "
                f"axis of size {size} (at most {limit})"
            )
        index = np.pad(np.arange(size), (before, after), mode=NUMPY_PAD_MODES[mode])
        x = x[(slice(None),) * axis + (index,)]
    return x


# ---------------------------------------------------------------- convolution


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """Forward: out[n,o,oh,ow] = b[o] + Σ_{c,i,j} W[o,c,i,j] · x[n, c, oh·sh - ph + i·dh, ow·sw - pw + j·dw]
              x (N, C, H, W), W (OC, C/groups, KH, KW), b (OC,) -> out (N, OC, OH, OW)
    Local:    out = W₂ @ im2col(x) with W₂ = W reshaped (OC, C·KH·KW): linear in W and in x
    Backward: grad_W₂ = grad₂ @ colsᵀ, grad_cols = W₂ᵀ @ grad₂, grad_x = col2im(grad_cols),
              grad_b = Σ_{n,oh,ow} grad   (from the graph of Im2Col, MatMul, reshapes)

    padding: int, (ph, pw), "valid" or "same" (stride 1). groups splits the channels into
    groups convolved separately (groups = C: depthwise). A 3-D input (C, H, W) is one image.
    """
    if isinstance(input, Tensor) and input.ndim == 3:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups)[0]
    _check_conv_input(input, weight, groups, 2, "conv2d")
    kernel_size = weight.shape[2:]
    stride, dilation = _tuple(stride, 2, "stride", 1), _tuple(dilation, 2, "dilation", 1)
    pairs = _padding_pairs(padding, kernel_size, stride, dilation)
    return _conv2d(input, weight, bias, stride, pairs, dilation, groups)


def _conv2d(x, weight, bias, stride, pairs, dilation, groups) -> Tensor:
    """conv2d on checked arguments; pairs = ((top, bottom), (left, right)) zero padding."""
    batch, channels, height, width = x.shape
    out_channels, kernel_size = weight.shape[0], weight.shape[2:]
    out_h, out_w = (
        kernels.conv_output_size(size, k, s, before, after, d)
        for size, k, s, (before, after), d in zip(
            (height, width), kernel_size, stride, pairs, dilation
        )
    )
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"conv2d: kernel_size {kernel_size} (dilation {dilation}) is larger than the "
            f"padded input: {height}x{width} padded by {pairs}"
        )
    if bias is not None:
        _check_tensor(bias, "bias")
        if bias.shape != (out_channels,):
            raise ValueError(f"conv2d: bias must have shape ({out_channels},), got {bias.shape}")
    window = {"kernel_size": kernel_size, "stride": stride, "padding": pairs, "dilation": dilation}
    if groups == 1:  # the C kernel: im2col -> GEMM (+ bias) image by image, NCHW out
        inputs = (x, weight) if bias is None else (x, weight, bias)
        return apply(ops_conv.Conv2d, *inputs, window=window)
    # one smaller product per group: its output channels see only its input channels
    cols = apply(ops_conv.Im2Col, x, window=window)  # (C·KH·KW, N·OH·OW)
    per_group = cols.reshape(groups, cols.shape[0] // groups, cols.shape[1])
    out = weight.reshape(groups, out_channels // groups, -1) @ per_group
    out = out.reshape(out_channels, batch, out_h, out_w).permute(1, 0, 2, 3)
    return out if bias is None else out + bias.reshape(1, out_channels, 1, 1)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """Forward: out[n,o,t] = b[o] + Σ_{c,k} W[o,c,k] · x[n, c, t·s - p + k·d]
              x (N, C, L), W (OC, C/groups, K), b (OC,) -> out (N, OC, L_out)
    Local:    conv2d on images of height 1 (the same im2col and GEMM)
    Backward: conv2d's, through the unsqueeze/squeeze reshapes

    padding: int, "valid" or "same" (stride 1). A 2-D input (C, L) is one sequence.
    """
    if isinstance(input, Tensor) and input.ndim == 2:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups)[0]
    _check_conv_input(input, weight, groups, 1, "conv1d")
    (stride,), (dilation,) = _tuple(stride, 1, "stride", 1), _tuple(dilation, 1, "dilation", 1)
    ((before, after),) = _padding_pairs(padding, weight.shape[2:], (stride,), (dilation,))
    out = _conv2d(
        input.unsqueeze(2),
        weight.unsqueeze(2),
        bias,
        (1, stride),
        ((0, 0), (before, after)),
        (1, dilation),
        groups,
    )
    return out.squeeze(2)


# ---------------------------------------------------------------- pooling


def _image(x: Tensor, name: str) -> Tensor:
    _check_tensor(x, "input")
    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: input must be (N, C, H, W) or (C, H, W), got shape {x.shape}")
    return x


def max_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """Forward: out[n,c,oh,ow] = max of x[n,c] over window (oh, ow)   (C kernel)
    Local:    ∂out/∂x = 1 at the window's argmax (the first maximum), 0 elsewhere
    Backward: grad_x[n, c, argmax] += grad[n, c, oh, ow]   (a scatter by the indices)

    stride defaults to kernel_size; padding (at most half the kernel) never wins.
    return_indices: also the argmax positions (flat h·W + w in each plane, int64 Tensor).
    """
    x = _image(input, "max_pool2d")
    if x.ndim == 3:
        pooled = max_pool2d(x.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode,
                            return_indices)  # fmt: skip
        return (pooled[0][0], pooled[1][0]) if return_indices else pooled[0]
    pool = {"kernel_size": kernel_size, "stride": _default_stride(stride), "padding": padding,
            "dilation": dilation, "ceil_mode": bool(ceil_mode)}  # fmt: skip
    out = apply(ops_conv.MaxPool2d, x, pool=pool)
    if return_indices:
        # (recomputed: the op keeps its indices only when a graph is recorded)
        return out, Tensor(kernels.max_pool2d(np.ascontiguousarray(x.data), **pool)[1])
    return out


def _default_stride(stride):
    """PyTorch's stride=None (or []) means stride = kernel_size."""
    return None if stride is None or (isinstance(stride, (tuple, list)) and not stride) else stride


def avg_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Forward: out[n,c,oh,ow] = Σ of x[n,c] over window (oh, ow) / divisor   (C kernel)
    Local:    ∂out/∂x = 1/divisor on the window's elements
    Backward: grad_x[n,c,h,w] = Σ over the windows holding (h, w) of grad / divisor

    divisor: divisor_override, else the window's size counting the zero padding
    (count_include_pad=True) or not.
    """
    x = _image(input, "avg_pool2d")
    if x.ndim == 3:
        return avg_pool2d(x.unsqueeze(0), kernel_size, stride, padding, ceil_mode,
                          count_include_pad, divisor_override)[0]  # fmt: skip
    pool = {"kernel_size": kernel_size, "stride": _default_stride(stride), "padding": padding,
            "ceil_mode": bool(ceil_mode), "count_include_pad": bool(count_include_pad),
            "divisor_override": divisor_override}  # fmt: skip
    return apply(ops_conv.AvgPool2d, x, pool=pool)


def _adaptive_matrix(size: int, out_size: int, dtype) -> np.ndarray:
    """P (out_size, size): row i averages x[⌊i·size/out⌋ : ⌈(i+1)·size/out⌉], as PyTorch."""
    matrix = np.zeros((out_size, size), dtype)
    for i in range(out_size):
        start, end = (i * size) // out_size, -((-(i + 1) * size) // out_size)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Forward: out[n,c] = P_H @ x[n,c] @ P_Wᵀ, P's rows averaging PyTorch's adaptive windows
              x (N, C, H, W) -> out (N, C, OH, OW)
    Local:    linear in x: ∂out/∂x = P_H ⊗ P_W
    Backward: grad_x = P_Hᵀ @ grad @ P_W   (from the graph of the two matmuls)

    output_size: int or (OH, OW); None in either place keeps the input's size.
    """
    x = _image(input, "adaptive_avg_pool2d")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    sizes = tuple(x.shape[-2 + i] if s is None else s for i, s in enumerate(sizes))
    out_h, out_w = _tuple(sizes, 2, "output_size", 1)
    rows = Tensor(_adaptive_matrix(x.shape[-2], out_h, x.dtype))
    cols = Tensor(_adaptive_matrix(x.shape[-1], out_w, x.dtype).T.copy())
    return rows @ (x @ cols)


# ---------------------------------------------------------------- modules


class _ConvNd(Module):
    """What Conv1d and Conv2d share: arguments, parameters, PyTorch's init and repr."""

    spatial = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype=None,
    ):
        super().__init__()
        n = self.spatial
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if in_channels % groups:
            raise ValueError(f"in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(
                f"out_channels ({out_channels}) must be divisible by groups ({groups})"
            )
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(kernel_size, n, "kernel_size", 1)
        self.stride = _tuple(stride, n, "stride", 1)
        self.dilation = _tuple(dilation, n, "dilation", 1)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n, "padding", 0)
        self.padding_pairs = _padding_pairs(padding, self.kernel_size, self.stride, self.dilation)
        self.padding_mode = padding_mode
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype or DEFAULT_DTYPE))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dtype or DEFAULT_DTYPE))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's: weight ~ kaiming_uniform_(a=√5) = U(-1/√fan_in, 1/√fan_in), bias likewise,
        fan_in = in_channels/groups · kernel area."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.numel() // self.weight.shape[0]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _padded(self, x: Tensor) -> tuple:
        """(input, padding pairs for the convolution): non-zero modes pad x explicitly."""
        if self.padding_mode == "zeros":
            return x, self.padding_pairs
        return _pad_with_indices(x, self.padding_pairs, self.padding_mode), ((0, 0),) * self.spatial

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self.spatial:
            text += f", padding={self.padding}"  # as PyTorch: padding=same, no quotes
        if self.dilation != (1,) * self.spatial:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv2d(_ConvNd):
    """2-D convolution over x (N, C, H, W) -> (N, out_channels, OH, OW) (see F.conv2d).

    weight (out_channels, in_channels/groups, KH, KW), bias (out_channels,): PyTorch's shapes,
    keys and default init. padding: int, (ph, pw), "valid" or "same"; padding_mode:
    "zeros", "reflect", "replicate" or "circular".
    """

    spatial = 2

    def forward(self, x: Tensor) -> Tensor:
        if isinstance(x, Tensor) and x.ndim == 3:
            return self.forward(x.unsqueeze(0))[0]
        _check_conv_input(x, self.weight, self.groups, 2, "Conv2d")
        x, pairs = self._padded(x)
        return _conv2d(x, self.weight, self.bias, self.stride, pairs, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over x (N, C, L) -> (N, out_channels, L_out) (see F.conv1d).

    weight (out_channels, in_channels/groups, K), bias (out_channels,), as PyTorch.
    """

    spatial = 1

    def forward(self, x: Tensor) -> Tensor:
        if isinstance(x, Tensor) and x.ndim == 2:
            return self.forward(x.unsqueeze(0))[0]
        _check_conv_input(x, self.weight, self.groups, 1, "Conv1d")
        x, ((before, after),) = self._padded(x)
        out = _conv2d(
            x.unsqueeze(2),
            self.weight.unsqueeze(2),
            self.bias,
            (1,) + self.stride,
            ((0, 0), (before, after)),
            (1,) + self.dilation,
            self.groups,
        )
        return out.squeeze(2)


class MaxPool2d(Module):
    """Max over windows of each channel (see F.max_pool2d); no parameters."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):  # fmt: skip
        super().__init__()
        self.kernel_size, self.stride = kernel_size, _default_stride(stride) or kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x: Tensor):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)  # fmt: skip

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """Mean over windows of each channel (see F.avg_pool2d); no parameters."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):  # fmt: skip
        super().__init__()
        self.kernel_size, self.stride = kernel_size, _default_stride(stride) or kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)  # fmt: skip

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (see F.adaptive_avg_pool2d); no parameters."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
