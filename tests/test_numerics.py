"""Numerical edge cases and the behaviour this library promises at each (IEEE results,
as PyTorch gives them): log/sqrt/division at 0, exp overflow, softmax-family ops on huge
inputs, the variance of one element, NaN in max, ties, clip at its bounds. Each test's
docstring states the behaviour; none of these may raise.
"""

import numpy as np
import pytest
from conftest import value_and_grad

import tinygrad_edu as tg

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # see the last test

INF, NAN = np.inf, np.nan


def assert_same(actual, expected) -> None:
    """Equal, with NaN equal to NaN and the sign of infinity checked."""
    np.testing.assert_array_equal(actual, np.asarray(expected, dtype=np.asarray(actual).dtype))


# ---------------------------------------------------------------- log, sqrt, division at 0


def test_log_at_zero_and_below():
    """log(0) = -inf with gradient +inf (1/0); log(-1) = nan with gradient -1 (1/x still
    evaluates); log(1) = 0 with gradient 1."""
    out, grad = value_and_grad(lambda x: x.log(), [0.0, -1.0, 1.0])
    assert_same(out, [-INF, NAN, 0.0])
    assert_same(grad, [INF, -1.0, 1.0])


def test_log1p_at_minus_one():
    """log1p(-1) = -inf with gradient +inf."""
    out, grad = value_and_grad(lambda x: x.log1p(), [-1.0])
    assert_same(out, [-INF])
    assert_same(grad, [INF])


def test_sqrt_at_zero_and_below():
    """sqrt(0) = 0 with gradient +inf (1/(2·0)); sqrt(-1) = nan with gradient nan."""
    out, grad = value_and_grad(lambda x: x.sqrt(), [0.0, -1.0, 4.0])
    assert_same(out, [0.0, NAN, 2.0])
    assert_same(grad, [INF, NAN, 0.25])


def test_power_one_half_at_zero():
    """x ** 0.5 at 0 is 0 with gradient +inf, as sqrt."""
    out, grad = value_and_grad(lambda x: x**0.5, [0.0])
    assert_same(out, [0.0])
    assert_same(grad, [INF])


def test_power_zero_has_zero_gradient_even_at_zero():
    """x ** 0 = 1 everywhere, so its gradient is 0 everywhere, also at x = 0 (PyTorch);
    the formula 0 · x^(-1) would give 0 · inf = nan there."""
    out, grad = value_and_grad(lambda x: x**0, [0.0, 2.0, -3.0])
    assert_same(out, [1.0, 1.0, 1.0])
    assert_same(grad, [0.0, 0.0, 0.0])


def test_division_by_zero():
    """1/0 = inf, 1/-0 = -inf, with gradient -1/x² = -inf at both zeros."""
    out, grad = value_and_grad(lambda x: 1.0 / x, [0.0, -0.0, 2.0])
    assert_same(out, [INF, -INF, 0.5])
    assert_same(grad, [-INF, -INF, -0.25])


def test_zero_divided_by_zero():
    """0/0 = nan; the gradient for the numerator is 1/0 = inf, for the denominator
    -0/0² = nan."""
    x, y = (tg.Tensor([0.0], dtype=tg.float64, requires_grad=True) for _ in range(2))
    out = x / y
    out.sum().backward()
    assert_same(out.numpy(), [NAN])
    assert_same(x.grad.numpy(), [INF])
    assert_same(y.grad.numpy(), [NAN])


# ---------------------------------------------------------------- overflow


