"""Pooling: the max/avg pooling kernels against loops over the definition (PyTorch's rules
for padding, ceil_mode and count_include_pad), float64 gradchecks of every pooling op and
of their backward ops, PyTorch parity, BatchNorm2d, and bad arguments and hostile input.
"""

import itertools
import math

import numpy as np
import pytest
from conftest import check_gradients

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import kernels, nn, ops_conv
from tinygrad_edu.tensor import apply

# ---------------------------------------------------------------- naive references


def out_size(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling_output_shape, written out."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (math.ceil if ceil_mode else math.floor)(span / stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def naive_max_pool(x, kernel, stride, padding, dilation, ceil_mode):
    """(out, indices): the first maximum of each window, padding excluded."""
    n_, c_, h_, w_ = x.shape
    out_h = out_size(h_, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    out_w = out_size(w_, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    out = np.full((n_, c_, out_h, out_w), -np.inf, x.dtype)
    indices = np.full((n_, c_, out_h, out_w), -1, np.int64)
    for n, c, oh, ow in itertools.product(range(n_), range(c_), range(out_h), range(out_w)):
        for i, j in itertools.product(range(kernel[0]), range(kernel[1])):
            h = oh * stride[0] - padding[0] + i * dilation[0]
            w = ow * stride[1] - padding[1] + j * dilation[1]
            if 0 <= h < h_ and 0 <= w < w_ and x[n, c, h, w] > out[n, c, oh, ow]:
                out[n, c, oh, ow], indices[n, c, oh, ow] = x[n, c, h, w], h * w_ + w
    return out, indices


def naive_avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad):
    n_, c_, h_, w_ = x.shape
    out_h = out_size(h_, kernel[0], stride[0], padding[0], 1, ceil_mode)
    out_w = out_size(w_, kernel[1], stride[1], padding[1], 1, ceil_mode)
    out = np.zeros((n_, c_, out_h, out_w), x.dtype)
    for oh, ow in itertools.product(range(out_h), range(out_w)):
        h0, w0 = oh * stride[0] - padding[0], ow * stride[1] - padding[1]
        # the padded window ends at the far padding edge at the latest (PyTorch)
        h1, w1 = min(h0 + kernel[0], h_ + padding[0]), min(w0 + kernel[1], w_ + padding[1])
        padded_count = (h1 - h0) * (w1 - w0)
        h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h_), min(w1, w_)
        divisor = padded_count if count_include_pad else (h1 - h0) * (w1 - w0)
        out[:, :, oh, ow] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / divisor
    return out


POOLS = [  # x shape, kernel, stride, padding, dilation, ceil_mode
    ((1, 1, 4, 4), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 3, 7, 9), (3, 3), (2, 2), (1, 1), (1, 1), False),
    ((2, 3, 7, 9), (3, 3), (2, 2), (1, 1), (1, 1), True),
    ((2, 2, 8, 5), (3, 2), (1, 2), (1, 0), (1, 1), True),
    ((1, 2, 9, 9), (2, 2), (3, 3), (0, 0), (1, 1), True),
    ((2, 2, 10, 11), (3, 2), (2, 3), (1, 1), (2, 3), False),
    ((1, 3, 5, 5), (5, 5), (1, 1), (2, 2), (1, 1), False),
    ((3, 1, 6, 7), (4, 4), (3, 3), (2, 1), (1, 1), True),
]
WIDE_POOLS = [  # rows wider than the max-pool kernel's chunk of 64 outputs
    ((1, 2, 3, 150), (2, 3), (1, 1), (1, 1), (1, 1), True),
    ((1, 1, 4, 300), (2, 3), (2, 2), (0, 1), (1, 2), False),
]
AVG_POOLS = [p for p in POOLS if p[4] == (1, 1)]


# ---------------------------------------------------------------- kernels


