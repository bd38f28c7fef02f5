"""Convolution: the im2col/col2im kernels against loops over a naive definition, F.conv1d/
conv2d and nn.Conv1d/Conv2d against a direct NumPy convolution, float64 gradchecks, PyTorch
(values, gradients, state_dict, repr) when installed, and bad arguments and hostile kernel input.
"""

import itertools

import numpy as np
import pytest
from conftest import check_gradients

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import kernels, nn, ops_conv
from tinygrad_edu.tensor import apply

# ---------------------------------------------------------------- naive references


def naive_im2col(x, kernel, stride, pads, dilation):
    """cols[(c,i,j), (n,oh,ow)] by the definition, one element at a time."""
    (kh, kw), (sh, sw), ((top, bottom), (left, right)), (dh, dw) = kernel, stride, pads, dilation
    n_, c_, h_, w_ = x.shape
    out_h = (h_ + top + bottom - dh * (kh - 1) - 1) // sh + 1
    out_w = (w_ + left + right - dw * (kw - 1) - 1) // sw + 1
    cols = np.zeros((c_ * kh * kw, n_ * out_h * out_w), x.dtype)
    for c, i, j, n, oh, ow in itertools.product(
        range(c_), range(kh), range(kw), range(n_), range(out_h), range(out_w)
    ):
        h, w = oh * sh - top + i * dh, ow * sw - left + j * dw
        if 0 <= h < h_ and 0 <= w < w_:
            cols[(c * kh + i) * kw + j, (n * out_h + oh) * out_w + ow] = x[n, c, h, w]
    return cols


def naive_conv2d(x, weight, bias, stride, pads, dilation, groups):
    """out[n,o,oh,ow] = b[o] + Σ W[o,c,i,j] x_padded[n, g·Cg + c, oh·sh + i·dh, ow·sw + j·dw]."""
    (sh, sw), ((top, bottom), (left, right)), (dh, dw) = stride, pads, dilation
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    n_, c_, h_, w_ = padded.shape
    oc, cg, kh, kw = weight.shape
    out_h = (h_ - dh * (kh - 1) - 1) // sh + 1
    out_w = (w_ - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n_, oc, out_h, out_w))
    for o, oh, ow in itertools.product(range(oc), range(out_h), range(out_w)):
        g = o // (oc // groups)
        patch = padded[:, g * cg : (g + 1) * cg, oh * sh : oh * sh + dh * (kh - 1) + 1 : dh,
                       ow * sw : ow * sw + dw * (kw - 1) + 1 : dw]  # fmt: skip
        out[:, o, oh, ow] = (patch * weight[o]).sum(axis=(1, 2, 3))
    return out + (0 if bias is None else bias.reshape(1, -1, 1, 1))


WINDOWS = [  # (x shape, kernel, stride, ((top, bottom), (left, right)), dilation)
    ((1, 1, 5, 5), (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1)),
    ((2, 3, 7, 9), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),
    ((2, 2, 6, 5), (2, 3), (1, 2), ((1, 1), (0, 0)), (2, 1)),
    ((3, 2, 9, 4), (5, 1), (3, 1), ((2, 2), (0, 0)), (1, 1)),
    ((1, 4, 8, 8), (3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2)),
    ((2, 1, 4, 7), (2, 2), (1, 1), ((0, 1), (1, 0)), (1, 1)),  # asymmetric ("same", even kernel)
    ((2, 3, 5, 5), (1, 1), (2, 2), ((0, 0), (0, 0)), (1, 1)),
    ((1, 2, 3, 3), (3, 3), (1, 1), ((4, 4), (4, 4)), (1, 1)),  # padding larger than the kernel
    ((2, 2, 11, 13), (4, 3), (3, 4), ((1, 2), (2, 1)), (2, 3)),
]


def window_kwargs(kernel, stride, pads, dilation):
    return {"kernel_size": kernel, "stride": stride, "padding": pads, "dilation": dilation}


# ---------------------------------------------------------------- kernels


