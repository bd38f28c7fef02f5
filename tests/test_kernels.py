"""tinygrad_edu.kernels against numpy: every kernel, both dtypes, edge shapes, error paths.

References are computed in float64 by numpy; float32 results are compared with a
tolerance that grows with the length of the sums involved.
"""

import numpy as np
import pytest

from tinygrad_edu import kernels

DTYPES = [np.float32, np.float64]


def random(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def assert_close(got, expected, dtype, terms=1):
    """Compare with a tolerance for a sum of `terms` products in `dtype`."""
    eps = np.finfo(dtype).eps
    scale = np.sqrt(max(terms, 1)) * 8 * eps
    np.testing.assert_allclose(got, expected, rtol=scale, atol=scale * max(terms, 1) ** 0.5)


# ---- matmul ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (3, 5, 7), (17, 1, 9), (64, 64, 64), (33, 130, 65)])
def test_matmul_matches_numpy(dtype, trans_a, trans_b, m, k, n):
    a = random((k, m) if trans_a else (m, k), dtype, 1)
    b = random((n, k) if trans_b else (k, n), dtype, 2)
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    got = kernels.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
    assert got.dtype == dtype and got.shape == (m, n)
    assert_close(got, op_a.astype(np.float64) @ op_b.astype(np.float64), dtype, k)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_reads_fortran_arrays_as_transposes(dtype):
    a = np.asfortranarray(random((6, 4), dtype, 1))
    b = np.asfortranarray(random((4, 5), dtype, 2))
    assert_close(kernels.matmul(a, b), a.astype(np.float64) @ b, dtype, 4)
    assert_close(kernels.matmul(a, a, trans_a=True), a.T.astype(np.float64) @ a, dtype, 6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
def test_matmul_reads_padded_rows_in_place(dtype, trans_a):
    """A column slice has a leading dimension larger than its width: no copy needed."""
    big_a, big_b = random((9, 11), dtype, 1), random((13, 7), dtype, 2)
    a = big_a[:5, 2:9] if not trans_a else big_a[:7, 1:6]  # op(a) is 5 x 7 either way
    b = big_b[1:8, :6]
    op_a = a.T if trans_a else a
    got = kernels.matmul(a, b, trans_a=trans_a)
    assert_close(got, op_a.astype(np.float64) @ b, dtype, 7)
    assert_close(
        kernels.matmul(b.T, a, trans_b=not trans_a), (op_a.astype(np.float64) @ b).T, dtype, 7
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_writes_into_out_with_alpha_beta(dtype):
    a, b = random((5, 3), dtype, 1), random((3, 4), dtype, 2)
    c0 = random((5, 4), dtype, 3)
    out = c0.copy()
    result = kernels.matmul(a, b, out, alpha=2.0, beta=0.5)
    assert result is out
    assert_close(out, 2.0 * (a.astype(np.float64) @ b) + 0.5 * c0, dtype, 3)


def test_matmul_beta_zero_ignores_nan_in_out():
    a, b = random((4, 3), np.float64), random((3, 2), np.float64)
    out = np.full((4, 2), np.nan)
    kernels.matmul(a, b, out)
    assert_close(out, a @ b, np.float64, 3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_zero_sizes(dtype):
    assert kernels.matmul(np.ones((0, 3), dtype), np.ones((3, 4), dtype)).shape == (0, 4)
    out = np.full((2, 3), 7.0, dtype)
    kernels.matmul(np.ones((2, 0), dtype), np.ones((0, 3), dtype), out)
    np.testing.assert_array_equal(out, np.zeros((2, 3)))


def test_matmul_propagates_nan_and_inf():
    a = np.array([[np.nan, 1.0], [np.inf, 1.0]], np.float32)
    got = kernels.matmul(a, np.ones((2, 2), np.float32))
    assert np.isnan(got[0]).all() and np.isposinf(got[1]).all()


@pytest.mark.parametrize(
    "a,b,error,words",
    [
        (np.ones((2, 3), np.int32), np.ones((3, 2), np.int32), TypeError, "a must be float32"),
        (np.ones((2, 3), np.float16), np.ones((3, 2), np.float16), TypeError, "float16"),
        (np.ones((2, 3), np.float32), np.ones((3, 2)), TypeError, "same dtype"),
        (np.ones(3), np.ones((3, 2)), ValueError, "a must be 2-D"),
        (np.ones((2, 3)), np.ones((2, 3, 1)), ValueError, "b must be 2-D"),
        (np.ones((2, 3)), np.ones((4, 2)), ValueError, "(2, 3)"),
        (np.ones((4, 6))[:, ::2], np.ones((3, 2)), ValueError, "a must have unit stride"),
        (np.ones((2, 3)), np.ones((3, 4))[::-1], ValueError, "b must have unit stride"),
        ([[1.0]], np.ones((1, 1)), TypeError, "'a'"),
    ],
)
def test_matmul_rejects_bad_operands(a, b, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        kernels.matmul(a, b)


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError) as info:
        kernels.matmul(np.ones((2, 3)), np.ones((4, 5)))
    assert "(2, 3)" in str(info.value) and "(4, 5)" in str(info.value)


def test_matmul_rejects_bad_out():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    with pytest.raises(ValueError, match="out must have shape"):
        kernels.matmul(a, b, np.empty((4, 2)))
    with pytest.raises(TypeError, match="out must have dtype"):
        kernels.matmul(a, b, np.empty((2, 4), np.float32))
    with pytest.raises(TypeError, match="out must be a numpy.ndarray"):
        kernels.matmul(a, b, [[0.0] * 4] * 2)
    read_only = np.empty((2, 4))
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        kernels.matmul(a, b, read_only)
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.matmul(a, b, np.empty((4, 2)).T)
    with pytest.raises(ValueError, match="beta"):
        kernels.matmul(a, b, beta=1.0)


def test_matmul_rejects_out_overlapping_an_input():
    a = np.ones((3, 3))
    with pytest.raises(ValueError, match="out overlaps a"):
        kernels.matmul(a, np.ones((3, 3)), a)
    buffer = np.ones(20)
    with pytest.raises(ValueError, match="out overlaps b"):
        kernels.matmul(np.ones((2, 2)), buffer[:4].reshape(2, 2), buffer[2:6].reshape(2, 2))


# ---- linear ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,k,m", [(1, 1, 1), (32, 784, 256), (5, 3, 0), (0, 3, 4), (4, 0, 3)])
def test_linear_matches_numpy(dtype, n, k, m):
    x, weight, bias = random((n, k), dtype, 1), random((m, k), dtype, 2), random(m, dtype, 3)
    expected = x.astype(np.float64) @ weight.T + bias
    assert_close(kernels.linear(x, weight, bias), expected, dtype, k + 1)
    assert_close(kernels.linear(x, weight), x.astype(np.float64) @ weight.T, dtype, k)
    out = np.full((n, m), np.nan, dtype)
    assert kernels.linear(x, weight, bias, out) is out
    assert_close(out, expected, dtype, k + 1)


def test_linear_rejects_bad_input():
    x, weight = np.ones((2, 3)), np.ones((4, 3))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        kernels.linear(x, np.ones((4, 5)))
    with pytest.raises(ValueError, match="bias must have shape"):
        kernels.linear(x, weight, np.ones(3))
    with pytest.raises(TypeError, match="same dtype"):
        kernels.linear(x, weight, np.ones(4, np.float32))
    with pytest.raises(TypeError, match="same dtype"):
        kernels.linear(x, weight.astype(np.float32))
    with pytest.raises(ValueError, match="weight must be C-contiguous"):
        kernels.linear(x, np.ones((3, 4)).T)
    out = np.ones((2, 4))
    with pytest.raises(ValueError, match="out overlaps bias"):
        kernels.linear(x, weight, out[0], out)


# ---- relu -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5), (2, 3, 4), (0, 4), (1000, 33)])
def test_relu_and_backward_match_numpy(dtype, shape):
    x = random(shape, dtype, 1)
    grad = random(shape, dtype, 2)
    np.testing.assert_array_equal(kernels.relu(x), np.maximum(x, 0))
    np.testing.assert_array_equal(kernels.relu_backward(x, grad), np.where(x > 0, grad, 0))


def test_relu_kink_nan_and_in_place():
    x = np.array([-1.0, 0.0, 2.0, np.nan, -np.inf, np.inf], np.float32)
    assert kernels.relu_backward(x, np.ones_like(x))[1] == 0.0  # ReLU'(0) = 0
    got = kernels.relu(x)
    np.testing.assert_array_equal(got, [0, 0, 2, np.nan, 0, np.inf])
    assert kernels.relu(x, x) is x
    np.testing.assert_array_equal(x, got)
    grad = np.full(6, 3.0, np.float32)
    assert kernels.relu_backward(x, grad, grad) is grad
    np.testing.assert_array_equal(grad, [0, 0, 3, 3, 0, 3])  # NaN passes, as PyTorch


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_marks_alive_columns(dtype):
    x = random((50, 40), dtype, 1)
    x[:, 3] = -np.abs(x[:, 3])  # a dead unit: no positive output in the batch
    x[:, 7] = 0.0  # exactly zero everywhere: dead as well
    alive = np.zeros(40, np.uint8)
    kernels.relu(x, alive=alive)
    np.testing.assert_array_equal(alive, (x > 0).any(axis=0))
    assert alive[3] == 0 and alive[7] == 0
    # entries already 1 stay 1: batches accumulate
    kernels.relu(-np.abs(x), alive=alive)
    np.testing.assert_array_equal(alive, (x > 0).any(axis=0))


def test_relu_rejects_bad_input():
    x = np.ones((3, 4))
    with pytest.raises(TypeError, match="x must be float32 or float64"):
        kernels.relu(np.ones(3, np.int64))
    with pytest.raises(TypeError, match="x must be float32 or float64, got bool"):
        kernels.relu(np.ones(3, bool))
    with pytest.raises(ValueError, match="out must have shape"):
        kernels.relu(x, np.empty((4, 3)))
    with pytest.raises(TypeError, match="out must have dtype"):
        kernels.relu(x, np.empty((3, 4), np.float32))
    with pytest.raises(ValueError, match="out overlaps x"):
        buffer = np.ones(14)
        kernels.relu(buffer[:12].reshape(3, 4), buffer[2:].reshape(3, 4))
    with pytest.raises(TypeError, match="alive must have dtype uint8"):
        kernels.relu(x, alive=np.zeros(4, bool))
    with pytest.raises(ValueError, match="alive must have shape"):
        kernels.relu(x, alive=np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="alive needs a 2-D x"):
        kernels.relu(np.ones(4), alive=np.zeros(4, np.uint8))
    with pytest.raises(TypeError, match="same dtype"):
        kernels.relu_backward(x, np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(4, 3\)"):
        kernels.relu_backward(x, np.ones((4, 3)))


# ---- column_sum -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (128, 256), (0, 5), (5, 0)])
def test_column_sum_matches_numpy(dtype, shape):
    x = random(shape, dtype, 1)
    got = kernels.column_sum(x)
    assert got.shape == (shape[1],) and got.dtype == dtype
    assert_close(got, x.astype(np.float64).sum(axis=0), dtype, shape[0])


def test_column_sum_rejects_bad_input():
    with pytest.raises(ValueError, match="x must be 2-D"):
        kernels.column_sum(np.ones(3))
    with pytest.raises(ValueError, match="out must have shape"):
        kernels.column_sum(np.ones((3, 4)), np.empty(3))
    x = np.ones((3, 4))
    with pytest.raises(ValueError, match="out overlaps x"):
        kernels.column_sum(x, x[1])


# ---- softmax cross-entropy ------------------------------------------------------------


def reference_cross_entropy(logits, target):
    z = logits.astype(np.float64)
    z_max = z.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(z - z_max).sum(axis=1, keepdims=True)) + z_max
    return (log_sum[:, 0] - z[np.arange(len(z)), target]), np.exp(z - log_sum)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows,classes", [(1, 1), (8, 10), (33, 3), (0, 4)])
def test_softmax_cross_entropy_matches_numpy(dtype, rows, classes):
    logits = random((rows, classes), dtype, 1) * 3
    target = np.random.default_rng(2).integers(0, classes, rows)
    losses, probs = kernels.softmax_cross_entropy(logits, target)
    expected_losses, expected_probs = reference_cross_entropy(logits, target)
    assert losses.shape == (rows,) and probs.shape == (rows, classes)
    assert losses.dtype == dtype and probs.dtype == dtype
    assert_close(losses, expected_losses, dtype, classes)
    assert_close(probs, expected_probs, dtype, classes)
    grad_loss = random(rows, dtype, 3)
    grad = kernels.softmax_cross_entropy_backward(probs, target, grad_loss)
    one_hot = np.eye(classes)[target]
    assert_close(grad, grad_loss[:, None] * (probs.astype(np.float64) - one_hot), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_is_stable_for_huge_logits(dtype):
    logits = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]], dtype)
    losses, probs = kernels.softmax_cross_entropy(logits, np.array([1, 0]))
    assert np.isfinite(losses).all() and np.isfinite(probs).all()
    np.testing.assert_allclose(losses, [1e4, np.log(3)], rtol=1e-6)
    np.testing.assert_allclose(probs[1], [1 / 3] * 3, rtol=1e-6)


def test_softmax_cross_entropy_in_place():
    logits = random((6, 5), np.float64)
    target = np.arange(6) % 5
    expected_losses, expected_probs = reference_cross_entropy(logits, target)
    losses, probs = kernels.softmax_cross_entropy(logits, target, logits)
    assert probs is logits
    assert_close(losses, expected_losses, np.float64, 5)
    assert_close(probs, expected_probs, np.float64, 5)
    grad_loss = np.ones(6)
    grad = kernels.softmax_cross_entropy_backward(probs, target, grad_loss, probs)
    assert_close(grad, expected_probs - np.eye(5)[target], np.float64)


@pytest.mark.parametrize("bad", [-1, 3, 2**40])
def test_softmax_cross_entropy_rejects_bad_targets(bad):
    logits = np.zeros((4, 3), np.float32)
    target = np.array([0, 1, bad, 2])
    with pytest.raises(ValueError, match=rf"target\[2\] = {bad}"):
        kernels.softmax_cross_entropy(logits, target)
    with pytest.raises(ValueError, match=rf"target\[2\] = {bad}"):
        kernels.softmax_cross_entropy_backward(logits, target, np.ones(4, np.float32))


def test_softmax_cross_entropy_rejects_bad_input():
    logits = np.zeros((4, 3))
    with pytest.raises(TypeError, match="target must have dtype int64"):
        kernels.softmax_cross_entropy(logits, np.zeros(4, np.int32))
    with pytest.raises(ValueError, match="target must have shape"):
        kernels.softmax_cross_entropy(logits, np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="logits must be 2-D"):
        kernels.softmax_cross_entropy(np.zeros(3), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="target"):
        kernels.softmax_cross_entropy(np.zeros((1, 0)), np.zeros(1, np.int64))
    with pytest.raises(TypeError, match="same dtype"):
        kernels.softmax_cross_entropy_backward(logits, np.zeros(4, np.int64), np.ones(4, "f4"))
    with pytest.raises(ValueError, match="grad_loss must have shape"):
        kernels.softmax_cross_entropy_backward(logits, np.zeros(4, np.int64), np.ones(3))


# ---- threads --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -3, 1.5, "2", True])
def test_set_num_threads_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        kernels.set_num_threads(bad)


def test_set_num_threads_round_trips():
    before = kernels.get_num_threads()
    try:
        kernels.set_num_threads(1)
        assert kernels.get_num_threads() == 1
        kernels.set_num_threads(2)
        assert kernels.get_num_threads() == (2 if kernels.have_openmp() else 1)
    finally:
        kernels.set_num_threads(before)