@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,ceil_mode", POOLS + WIDE_POOLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_kernels_match_the_definition(shape, kernel, stride, padding, dilation,
                                               ceil_mode, dtype, rng):  # fmt: skip
    x = rng.standard_normal(shape).astype(dtype)
    out, indices = kernels.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    expected, expected_indices = naive_max_pool(x, kernel, stride, padding, dilation, ceil_mode)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(indices, expected_indices)
    grad = rng.standard_normal(out.shape).astype(dtype)
    expected_grad = np.zeros(shape, dtype)
    for n, c in itertools.product(range(shape[0]), range(shape[1])):
        np.add.at(expected_grad[n, c].reshape(-1), expected_indices[n, c].ravel(),
                  grad[n, c].ravel())  # fmt: skip
    np.testing.assert_allclose(kernels.max_pool2d_backward(grad, indices, shape), expected_grad,
                               rtol=1e-6)  # fmt: skip


@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,ceil_mode", AVG_POOLS)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_avg_pool_kernels_match_the_definition(shape, kernel, stride, padding, dilation,
                                               ceil_mode, count_include_pad, dtype, rng):  # fmt: skip
    x = rng.standard_normal(shape).astype(dtype)
    out = kernels.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad)
    expected = naive_avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance)
    # the backward is the transpose: ⟨avg(x), g⟩ = ⟨x, avg_backward(g)⟩
    grad = rng.standard_normal(out.shape).astype(dtype)
    grad_x = kernels.avg_pool2d_backward(grad, shape, kernel, stride, padding, ceil_mode,
                                         count_include_pad)  # fmt: skip
    np.testing.assert_allclose((out * grad).sum(), (x * grad_x).sum(), rtol=tolerance * 10)
    size = x.size  # and against the explicit matrix, column by column
    matrix = np.stack([naive_avg_pool(np.eye(size)[k].reshape(shape), kernel, stride, padding,
                                      ceil_mode, count_include_pad).ravel()
                       for k in range(size)], axis=1)  # fmt: skip
    np.testing.assert_allclose(grad_x.ravel(), matrix.T @ grad.ravel(), rtol=tolerance,
                               atol=tolerance)  # fmt: skip


def test_divisor_override(rng):
    x = rng.standard_normal((1, 2, 6, 6))
    out = kernels.avg_pool2d(x, 3, 3, divisor_override=4)
    np.testing.assert_allclose(out * 4, kernels.avg_pool2d(x, 3, 3) * 9)


def test_ties_go_to_the_first_maximum_and_nan_wins():
    x = np.array([[[[1.0, 1.0], [0.0, 1.0]]]])
    out, indices = kernels.max_pool2d(x, 2)
    assert out.item() == 1.0 and indices.item() == 0
    x[0, 0, 1, 0] = np.nan
    out, indices = kernels.max_pool2d(x, 2)
    assert np.isnan(out.item()) and indices.item() == 2
    value = tg.Tensor(np.array([[[[2.0, 2.0], [2.0, 2.0]]]]), requires_grad=True)
    F.max_pool2d(value, 2).sum().backward()
    np.testing.assert_array_equal(value.grad.numpy(), [[[[1, 0], [0, 0]]]])  # as PyTorch


def test_a_window_of_padding_only_gives_minus_infinity_and_no_gradient():
    # kernel 2, dilation 3, padding 1 on a 2-wide plane: window 0 reads positions -1 and 2
    x = np.ones((1, 1, 1, 2))
    out, indices = kernels.max_pool2d(x, (1, 2), (1, 1), (0, 1), (1, 3))
    assert out[0, 0, 0, 0] == -np.inf and indices[0, 0, 0, 0] == -1
    grad = kernels.max_pool2d_backward(np.ones_like(out), indices, x.shape)
    np.testing.assert_array_equal(grad, [[[[0, 0]]]])