@pytest.mark.parametrize("shape,kernel,stride,pads,dilation", WINDOWS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_matches_the_definition(shape, kernel, stride, pads, dilation, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    cols = kernels.im2col(x, kernel, stride, pads, dilation)
    assert cols.dtype == dtype
    np.testing.assert_array_equal(cols, naive_im2col(x, kernel, stride, pads, dilation))


@pytest.mark.parametrize("shape,kernel,stride,pads,dilation", WINDOWS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_col2im_is_the_transpose_of_im2col(shape, kernel, stride, pads, dilation, dtype, rng):
    """⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for all x, c; checked against the explicit 0/1 matrix."""
    size = int(np.prod(shape))
    # im2col's matrix, one column per input element (im2col of each unit vector)
    matrix = np.stack(
        [naive_im2col(np.eye(size)[k].reshape(shape), kernel, stride, pads, dilation).ravel()
         for k in range(size)], axis=1)  # fmt: skip
    cols = rng.standard_normal(
        kernels.im2col(np.zeros(shape), kernel, stride, pads, dilation).shape
    ).astype(dtype)
    grad_x = kernels.col2im(cols, shape, kernel, stride, pads, dilation)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(grad_x.ravel(), matrix.T @ cols.ravel(), rtol=tolerance,
                               atol=tolerance)  # fmt: skip


def test_im2col_takes_int_and_pair_arguments(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    np.testing.assert_array_equal(
        kernels.im2col(x, 3, 2, 1, 1),
        kernels.im2col(x, (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),
    )
    np.testing.assert_array_equal(kernels.im2col(x, 3, padding=(1, 2)),
                                  kernels.im2col(x, 3, padding=((1, 1), (2, 2))))  # fmt: skip


def test_kernels_give_the_same_bits_on_one_and_two_threads(rng):
    x = rng.standard_normal((8, 16, 20, 20)).astype(np.float32)
    threads = tg.get_num_threads()
    results = []
    for n in (1, 2):
        tg.set_num_threads(n)
        cols = kernels.im2col(x, 3, 1, 1)
        results.append((cols, kernels.col2im(cols, x.shape, 3, 1, 1)))
    tg.set_num_threads(threads)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_zero_batch_and_zero_channels(rng):
    assert kernels.im2col(np.zeros((0, 3, 5, 5)), 3).shape == (27, 0)
    assert kernels.im2col(np.zeros((2, 0, 5, 5)), 3).shape == (0, 18)
    assert kernels.col2im(np.zeros((27, 0)), (0, 3, 5, 5), 3).shape == (0, 3, 5, 5)


def test_out_is_filled_in_place(rng):
    x = rng.standard_normal((2, 2, 5, 5))
    out = np.full((18, 18), np.nan)
    assert kernels.im2col(x, 3, out=out) is out
    np.testing.assert_array_equal(out, kernels.im2col(x, 3))
    grad = np.full(x.shape, np.nan)  # col2im overwrites, it does not add to old contents
    assert kernels.col2im(out, x.shape, 3, out=grad) is grad
    np.testing.assert_array_equal(grad, kernels.col2im(out, x.shape, 3))


# ---------------------------------------------------------------- hostile kernel input


@pytest.mark.parametrize("dtype", [np.int64, np.float16, np.complex64, bool, ">f8"], ids=str)
def test_kernel_bad_dtypes_raise_type_error(dtype):
    with pytest.raises(TypeError, match=r"\bx\b"):
        kernels.im2col(np.ones((1, 1, 4, 4)).astype(dtype), 3)
    with pytest.raises(TypeError, match=r"\bcols\b"):
        kernels.col2im(np.ones((9, 4)).astype(dtype), (1, 1, 4, 4), 3)


def test_kernel_bad_layouts_and_shapes_raise_value_error():
    x = np.ones((2, 2, 6, 6))
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.im2col(x[:, :, ::2], 3)
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.im2col(x.transpose(0, 1, 3, 2), 3)
    with pytest.raises(ValueError, match="4-D"):
        kernels.im2col(np.ones((6, 6)), 3)
    with pytest.raises(ValueError, match="cols must have shape"):
        kernels.col2im(np.ones((18, 33)), x.shape, 3)
    with pytest.raises(ValueError, match="input_shape"):
        kernels.col2im(np.ones((18, 32)), (2, 2, 6), 3)
    with pytest.raises(ValueError, match="out must have shape"):
        kernels.im2col(x, 3, out=np.empty((18, 31)))
    cols = kernels.im2col(x, 1)
    with pytest.raises(ValueError, match="overlaps"):
        kernels.col2im(cols, x.shape, 1, out=cols.reshape(x.shape))


@pytest.mark.parametrize(
    "arguments,name",
    [
        ({"kernel_size": 0}, "kernel_size"),
        ({"kernel_size": -3}, "kernel_size"),
        ({"kernel_size": 2**40}, "kernel_size"),
        ({"kernel_size": 3, "stride": 0}, "stride"),
        ({"kernel_size": 3, "padding": -1}, "padding"),
        ({"kernel_size": 3, "padding": 2**31}, "padding"),
        ({"kernel_size": 3, "dilation": 0}, "dilation"),
        ({"kernel_size": (3, 3, 3)}, "kernel_size"),
        ({"kernel_size": 7}, "kernel_size"),  # larger than the 6x6 input
        ({"kernel_size": 3, "padding": 2**30}, "too many"),  # an absurd output
    ],
)
def test_kernel_bad_window_arguments_raise_naming_them(arguments, name):
    with pytest.raises(ValueError, match=name):
        kernels.im2col(np.ones((1, 1, 6, 6)), **arguments)


def test_kernel_non_int_arguments_raise_type_error():
    for bad in (2.5, "3", None, True):
        with pytest.raises(TypeError, match="kernel_size"):
            kernels.im2col(np.ones((1, 1, 6, 6)), bad)


def test_fused_conv_kernel_matches_im2col_and_a_gemm(rng):
    """kernels.conv2d/conv2d_backward (image by image) against im2col -> matmul -> col2im on
    the whole batch, incl. strides, uneven padding, dilation, an empty batch and no channels."""
    cases = [((3, 2, 7, 6), (4, 2, 3, 2), (1, 2), ((1, 0), (2, 1)), (2, 1)),
             ((10, 3, 8, 8), (5, 3, 3, 3), 2, 1, 1), ((0, 2, 4, 4), (3, 2, 3, 3), 1, 0, 1),
             ((2, 0, 4, 4), (3, 0, 3, 3), 1, 1, 1)]  # fmt: skip
    for x_shape, w_shape, stride, padding, dilation in cases:
        x, weight = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        bias = rng.standard_normal(w_shape[0])
        window = dict(stride=stride, padding=padding, dilation=dilation)
        cols = kernels.im2col(x, w_shape[2:], **window)
        weight_2d = weight.reshape(w_shape[0], -1)
        out = kernels.conv2d(x, weight, bias, **window)
        expected = (weight_2d @ cols).reshape(w_shape[0], x_shape[0], *out.shape[2:])
        np.testing.assert_allclose(out, expected.transpose(1, 0, 2, 3) + bias[:, None, None],
                                   rtol=1e-12, atol=1e-12)  # fmt: skip
        grad = rng.standard_normal(out.shape)
        grad_2d = grad.transpose(1, 0, 2, 3).reshape(w_shape[0], -1)
        grad_x, grad_weight = kernels.conv2d_backward(x, weight, grad, **window)
        np.testing.assert_allclose(grad_weight, (grad_2d @ cols.T).reshape(w_shape), rtol=1e-12,
                                   atol=1e-12)  # fmt: skip
        np.testing.assert_allclose(grad_x, kernels.col2im(weight_2d.T @ grad_2d, x_shape,
                                                          w_shape[2:], **window), atol=1e-12)  # fmt: skip
        only_x = kernels.conv2d_backward(x, weight, grad, **window, weight_grad=False)
        only_weight = kernels.conv2d_backward(x, weight, grad, **window, input_grad=False)
        assert only_x[1] is None and only_weight[0] is None
        np.testing.assert_array_equal(only_x[0], grad_x)
        np.testing.assert_array_equal(only_weight[1], grad_weight)


def test_fused_conv_kernel_gives_the_same_bits_on_one_and_two_threads(rng):
    """grad_weight is summed over a fixed split of the batch, not one part per thread."""
    x = rng.standard_normal((13, 3, 9, 9)).astype(np.float32)
    weight = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    grad = rng.standard_normal((13, 8, 9, 9)).astype(np.float32)
    threads, results = tg.get_num_threads(), []
    for n in (1, 2):
        tg.set_num_threads(n)
        results.append((kernels.conv2d(x, weight, None, padding=1),
                        *kernels.conv2d_backward(x, weight, grad, padding=1)))  # fmt: skip
    tg.set_num_threads(threads)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_fused_conv_kernel_hostile_input_raises():
    x, weight, grad = np.ones((2, 3, 6, 6)), np.ones((4, 3, 3, 3)), np.ones((2, 4, 4, 4))
    with pytest.raises(TypeError, match="weight"):
        kernels.conv2d(x, weight.astype(np.float32))
    with pytest.raises(TypeError, match=r"\bx\b"):
        kernels.conv2d(x.astype(np.int64), weight)
    with pytest.raises(TypeError, match="bias"):
        kernels.conv2d(x, weight, np.ones(4, np.float32))
    with pytest.raises(TypeError, match="bias"):
        kernels.conv2d(x, weight, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="bias must have shape"):
        kernels.conv2d(x, weight, np.ones(3))
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.conv2d(x, weight, np.ones(8)[::2])
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.conv2d(x.transpose(0, 1, 3, 2), weight)
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.conv2d(x, weight.transpose(0, 1, 3, 2))
    with pytest.raises(ValueError, match="input channels"):
        kernels.conv2d(x, np.ones((4, 2, 3, 3)))
    with pytest.raises(ValueError, match="weight must be 4-D"):
        kernels.conv2d(x, np.ones((4, 3, 3)))
    with pytest.raises(ValueError, match="kernel_size"):
        kernels.conv2d(x, np.ones((4, 3, 0, 3)))
    with pytest.raises(ValueError, match="larger than the padded input"):
        kernels.conv2d(x, np.ones((4, 3, 7, 7)))
    for name, value in (("stride", 0), ("stride", -2), ("padding", -1), ("dilation", 0),
                        ("padding", 2**31), ("dilation", 2**40)):  # fmt: skip
        with pytest.raises(ValueError, match=name):
            kernels.conv2d(x, weight, **{name: value})
        with pytest.raises(ValueError, match=name):
            kernels.conv2d_backward(x, weight, grad, **{name: value})
    with pytest.raises(ValueError, match="too many"):
        kernels.conv2d(x, weight, padding=2**30)
    with pytest.raises(ValueError, match="grad_out must have the output's shape"):
        kernels.conv2d_backward(x, weight, np.ones((2, 4, 4, 5)))
    with pytest.raises(TypeError, match="grad_out"):
        kernels.conv2d_backward(x, weight, grad.astype(np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.conv2d_backward(x, weight, np.ones((2, 4, 4, 8))[..., ::2])
    assert kernels.conv2d(np.ones((0, 3, 6, 6)), weight).shape == (0, 4, 4, 4)
    # a huge stride: one output position, reading only the first window
    np.testing.assert_array_equal(kernels.conv2d(x, weight, stride=2**31 - 1), np.full((2, 4, 1, 1), 27.0))


# ---------------------------------------------------------------- F.conv2d / F.conv1d

CONV_CASES = [  # x shape, weight shape, stride, padding, dilation, groups
    ((2, 3, 7, 7), (4, 3, 3, 3), 1, 0, 1, 1),
    ((2, 4, 9, 8), (6, 2, 3, 2), (2, 1), (1, 2), 1, 2),
    ((1, 4, 6, 6), (4, 1, 3, 3), 1, 1, 1, 4),  # depthwise
    ((1, 4, 6, 6), (8, 1, 3, 3), 2, 1, 1, 4),  # depthwise, channel multiplier 2
    ((3, 2, 8, 9), (3, 2, 2, 3), 1, 2, (2, 1), 1),
    ((1, 6, 5, 5), (3, 2, 1, 1), 1, 0, 1, 3),
]


@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation,groups", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_a_direct_convolution(x_shape, w_shape, stride, padding, dilation,
                                             groups, bias, rng):  # fmt: skip
    x, weight = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0]) if bias else None
    out = F.conv2d(tg.Tensor(x), tg.Tensor(weight), None if b is None else tg.Tensor(b),
                   stride, padding, dilation, groups)  # fmt: skip
    pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    pads = tuple((p, p) for p in pair(padding))
    expected = naive_conv2d(x, weight, b, pair(stride), pads, pair(dilation), groups)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation,groups", CONV_CASES)
def test_conv2d_gradcheck(x_shape, w_shape, stride, padding, dilation, groups, rng):
    x_shape = (min(x_shape[0], 2),) + x_shape[1:]  # keep the numerical Jacobian small
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape),
              rng.standard_normal(w_shape[0])]  # fmt: skip
    assert check_gradients(
        lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), arrays, rng
    )


@pytest.mark.parametrize("padding", ["same", "valid", 0, 2])
@pytest.mark.parametrize("kernel,dilation,groups", [(3, 1, 1), (4, 1, 2), (3, 2, 1), (2, 3, 2)])
def test_conv1d_gradcheck_and_same_padding(padding, kernel, dilation, groups, rng):
    x, w, b = rng.standard_normal((2, 4, 9)), rng.standard_normal((4, 4 // groups, kernel)), \
        rng.standard_normal(4)  # fmt: skip
    out = F.conv1d(tg.Tensor(x), tg.Tensor(w), tg.Tensor(b), 1, padding, dilation, groups)
    if padding == "same":
        assert out.shape == (2, 4, 9)
    assert check_gradients(lambda x, w, b: F.conv1d(x, w, b, 1, padding, dilation, groups),
                           [x, w, b], rng)  # fmt: skip


def test_conv1d_is_conv2d_on_height_one(rng):
    x, w = rng.standard_normal((2, 3, 10)), rng.standard_normal((5, 3, 4))
    expected = naive_conv2d(x[:, :, None], w[:, :, None], None, (1, 3), ((0, 0), (2, 2)),
                            (1, 2), 1)[:, :, 0]  # fmt: skip
    out = F.conv1d(tg.Tensor(x), tg.Tensor(w), stride=3, padding=2, dilation=2)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_unbatched_inputs(rng):
    x, w = rng.standard_normal((3, 6, 6)), rng.standard_normal((2, 3, 3, 3))
    batched = F.conv2d(tg.Tensor(x[None]), tg.Tensor(w)).numpy()[0]
    np.testing.assert_allclose(F.conv2d(tg.Tensor(x), tg.Tensor(w)).numpy(), batched)
    layer = nn.Conv1d(3, 2, 3)
    assert layer(tg.Tensor(np.ones((3, 8), np.float32))).shape == (2, 6)


def test_im2col_and_col2im_ops_gradcheck(rng):
    window = {"kernel_size": (2, 3), "stride": (2, 1), "padding": ((1, 0), (1, 1)),
              "dilation": (1, 2)}  # fmt: skip
    x = rng.standard_normal((2, 2, 5, 6))
    assert check_gradients(lambda t: apply(ops_conv.Im2Col, t, window=window), [x], rng)
    cols = rng.standard_normal(kernels.im2col(x, **window).shape)
    assert check_gradients(
        lambda t: apply(ops_conv.Col2Im, t, x_shape=x.shape, window=window), [cols], rng
    )


def test_conv_backward_of_a_float32_layer_stays_float32(rng):
    layer = nn.Conv2d(2, 3, 3, padding=1)
    out = layer(tg.Tensor(rng.standard_normal((2, 2, 5, 5)).astype(np.float32)))
    (out * out).sum().backward()
    assert out.dtype == np.float32 and layer.weight.grad.dtype == np.float32


# ---------------------------------------------------------------- modules


def test_conv2d_module_shapes_keys_and_init():
    tg.manual_seed(0)
    layer = nn.Conv2d(4, 8, (3, 5), stride=2, padding=1, groups=2)
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert layer.weight.shape == (8, 2, 3, 5) and layer.bias.shape == (8,)
    bound = 1 / np.sqrt(2 * 3 * 5)  # kaiming_uniform_(a=√5): U(-1/√fan_in, 1/√fan_in)
    assert np.abs(layer.weight.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.9 * bound  # spread over the whole range
    assert np.abs(layer.bias.data).max() <= bound
    assert layer.weight.dtype == np.float32
    no_bias = nn.Conv1d(3, 6, 2, bias=False)
    assert list(no_bias.state_dict()) == ["weight"] and no_bias.bias is None
    assert nn.Conv2d(4, 8, 3, dtype=np.float64).weight.dtype == np.float64


def test_same_padding_keeps_the_size_for_odd_and_even_kernels(rng):
    x = tg.Tensor(rng.standard_normal((1, 2, 7, 8)).astype(np.float32))
    for kernel, dilation in [(3, 1), (4, 1), (2, 3), ((2, 5), (1, 2))]:
        assert nn.Conv2d(2, 3, kernel, padding="same", dilation=dilation)(x).shape == (1, 3, 7, 8)
    assert nn.Conv2d(2, 3, 3, padding="valid")(x).shape == (1, 3, 5, 6)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_gradcheck(mode, rng):
    layer = nn.Conv2d(2, 2, 3, padding=(1, 2), padding_mode=mode, dtype=np.float64)
    x = rng.standard_normal((1, 2, 4, 5))
    assert check_gradients(lambda t: layer(t), [x], rng)


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: nn.Conv2d(4, 6, 3, groups=4), "out_channels .*divisible by groups"),
        (lambda: nn.Conv2d(3, 6, 3, groups=2), "in_channels .*divisible by groups"),
        (lambda: nn.Conv2d(0, 6, 3), "in_channels"),
        (lambda: nn.Conv2d(3, 6, 0), "kernel_size"),
        (lambda: nn.Conv2d(3, 6, 3, padding=-1), "padding"),
        (lambda: nn.Conv2d(3, 6, 3, padding="full"), "padding"),
        (lambda: nn.Conv2d(3, 6, 3, stride=2, padding="same"), "strided"),
        (lambda: nn.Conv2d(3, 6, 3, stride=0), "stride"),
        (lambda: nn.Conv2d(3, 6, 3, dilation=(1, 0)), "dilation"),
        (lambda: nn.Conv2d(3, 6, 3, padding_mode="mirror"), "padding_mode"),
        (lambda: nn.Conv1d(3, 6, (3, 3)), "kernel_size"),
    ],
)
def test_bad_module_arguments_raise_value_error_naming_them(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_bad_inputs_raise_value_error_naming_them():
    x = tg.Tensor(np.ones((2, 3, 5, 5), np.float32))
    with pytest.raises(ValueError, match="channels"):
        nn.Conv2d(4, 2, 3)(x)
    with pytest.raises(ValueError, match="larger than the padded input"):
        nn.Conv2d(3, 2, 7)(x)
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.conv2d(x, tg.Tensor(np.ones((2, 3, 3, 3), np.float32)), dilation=3)
    with pytest.raises(ValueError, match="groups"):
        F.conv2d(x, tg.Tensor(np.ones((2, 1, 3, 3), np.float32)), groups=2)
    with pytest.raises(ValueError, match="padding"):
        F.conv2d(x, tg.Tensor(np.ones((2, 3, 3, 3), np.float32)), padding=-1)
    with pytest.raises(ValueError, match="bias"):
        F.conv2d(x, tg.Tensor(np.ones((2, 3, 3, 3), np.float32)), tg.Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="4-D"):
        nn.Conv2d(3, 2, 3)(tg.Tensor(np.ones((2, 3, 5, 5, 1), np.float32)))
    with pytest.raises(ValueError, match="padding"):
        nn.Conv2d(3, 2, 3, padding=5, padding_mode="reflect")(x)
    with pytest.raises(TypeError, match="weight"):
        F.conv2d(x, tg.Tensor(np.ones((2, 3, 3, 3))))  # float64 weight, float32 input
    with pytest.raises(TypeError, match="input"):
        F.conv2d(np.ones((2, 3, 5, 5)), tg.Tensor(np.ones((2, 3, 3, 3))))


# ---------------------------------------------------------------- PyTorch


TORCH_TOLERANCE = {np.float32: {"rtol": 1e-4, "atol": 1e-5},
                   np.float64: {"rtol": 1e-10, "atol": 1e-12}}  # fmt: skip


@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation,groups", CONV_CASES + [
    ((2, 3, 7, 6), (4, 3, 4, 2), 1, "same", (1, 2), 1),
    ((2, 3, 7, 6), (4, 3, 3, 3), 2, "valid", 1, 1),
])  # fmt: skip
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note about its own copy
def test_conv2d_matches_pytorch(x_shape, w_shape, stride, padding, dilation, groups, dtype, rng):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, w_shape[:1])]
    ours = [tg.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = F.conv2d(*ours, stride, padding, dilation, groups)
    expected = torch.nn.functional.conv2d(*theirs, stride, padding, dilation, groups)
    upstream = rng.standard_normal(out.shape).astype(dtype)
    (out * tg.Tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **TORCH_TOLERANCE[dtype])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TORCH_TOLERANCE[dtype])