@pytest.mark.parametrize("dtype, big", [(np.float32, 100.0), (np.float64, 1000.0)])
def test_exp_overflow_is_inf_and_underflow_is_zero(dtype, big):
    """exp of a large number overflows to inf (gradient inf), of a very negative one
    underflows to 0 (gradient 0): no exception."""
    out, grad = value_and_grad(lambda x: x.exp(), [big, -1000.0], dtype)
    assert_same(out, [INF, 0.0])
    assert_same(grad, [INF, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_tanh_saturate_without_overflow(dtype):
    """sigmoid(±1000) is exactly 1 and 0, tanh(±1000) is ±1, all with gradient 0
    (sigmoid is written with exp(-|x|), which never overflows)."""
    out, grad = value_and_grad(lambda x: x.sigmoid(), [1000.0, -1000.0], dtype)
    assert_same(out, [1.0, 0.0])
    assert_same(grad, [0.0, 0.0])
    out, grad = value_and_grad(lambda x: x.tanh(), [1000.0, -1000.0], dtype)
    assert_same(out, [1.0, -1.0])
    assert_same(grad, [0.0, 0.0])


# ---------------------------------------------------------------- softmax family on huge inputs

HUGE = [[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_huge_inputs_is_finite(dtype):
    """Softmax subtracts the row maximum first: [1e4, 0, -1e4] gives [1, 0, 0] and equal
    huge entries share the probability; the gradient is finite."""
    upstream = tg.Tensor(np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.5]], dtype))
    out, grad = value_and_grad(lambda x: x.softmax(axis=1) * upstream, HUGE, dtype)
    np.testing.assert_allclose(
        out / upstream.numpy(), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6
    )
    assert np.isfinite(grad).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_of_huge_inputs_is_finite(dtype):
    """log_softmax([1e4, 0, -1e4]) = [0, -1e4, -2e4] exactly representable, gradient
    1 - 3·softmax for an all-ones upstream gradient: finite, no nan from inf - inf."""
    out, grad = value_and_grad(lambda x: x.log_softmax(axis=1), HUGE, dtype)
    np.testing.assert_allclose(out, [[0, -1e4, -2e4], [-np.log(3)] * 3], rtol=1e-6)
    np.testing.assert_allclose(grad, [[-2, 1, 1], [0, 0, 0]], atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_of_huge_inputs_is_finite(dtype):
    """logsumexp shifts by the maximum: logsumexp([1e4, 1e4]) = 1e4 + log 2 (not inf);
    its gradient is the softmax, here ½ each (up to float32 rounding of the result)."""
    out, grad = value_and_grad(lambda x: x.logsumexp(axis=1), HUGE, dtype)
    np.testing.assert_allclose(out, [1e4, 1e4 + np.log(3)], rtol=1e-6)
    np.testing.assert_allclose(grad, [[1, 0, 0], [1 / 3] * 3], atol=1e-3)


def test_logsumexp_with_infinite_inputs():
    """All -inf gives -inf (log of 0); a +inf entry gives +inf. The gradient there is
    nan (inf - inf), as PyTorch."""
    out, grad = value_and_grad(lambda x: x.logsumexp(axis=1), [[-INF, -INF], [INF, 1.0]])
    assert_same(out, [-INF, INF])
    assert_same(grad, [[NAN, NAN], [NAN, 0.0]])


def test_softmax_with_a_minus_inf_entry_gives_it_zero_probability():
    """A -inf logit (a masked position) gets probability 0 and gradient 0."""
    out, grad = value_and_grad(lambda x: x.softmax() * tg.Tensor([1.0, 2.0]), [-INF, 0.0])
    assert_same(out, [0.0, 2.0])
    assert_same(grad, [0.0, 0.0])


# ---------------------------------------------------------------- statistics of tiny inputs


def test_variance_of_one_element_is_nan():
    """var with correction=1 (the default, Bessel) divides by n - 1 = 0: nan (0/0), as PyTorch;
    correction=0 gives 0."""
    out, grad = value_and_grad(lambda x: x.var(), [3.0])
    assert_same(out, NAN)
    assert_same(grad, [NAN])
    assert tg.Tensor([3.0]).var(correction=0).item() == 0.0


def test_variance_with_more_correction_than_elements_is_inf():
    """n - correction <= 0 divides a nonzero sum of squares by 0: inf, as PyTorch."""
    assert tg.Tensor([1.0, 2.0]).var(correction=2).item() == INF


def test_mean_of_an_empty_tensor_is_nan_and_sum_is_zero():
    """mean of no elements is nan (0/0), the sum of none is 0; gradients are empty."""
    out, grad = value_and_grad(lambda x: x.mean(), np.zeros(0))
    assert_same(out, NAN)
    assert grad.shape == (0,)
    assert tg.Tensor(np.zeros((0, 3))).sum().item() == 0.0


# ---------------------------------------------------------------- max, ties, clip


def test_max_with_all_elements_tied_shares_the_gradient():
    """max of a constant row: every element is the maximum, each gets 1/n of the gradient."""
    out, grad = value_and_grad(lambda x: x.amax(axis=1), [[2.0] * 4, [-INF] * 4])
    assert_same(out, [2.0, -INF])
    assert_same(grad, [[0.25] * 4, [0.25] * 4])


def test_max_with_nan_is_nan_and_sends_the_gradient_to_the_nan():
    """NaN propagates through max (as numpy and PyTorch); the gradient goes to the NaN
    element and the other elements get 0, not NaN."""
    out, grad = value_and_grad(lambda x: x.max(), [1.0, NAN, 2.0])
    assert_same(out, NAN)
    assert_same(grad, [0.0, 1.0, 0.0])


def test_relu_and_clip_propagate_nan_and_handle_infinity():
    """relu(nan) = nan, relu(±inf) = inf/0; clip(nan) = nan, clip(±inf) = the bounds with
    gradient 0 (outside the range)."""
    out, _ = value_and_grad(lambda x: x.relu(), [NAN, -INF, INF])
    assert_same(out, [NAN, 0.0, INF])
    out, grad = value_and_grad(lambda x: x.clip(-1.0, 1.0), [-INF, INF, 1.0])
    assert_same(out, [-1.0, 1.0, 1.0])
    assert_same(grad, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_at_exactly_the_bounds_passes_the_gradient(dtype):
    """A value equal to a bound is inside the range (min <= x <= max): its value is kept
    and its gradient is 1; float32 bounds compare exactly as float32 values."""
    out, grad = value_and_grad(lambda x: x.clip(0.1, 0.7), [0.1, 0.7, 0.0999, 0.7001], dtype)
    np.testing.assert_array_equal(out, np.array([0.1, 0.7, 0.1, 0.7], dtype))
    assert_same(grad, [1.0, 1.0, 0.0, 0.0])


# ---------------------------------------------------------------- numpy warnings


def test_edge_values_keep_numpy_runtime_warnings():
    """Unlike PyTorch, numpy's RuntimeWarnings (divide by zero, overflow, invalid value) reach
    the user: they are the first visible sign of the NaN trap, and silencing them with
    np.errstate would cost more per op than a small op itself. detect_anomaly pinpoints the op."""
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        tg.Tensor([0.0, 1.0]).log()
    with pytest.warns(RuntimeWarning, match="overflow"):
        tg.Tensor([1000.0]).exp()