def test_pool_kernels_give_the_same_bits_on_one_and_two_threads(rng):
    x = rng.standard_normal((16, 32, 24, 24)).astype(np.float32)
    threads = tg.get_num_threads()
    results = []
    for n in (1, 2):
        tg.set_num_threads(n)
        out, indices = kernels.max_pool2d(x, 3, 2, 1)
        avg = kernels.avg_pool2d(x, 3, 2, 1)
        results.append((out, kernels.max_pool2d_backward(out, indices, x.shape),
                        kernels.avg_pool2d_backward(avg, x.shape, 3, 2, 1)))  # fmt: skip
    tg.set_num_threads(threads)
    for first, second in zip(*results):
        np.testing.assert_array_equal(first, second)


# ---------------------------------------------------------------- hostile kernel input


def test_pool_kernels_refuse_bad_dtypes_layouts_and_shapes():
    x = np.ones((1, 2, 6, 6))
    for bad in (x.astype(np.int32), x.astype(np.float16), x.astype(">f8")):
        with pytest.raises(TypeError, match=r"\bx\b"):
            kernels.max_pool2d(bad, 2)
        with pytest.raises(TypeError, match=r"\bx\b"):
            kernels.avg_pool2d(bad, 2)
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.max_pool2d(x[:, :, :, ::2], 2)
    with pytest.raises(ValueError, match="4-D"):
        kernels.avg_pool2d(np.ones((6, 6)), 2)
    out, indices = kernels.max_pool2d(x, 2)
    with pytest.raises(TypeError, match="indices"):
        kernels.max_pool2d_backward(out, indices.astype(np.int32), x.shape)
    with pytest.raises(ValueError, match="indices must have"):
        kernels.max_pool2d_backward(out, indices[:, :1], x.shape)
    with pytest.raises(ValueError, match="input_shape"):
        kernels.max_pool2d_backward(out, indices, (1, 3, 6, 6))
    with pytest.raises(ValueError, match="grad_out must have shape"):
        kernels.avg_pool2d_backward(np.ones((1, 2, 2, 3)), x.shape, 2)


@pytest.mark.parametrize("bad_index", [36, -2, 2**62, -(2**62)])
def test_max_pool_backward_refuses_out_of_range_indices(bad_index):
    x = np.ones((1, 2, 6, 6))
    out, indices = kernels.max_pool2d(x, 2)
    indices[0, 1, 2, 1] = bad_index
    with pytest.raises(ValueError, match=r"indices\[0, 1, 2, 1\]"):
        kernels.max_pool2d_backward(out, indices, x.shape)


@pytest.mark.parametrize(
    "arguments,name",
    [
        ({"kernel_size": 0}, "kernel_size"),
        ({"kernel_size": 2**40}, "kernel_size"),
        ({"kernel_size": 7}, "larger than the padded input"),
        ({"kernel_size": 2, "stride": 0}, "stride"),
        ({"kernel_size": 2, "padding": -1}, "padding"),
        ({"kernel_size": 2, "padding": 2}, "padding"),  # more than half the kernel
    ],
)
def test_pool_kernels_refuse_bad_window_arguments(arguments, name):
    with pytest.raises(ValueError, match=name):
        kernels.max_pool2d(np.ones((1, 1, 6, 6)), **arguments)
    with pytest.raises(ValueError, match=name):
        kernels.avg_pool2d(np.ones((1, 1, 6, 6)), **arguments)


def test_bad_divisor_override():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="divisor_override"):
            kernels.avg_pool2d(np.ones((1, 1, 4, 4)), 2, divisor_override=bad)


# ---------------------------------------------------------------- autograd


@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,ceil_mode", POOLS)
def test_max_pool_gradcheck(shape, kernel, stride, padding, dilation, ceil_mode, rng):
    x = rng.standard_normal(shape)  # continuous data: no ties, so the max is differentiable
    assert check_gradients(
        lambda t: F.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode), [x], rng
    )


@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,ceil_mode", AVG_POOLS)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_gradcheck(shape, kernel, stride, padding, dilation, ceil_mode,
                            count_include_pad, rng):  # fmt: skip
    x = rng.standard_normal(shape)
    assert check_gradients(
        lambda t: F.avg_pool2d(t, kernel, stride, padding, ceil_mode, count_include_pad), [x], rng
    )