@pytest.mark.parametrize("module, arguments", [
    ("Conv2d", "1, 6, 5"),
    ("Conv2d", "1, 6, (5, 3), stride=2, padding=(1, 2), dilation=(2, 1), bias=False"),
    ("Conv2d", "4, 8, 3, padding='same', groups=4, padding_mode='circular'"),
    ("Conv2d", "2, 4, 3, padding='valid'"),
    ("Conv1d", "3, 6, 3, stride=2, padding=1, dilation=2, groups=3, padding_mode='reflect'"),
    ("Conv1d", "3, 6, 3, padding='same'"),
])  # fmt: skip
def test_conv_module_reprs_match_pytorch(module, arguments):
    torch = pytest.importorskip("torch")
    ours, theirs = (eval(f"{lib}.{module}({arguments})", {"nn": nn, "torch": torch})
                    for lib in ("nn", "torch.nn"))  # fmt: skip
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("dims", [1, 2])
def test_modules_load_pytorch_state_and_agree(mode, dims, rng):
    torch = pytest.importorskip("torch")
    ours_class, theirs_class = (nn.Conv1d, torch.nn.Conv1d) if dims == 1 else \
        (nn.Conv2d, torch.nn.Conv2d)  # fmt: skip
    arguments = dict(in_channels=4, out_channels=6, kernel_size=3, stride=1, padding=2,
                     dilation=1, groups=2, padding_mode=mode)  # fmt: skip
    ours, theirs = ours_class(**arguments), theirs_class(**arguments)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 4) + (7,) * dims).astype(np.float32)
    x_ours, x_theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(x_ours), theirs(x_theirs)
    upstream = rng.standard_normal(out.shape).astype(np.float32)
    (out * tg.Tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-4,
                               atol=1e-4)  # fmt: skip


