"""tg.gradcheck itself: it passes on correct ops, and it catches deliberately wrong
Functions defined here, naming the input, the element and both values; a non-scalar output
has its whole Jacobian checked (a wrong gradient that .sum() would hide is still caught).
"""

import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.function import Function
from tinygrad_edu.tensor import apply


class SquareMissingTheTwo(Function):
    """Forward: out = x²; Backward: grad · x (wrong: the factor 2 is missing)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        return (grad * self.x,)


class MulWrongForY(Function):
    """Forward: out = x · y; Backward right for x, wrong for y (grad · y instead of grad · x)."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, grad):
        return grad * self.y, grad * self.y


class ReverseNotReversedBack(Function):
    """Forward: out = x[::-1]; Backward: grad (wrong: not reversed back). Its column sums
    are right, so only a check of the whole Jacobian catches it."""

    def forward(self, x):
        return x[::-1].copy()

    def backward(self, grad):
        return (grad,)


class WrongAtOneElement(Function):
    """Forward: out = 3x; Backward: 3 · grad except at flat index 4 (wrong there only)."""

    def forward(self, x):
        return 3 * x

    def backward(self, grad):
        grad_x = 3 * grad
        grad_x.flat[4] = 0.0
        return (grad_x,)


class SlightlyOff(Function):
    """Forward: out = 2x; Backward: 2.0002 · grad (off by 1e-4 relative)."""

    def forward(self, x):
        return 2 * x

    def backward(self, grad):
        return (2.0002 * grad,)


def f64(data, requires_grad=True) -> tg.Tensor:
    return tg.Tensor(np.asarray(data, np.float64), requires_grad=requires_grad)


def numbers_in(message: str) -> list:
    return [float(s) for s in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", message)]


# ---------------------------------------------------------------- passing


def test_passes_on_correct_ops_with_several_inputs(rng):
    a, b = f64(rng.standard_normal((3, 4))), f64(rng.standard_normal(4))
    assert tg.gradcheck(lambda a, b: ((a * b).tanh() @ b).sum(), [a, b]) is True


def test_passes_on_a_non_scalar_output(rng):
    x = f64(rng.standard_normal((2, 3)))
    assert tg.gradcheck(lambda x: x.softmax(axis=1), [x]) is True


def test_inputs_without_requires_grad_are_held_constant(rng):
    x, constant = f64(rng.standard_normal(3)), f64(rng.standard_normal(3), requires_grad=False)
    assert tg.gradcheck(lambda x, c: x * c, [x, constant])
    assert constant.grad is None


def test_passes_on_non_contiguous_inputs(rng):
    """An input whose array is Fortran-ordered (a transpose) is perturbed like any other."""
    x = tg.Tensor(rng.standard_normal((3, 4)).T, requires_grad=True)
    assert tg.gradcheck(lambda x: x * x, [x])


def test_leaves_the_input_values_unchanged(rng):
    data = rng.standard_normal((3, 3))
    x = f64(data)
    tg.gradcheck(lambda x: x.exp(), [x])
    np.testing.assert_array_equal(x.numpy(), data)


def test_output_that_does_not_depend_on_the_input_has_zero_gradient():
    assert tg.gradcheck(lambda x: tg.Tensor(np.ones(2)), [f64([1.0, 2.0])])


# ---------------------------------------------------------------- failing, with a clear message


def test_catches_a_wrong_derivative_and_names_input_element_and_values():
    x = f64([1.0, 2.0, 3.0])
    with pytest.raises(tg.GradcheckError) as caught:
        tg.gradcheck(lambda x: apply(SquareMissingTheTwo, x), [x])
    message = str(caught.value)
    assert "input 0" in message and "element (0,)" in message
    assert "analytical" in message and "numerical" in message
    values = numbers_in(message.split("analytical")[1])
    assert values[0] == pytest.approx(1.0) and values[1] == pytest.approx(2.0, rel=1e-6)


def test_names_the_input_that_is_wrong():
    x, y = f64([1.0, 2.0]), f64([3.0, 5.0])
    with pytest.raises(tg.GradcheckError, match="input 1"):
        tg.gradcheck(lambda x, y: apply(MulWrongForY, x, y), [x, y])


def test_names_the_element_that_is_wrong():
    x = f64(np.arange(6.0).reshape(2, 3))
    with pytest.raises(tg.GradcheckError, match=r"element \(1, 1\)"):
        tg.gradcheck(lambda x: apply(WrongAtOneElement, x), [x])


def test_checks_the_whole_jacobian_of_a_non_scalar_output():
    x = f64([1.0, 2.0, 3.0])
    assert tg.gradcheck(lambda x: apply(ReverseNotReversedBack, x).sum(), [x])  # hidden by .sum()
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(lambda x: apply(ReverseNotReversedBack, x), [x])


def test_tolerances_are_honoured():
    x = f64([1.0, 2.0])
    assert tg.gradcheck(lambda x: apply(SlightlyOff, x), [x])  # within the default rtol 1e-3
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(lambda x: apply(SlightlyOff, x), [x], atol=0.0, rtol=1e-6)


def test_gradcheck_error_is_exported_and_an_exception():
    assert issubclass(tg.GradcheckError, Exception)


# ---------------------------------------------------------------- bad use


def test_float32_input_raises():
    x = tg.Tensor(np.ones(2, np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        tg.gradcheck(lambda x: x * 2, [x])


def test_no_input_requiring_grad_raises():
    with pytest.raises(ValueError):
        tg.gradcheck(lambda x: x * 2, [f64([1.0], requires_grad=False)])


def test_fn_returning_a_non_tensor_raises():
    with pytest.raises(TypeError):
        tg.gradcheck(lambda x: x.numpy(), [f64([1.0])])