@pytest.mark.parametrize("output_size", [(3, 3), (4, 5), 1, (None, 2), (7, 9)])
def test_adaptive_avg_pool_gradcheck(output_size, rng):
    x = rng.standard_normal((2, 2, 7, 9))
    assert check_gradients(lambda t: F.adaptive_avg_pool2d(t, output_size), [x], rng)


def test_backward_ops_gradcheck_gather_and_pool_again(rng):
    """Each pooling's backward is an op whose own gradient is a gather / the pooling itself."""
    x = rng.standard_normal((2, 2, 5, 6))
    pool = {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 1, "ceil_mode": True}
    _, indices = kernels.max_pool2d(x, **pool)
    grad_out = rng.standard_normal(indices.shape)
    assert check_gradients(
        lambda g: apply(ops_conv.MaxPool2dScatter, g, indices=indices, x_shape=x.shape),
        [grad_out], rng,
    )  # fmt: skip
    avg = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
           "count_include_pad": False, "divisor_override": None}  # fmt: skip
    assert check_gradients(
        lambda g: apply(ops_conv.AvgPool2dSpread, g, x_shape=x.shape, pool=avg),
        [rng.standard_normal(kernels.avg_pool2d(x, **avg).shape)], rng,
    )  # fmt: skip


def test_return_indices_and_unbatched_input(rng):
    x = rng.standard_normal((3, 6, 6))
    out, indices = F.max_pool2d(tg.Tensor(x), 2, return_indices=True)
    expected, expected_indices = kernels.max_pool2d(x[None], 2)
    np.testing.assert_array_equal(out.numpy(), expected[0])
    np.testing.assert_array_equal(indices.numpy(), expected_indices[0])
    assert indices.dtype == tg.int64
    assert F.avg_pool2d(tg.Tensor(x), 3).shape == (3, 2, 2)
    assert nn.MaxPool2d(2, return_indices=True)(tg.Tensor(x[None]))[1].shape == (1, 3, 3, 3)


def test_pooling_modules_have_no_parameters_and_pytorch_defaults():
    pool = nn.MaxPool2d(3)
    assert pool.stride == 3 and list(pool.state_dict()) == []
    assert nn.AvgPool2d((2, 3)).stride == (2, 3)
    assert list(nn.AdaptiveAvgPool2d(1).parameters()) == []