def test_default_init_matches_pytorch_statistics():
    """The same distribution as PyTorch's default: compare the range and spread."""
    torch = pytest.importorskip("torch")
    tg.manual_seed(0)
    ours = nn.Conv2d(16, 32, 5).weight.numpy()
    theirs = torch.nn.Conv2d(16, 32, 5).weight.detach().numpy()
    assert abs(ours.std() - theirs.std()) < 0.03 * theirs.std()
    assert abs(np.abs(ours).max() - np.abs(theirs).max()) < 0.01 * np.abs(theirs).max()


# ---------------------------------------------------------------- the CNN demo


def test_cnn_demo_learns_the_digits_and_reports_health(capsys):
    import argparse

    from tinygrad_edu.experiments.cnn_demo import demo, train_cnn

    result = train_cnn(epochs=6)
    assert result["test_accuracy"] >= 0.93 and result["train_accuracy"] >= 0.93
    assert "Conv2d" in result["summary"] and "ReLU" in result["summary"]
    assert demo(argparse.Namespace(epochs=1, plot=None, no_progress=True)) == 0
    printed = capsys.readouterr().out
    assert "test accuracy:" in printed and "HealthMonitor" in printed


def test_the_worked_example_of_docs_convolution_md():
    """The hand-computed numbers of docs/convolution.md, sections 2 and 3."""
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    cols = kernels.im2col(x, 2)
    np.testing.assert_array_equal(cols, [[1, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9]])
    x_t = tg.Tensor(x, requires_grad=True)
    w_t = tg.Tensor(np.array([[[[1.0, 0.0], [0.0, -1.0]]]]), requires_grad=True)
    out = F.conv2d(x_t, w_t)
    np.testing.assert_array_equal(out.numpy(), [[[[-4, -4], [-4, -4]]]])
    out.sum().backward()
    np.testing.assert_array_equal(w_t.grad.numpy(), [[[[12, 16], [24, 28]]]])
    np.testing.assert_array_equal(x_t.grad.numpy(), [[[[1, 1, 0], [1, 0, -1], [0, -1, -1]]]])