def test_pooling_errors_name_the_argument():
    x = tg.Tensor(np.ones((1, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match="padding"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="larger than the padded input"):
        nn.AvgPool2d(5)(x)
    with pytest.raises(ValueError, match="input"):
        F.max_pool2d(tg.Tensor(np.ones((4, 4))), 2)
    with pytest.raises(ValueError, match="output_size"):
        F.adaptive_avg_pool2d(x, 0)
    with pytest.raises(TypeError, match="input"):
        F.avg_pool2d(np.ones((1, 1, 4, 4)), 2)


# ---------------------------------------------------------------- BatchNorm2d


def test_batch_norm_2d_normalises_each_channel_over_batch_and_space(rng):
    layer = nn.BatchNorm2d(3, dtype=np.float64)
    assert list(layer.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                        "num_batches_tracked"]  # fmt: skip
    x = rng.standard_normal((4, 3, 5, 5)) * 3 + 2
    out = layer(tg.Tensor(x)).numpy()
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-4)
    assert check_gradients(lambda t: layer(t), [x[:2, :, :3, :3]], rng)
    with pytest.raises(ValueError, match="4D"):
        layer(tg.Tensor(np.ones((4, 3))))
    with pytest.raises(ValueError, match="channels"):
        layer(tg.Tensor(np.ones((4, 2, 3, 3))))
    with pytest.raises(ValueError, match="more than 1 value"):
        layer(tg.Tensor(np.ones((1, 3, 1, 1))))


# ---------------------------------------------------------------- PyTorch


@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,ceil_mode", POOLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pools_match_pytorch(shape, kernel, stride, padding, dilation, ceil_mode, dtype, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape).astype(dtype)
    upstream = None
    cases = [(lambda t: F.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode),
              lambda t: torch.nn.functional.max_pool2d(t, kernel, stride, padding, dilation,
                                                       ceil_mode))]  # fmt: skip
    if dilation == (1, 1):
        for include in (True, False):
            cases.append((
                lambda t, i=include: F.avg_pool2d(t, kernel, stride, padding, ceil_mode, i),
                lambda t, i=include: torch.nn.functional.avg_pool2d(t, kernel, stride, padding,
                                                                    ceil_mode, i)))  # fmt: skip
    for ours_fn, theirs_fn in cases:
        ours, theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, expected = ours_fn(ours), theirs_fn(theirs)
        upstream = rng.standard_normal(out.shape).astype(dtype)
        (out * tg.Tensor(upstream)).sum().backward()
        (expected * torch.tensor(upstream)).sum().backward()
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("output_size", [(3, 3), (4, 5), 1, (None, 2), (7, 9), (10, 4)])
def test_adaptive_avg_pool_matches_pytorch(output_size, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 7, 9))
    ours, theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = nn.AdaptiveAvgPool2d(output_size)(ours)
    expected = torch.nn.AdaptiveAvgPool2d(output_size)(theirs)
    upstream = rng.standard_normal(out.shape)
    (out * tg.Tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_batch_norm_2d_matches_pytorch_in_train_and_eval(rng):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    for _ in range(3):
        x = (rng.standard_normal((4, 3, 5, 5)) * 2 + 1).astype(np.float32)
        np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4,
                                   atol=1e-5)  # fmt: skip
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-5)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4,
                               atol=1e-5)  # fmt: skip


@pytest.mark.parametrize("module, arguments", [
    ("BatchNorm2d", "16"),
    ("BatchNorm2d", "4, eps=1e-3, momentum=None, affine=False"),
    ("BatchNorm2d", "4, momentum=0.5, track_running_stats=False"),
    ("BatchNorm1d", "8"),
    ("BatchNorm1d", "8, eps=0.5, affine=False, track_running_stats=False"),
    ("MaxPool2d", "2"),
    ("MaxPool2d", "(3, 2), stride=1, padding=1, dilation=2, ceil_mode=True"),
    ("MaxPool2d", "3, return_indices=True"),
    ("AvgPool2d", "3, stride=2, padding=1, ceil_mode=True, count_include_pad=False"),
    ("AdaptiveAvgPool2d", "4"),
])  # fmt: skip
def test_normalization_and_pool_reprs_match_pytorch(module, arguments):
    """PyTorch's repr, field for field. Newer PyTorch also shows BatchNorm's `bias=` switch
    (a constructor argument tinygrad_edu does not have: the bias comes with affine), so that
    one field is left out of its string before comparing."""
    import re

    torch = pytest.importorskip("torch")
    ours, theirs = (eval(f"{lib}.{module}({arguments})", {"nn": nn, "torch": torch})
                    for lib in ("nn", "torch.nn"))  # fmt: skip
    assert repr(ours) == re.sub(r", bias=(True|False)", "", repr(theirs))


def test_pool_module_reprs_match_pytorch():
    torch = pytest.importorskip("torch")
    assert repr(nn.MaxPool2d(3, 2, 1)) == repr(torch.nn.MaxPool2d(3, 2, 1))
    assert repr(nn.AvgPool2d(2)) == repr(torch.nn.AvgPool2d(2))
    assert repr(nn.AdaptiveAvgPool2d((2, 3))) == repr(torch.nn.AdaptiveAvgPool2d((2, 3)))


def test_the_max_pooling_example_of_docs_convolution_md():
    x = np.array([[[[1.0, 3, 2, 0], [4, 2, 1, 5], [0, 1, 7, 6], [2, 8, 3, 3]]]])
    out, indices = kernels.max_pool2d(x, 2)
    np.testing.assert_array_equal(out, [[[[4, 5], [8, 7]]]])
    np.testing.assert_array_equal(indices, [[[[4, 7], [13, 10]]]])
    grad_x = kernels.max_pool2d_backward(np.array([[[[10.0, 20], [30, 40]]]]), indices, x.shape)
    np.testing.assert_array_equal(
        grad_x, [[[[0, 0, 0, 0], [10, 0, 0, 20], [0, 0, 40, 0], [0, 30, 0, 0]]]]
    )


# ---------------------------------------------------------------- gradients of gradients


def test_pool_backward_functions_record_ops_on_tensors(rng):
    """The backward of each pooling op is a function that records an op on Tensors: the
    scatter (gradient: a gather), the gather (gradient: a scatter), the spread (gradient:
    the pooling again)."""
    x = rng.standard_normal((2, 2, 5, 6))
    _, indices = kernels.max_pool2d(x, 3, 2, 1, 1, True)
    grad_out = rng.standard_normal(indices.shape)
    scattered = ops_conv.max_pool2d_scatter(tg.Tensor(grad_out, requires_grad=True), indices,
                                            x.shape)  # fmt: skip
    assert scattered.grad_fn.name == "MaxPool2dScatterBackward"
    np.testing.assert_array_equal(scattered.numpy(),
                                  kernels.max_pool2d_backward(grad_out, indices, x.shape))  # fmt: skip
    assert check_gradients(lambda t: ops_conv.gather_by_indices(t, indices), [x], rng)
    pool = {"kernel_size": 2, "stride": 1, "padding": 1, "ceil_mode": False,
            "count_include_pad": True, "divisor_override": None}  # fmt: skip
    grad_avg = rng.standard_normal(kernels.avg_pool2d(x, **pool).shape)
    assert check_gradients(lambda g: ops_conv.avg_pool2d_spread(g, x.shape, pool), [grad_avg],
                           rng)  # fmt: skip
    assert check_gradients(lambda t: ops_conv.avg_pool2d(t, pool), [x], rng)


def test_pools_gradgradcheck(rng):
    x = tg.Tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    assert tg.gradgradcheck(lambda t: F.max_pool2d(t, 3, 2, 1) ** 2, [x])
    assert tg.gradgradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False) ** 2,
                            [x])  # fmt: skip
    assert tg.gradgradcheck(lambda t: F.avg_pool2d(t, 2, 1, 1, ceil_mode=True) ** 2, [x])
    assert tg.gradgradcheck(lambda t: F.adaptive_avg_pool2d(t, (2, 3)) ** 2, [x])
    assert tg.gradgradcheck(lambda t: F.max_pool2d(t, 2, 1, dilation=2, ceil_mode=True) ** 2, [x])


@pytest.mark.parametrize("pool", ["max", "avg", "adaptive"])
def test_pool_second_derivatives_match_torch(pool, rng):
    """d/dx of <grad of Σ pool(x)³, v> through the create_graph path, against PyTorch's."""
    torch = pytest.importorskip("torch")
    x, direction = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((2, 3, 6, 5))
    calls = {"max": lambda f, t: f.max_pool2d(t, 3, 2, 1),
             "avg": lambda f, t: f.avg_pool2d(t, 3, 2, 1, count_include_pad=False),
             "adaptive": lambda f, t: f.adaptive_avg_pool2d(t, (4, 3))}  # fmt: skip

    def second(lib, functional, tensor):
        t = tensor(x)
        (grad,) = lib.autograd.grad((calls[pool](functional, t) ** 3).sum(), [t],
                                    create_graph=True)  # fmt: skip
        (hessian_v,) = lib.autograd.grad((grad * tensor(direction)).sum(), [t])
        return hessian_v.detach().numpy()

    ours = second(tg, F, lambda a: tg.Tensor(a, requires_grad=True))
    theirs = second(torch, torch.nn.functional, lambda a: torch.tensor(a, requires_grad=True))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