# ---------------------------------------------------------------- gradients of gradients


def test_backward_functions_record_ops_on_tensors(rng):
    """Im2Col.backward calls col2im and Col2Im.backward calls im2col: on arrays they run the
    kernel, on Tensors they record the op (what backward(create_graph=True) hands them)."""
    window = {"kernel_size": (3, 2), "stride": (1, 2), "padding": ((1, 1), (0, 1)),
              "dilation": (2, 1)}  # fmt: skip
    x = rng.standard_normal((2, 2, 6, 5))
    cols = rng.standard_normal(kernels.im2col(x, **window).shape)
    recorded = ops_conv.col2im(tg.Tensor(cols, requires_grad=True), x.shape, window)
    assert recorded.grad_fn.name == "Col2ImBackward"
    np.testing.assert_array_equal(recorded.numpy(), kernels.col2im(cols, x.shape, **window))
    assert check_gradients(lambda c: ops_conv.col2im(c, x.shape, window), [cols], rng)
    assert check_gradients(lambda t: ops_conv.im2col(t, window), [x], rng)


@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_gradgradcheck(groups, rng):
    """groups=1 runs the fused Conv2d op (whose create_graph backward records Im2Col, MatMul
    and Col2Im), groups=2 the composed ops."""
    x, w = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((2, 2 // groups, 2, 2))
    inputs = [tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)]
    assert tg.gradgradcheck(lambda a, b: F.conv2d(a, b, stride=1, padding=1, groups=groups),
                            inputs)  # fmt: skip


@pytest.mark.parametrize("stride, padding, dilation", [(2, 1, 1), ((1, 2), (0, 2), (2, 1))])
def test_conv2d_with_bias_gradgradcheck(stride, padding, dilation, rng):
    x, w, b = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(3)
    inputs = [tg.Tensor(a, requires_grad=True) for a in (x, w, b)]
    # squared, so that the second derivative is not zero everywhere (conv is bilinear)
    assert tg.gradgradcheck(lambda *t: F.conv2d(*t, stride=stride, padding=padding,
                                                 dilation=dilation) ** 2, inputs)  # fmt: skip


def test_conv1d_gradgradcheck(rng):
    x, w, b = rng.standard_normal((2, 2, 7)), rng.standard_normal((3, 2, 3)), rng.standard_normal(3)
    inputs = [tg.Tensor(a, requires_grad=True) for a in (x, w, b)]
    assert tg.gradgradcheck(lambda *t: F.conv1d(*t, stride=2, padding=1, dilation=1) ** 2, inputs)


@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_create_graph_gradients_equal_the_kernels(bias, rng):
    """The fused op's two backward paths (C kernel on arrays, recorded ops under create_graph)
    give the same first derivatives (gradgradcheck differentiates the second path only)."""
    arrays = [rng.standard_normal((3, 2, 6, 5)), rng.standard_normal((4, 2, 3, 2))]
    arrays += [rng.standard_normal(4)] if bias else []
    upstream = rng.standard_normal((3, 4, 3, 5))

    def grads(create_graph):
        inputs = [tg.Tensor(a, requires_grad=True) for a in arrays]
        out = F.conv2d(*inputs, stride=(2, 1), padding=1, dilation=(1, 2))
        found = tg.autograd.grad((out * tg.Tensor(upstream)).sum(), inputs,
                                 create_graph=create_graph)  # fmt: skip
        return [g.detach().numpy() for g in found]

    for fast, recorded in zip(grads(False), grads(True)):
        np.testing.assert_allclose(fast, recorded, rtol=1e-12, atol=1e-12)


def test_conv2d_second_derivatives_match_torch(rng):
    """d/d(x, W, b) of <grad of Σ conv², v>: the create_graph path against PyTorch's."""
    torch = pytest.importorskip("torch")
    x, w, b = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    directions = [rng.standard_normal(a.shape) for a in (x, w, b)]

    def second(lib, conv, tensor):
        inputs = [tensor(a) for a in (x, w, b)]
        loss = (conv(*inputs, stride=2, padding=1) ** 2).sum()
        grads = lib.autograd.grad(loss, inputs, create_graph=True)
        total = sum((g * tensor(v)).sum() for g, v in zip(grads, directions))
        return [g.detach().numpy() for g in lib.autograd.grad(total, inputs)]

    ours = second(tg, F.conv2d, lambda a: tg.Tensor(a, requires_grad=True))
    theirs = second(torch, torch.nn.functional.conv2d,
                    lambda a: torch.tensor(a, requires_grad=True))  # fmt: skip
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-10)


def test_the_benchmarks_numpy_baseline_computes_the_same_gradients(rng):
    """tinygrad_edu/bench/conv.py's hand-written NumPy im2col convolution is a fair baseline only if
    it is right: its output and gradients must equal F.conv2d's."""
    from tinygrad_edu.bench.conv import conv_problem, conv_variants, numpy_conv2d_forward_backward

    x, weight, bias, grad_out = (a.astype(np.float64) for a in conv_problem(3, 2, 9, 4, 3, 1))
    out, *grads = numpy_conv2d_forward_backward(x, weight, bias, grad_out, 1)
    np.testing.assert_allclose(out, naive_conv2d(x, weight, bias, (1, 1), ((1, 1), (1, 1)),
                                                 (1, 1), 1), rtol=1e-10)  # fmt: skip
    ours = conv_variants(x, weight, bias, grad_out, 1)["tinygrad_edu"]()
    for mine, theirs in zip(ours, grads):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)
