"""Gradients of gradients: create_graph, tg.autograd.grad, gradgradcheck on every op of the
op table (conftest.py), second derivatives against PyTorch, and tg.autograd.functional.
The first derivatives are in test_ops.py; the engine's walk in test_autograd.py.
"""

import numpy as np
import pytest
from conftest import assert_second_derivatives_match_torch, op_case_params

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import functional as AF


def leaf(data) -> tg.Tensor:
    return tg.Tensor(np.asarray(data, np.float64), requires_grad=True)


# ---------------------------------------------------------------- every op, twice


@op_case_params
def test_every_op_passes_gradgradcheck(case, rng):
    inputs = [leaf(a) for a in case.inputs(rng)]
    assert tg.gradgradcheck(case.fn, inputs)


@op_case_params
def test_second_derivatives_match_pytorch(case, rng):
    assert_second_derivatives_match_torch(case, rng)


@pytest.mark.parametrize("bias", [True, False])
def test_the_c_kernel_ops_pass_gradgradcheck(bias, rng):
    """linear (one C GEMM), relu (C) and the fused softmax cross-entropy (C), differentiated twice."""
    x, w = leaf(rng.standard_normal((5, 4))), leaf(rng.standard_normal((3, 4)))
    b = leaf(rng.standard_normal(3)) if bias else None
    target = np.array([0, 2, 1, 1, 0])

    def loss(x, w, *rest):
        hidden = F.linear(x, w, rest[0] if rest else None).tanh()
        return F.cross_entropy(hidden.relu() * 3 + hidden, target, reduction="sum")

    assert tg.gradgradcheck(loss, [x, w] + ([b] if bias else []))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_second_derivative_matches_pytorch(reduction, rng):
    torch = pytest.importorskip("torch")
    logits, target = rng.standard_normal((4, 5)), np.array([0, 4, 2, 2])
    ours = leaf(logits)
    (g,) = tg.autograd.grad(
        (F.cross_entropy(ours, target, reduction=reduction) ** 2).sum(), ours, create_graph=True
    )
    (h,) = tg.autograd.grad((g * g).sum(), ours)
    theirs = torch.tensor(logits, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(theirs, torch.from_numpy(target), reduction=reduction)
    (tg_,) = torch.autograd.grad((loss**2).sum(), theirs, create_graph=True)
    (th,) = torch.autograd.grad((tg_ * tg_).sum(), theirs)
    np.testing.assert_allclose(g.numpy(), tg_.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- create_graph itself


def test_second_derivative_of_tanh_by_hand():
    x = leaf([-1.5, 0.0, 0.3, 2.0])
    (g,) = tg.autograd.grad(x.tanh().sum(), x, create_graph=True)
    (h,) = tg.autograd.grad(g.sum(), x)
    t = np.tanh(x.numpy())
    np.testing.assert_allclose(g.numpy(), 1 - t**2)
    np.testing.assert_allclose(h.numpy(), -2 * t * (1 - t**2))


def test_derivatives_to_the_fourth_order():
    x = leaf(1.7)
    y = x**5
    derivatives = []
    for _ in range(4):
        (y,) = tg.autograd.grad(y, x, create_graph=True)
        derivatives.append(y.item())
    np.testing.assert_allclose(derivatives, [5 * 1.7**4, 20 * 1.7**3, 60 * 1.7**2, 120 * 1.7])


def test_backward_with_create_graph_records_the_gradient():
    x = leaf([1.0, 2.0])
    (x**3).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None  # .grad is itself a node of the graph
    first = x.grad
    x.grad = None
    first.sum().backward()  # d/dx Σ 3x² = 6x
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def test_without_create_graph_the_gradient_is_a_plain_leaf():
    x = leaf([1.0, 2.0])
    (g,) = tg.autograd.grad((x**3).sum(), x)
    assert g.grad_fn is None and not g.requires_grad
    assert x.grad is None  # grad() does not write .grad


def test_a_gradient_penalty_trains_through_the_gradient():
    """||∂L/∂x||² as a loss term (WGAN-GP style): its gradient with respect to w exists."""
    w, x = leaf([0.5, -1.0]), leaf([2.0, 3.0])
    (grad_x,) = tg.autograd.grad((w * x).tanh().sum(), x, create_graph=True)
    (grad_x * grad_x).sum().backward()
    # by hand: grad_x = w·(1 - t²), t = tanh(w·x); d/dw Σ grad_x² = Σ 2 grad_x · d grad_x/dw
    wv, xv = w.numpy(), x.numpy()
    t = np.tanh(wv * xv)
    d_gx_dw = (1 - t**2) + wv * (-2 * t * (1 - t**2) * xv)
    np.testing.assert_allclose(w.grad.numpy(), 2 * wv * (1 - t**2) * d_gx_dw)


def test_grad_refuses_unused_inputs_unless_allowed():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        tg.autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = tg.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None and gx.item() == 2.0


def test_grad_of_an_intermediate_and_with_grad_outputs():
    x = leaf([1.0, 2.0])
    h = x * 3
    out = h * h
    gh, gx = tg.autograd.grad(out, [h, x], grad_outputs=tg.Tensor([1.0, 0.5], dtype=tg.float64))
    np.testing.assert_allclose(gh.numpy(), [6.0, 6.0])
    np.testing.assert_allclose(gx.numpy(), [18.0, 18.0])


def test_backward_inputs_limits_where_gradients_land():
    a, b = leaf([1.0]), leaf([2.0])
    (a * b).sum().backward(inputs=[a])
    assert a.grad.item() == 2.0 and b.grad is None


def test_grad_of_an_input_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        x = leaf([1.0])
        tg.autograd.grad((x * 2).sum(), [tg.Tensor([1.0])])


def test_newton_step_on_a_quadratic_lands_on_the_minimum():
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    f = lambda x: 0.5 * (x @ tg.Tensor(a) @ x) - (x * tg.Tensor(b)).sum()
    x = leaf([5.0, -3.0])
    (g,) = tg.autograd.grad(f(x), x)
    h = AF.hessian(f, x).numpy()
    x_new = x.numpy() - np.linalg.solve(h, g.numpy())
    np.testing.assert_allclose(x_new, np.linalg.solve(a, b))


# ---------------------------------------------------------------- functional, against PyTorch


def _pair(rng):
    return rng.standard_normal(3), rng.standard_normal(3)


def test_functional_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    TF = torch.autograd.functional
    x, v = _pair(rng)
    f_ours = lambda t: (t.tanh() * t).sum()
    f_theirs = lambda t: (t.tanh() * t).sum()
    g_ours = lambda t: t.tanh() * t
    tx, tv = torch.tensor(x), torch.tensor(v)
    cases = [
        (AF.jacobian(g_ours, tg.Tensor(x)), TF.jacobian(g_ours, tx)),
        (AF.hessian(f_ours, tg.Tensor(x)), TF.hessian(f_theirs, tx)),
        (AF.vjp(g_ours, tg.Tensor(x), tg.Tensor(v))[1], TF.vjp(g_ours, tx, tv)[1]),
        (AF.jvp(g_ours, tg.Tensor(x), tg.Tensor(v))[1], TF.jvp(g_ours, tx, tv)[1]),
        (AF.hvp(f_ours, tg.Tensor(x), tg.Tensor(v))[1], TF.hvp(f_theirs, tx, tv)[1]),
        (AF.vhp(f_ours, tg.Tensor(x), tg.Tensor(v))[1], TF.vhp(f_theirs, tx, tv)[1]),
    ]
    for i, (mine, theirs) in enumerate(cases):
        assert mine.shape == tuple(theirs.shape), f"case {i}"
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-10, err_msg=f"case {i}")


def test_functional_with_several_inputs_is_shaped_as_pytorch(rng):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    f = lambda x, y: (x * y).exp().sum()
    ours = AF.hessian(f, (tg.Tensor(a), tg.Tensor(b)))
    theirs = torch.autograd.functional.hessian(f, (torch.tensor(a), torch.tensor(b)))
    for i in range(2):
        for j in range(2):
            assert ours[i][j].shape == tuple(theirs[i][j].shape)
            np.testing.assert_allclose(ours[i][j].numpy(), theirs[i][j].numpy(), rtol=1e-10)
    jac = AF.jacobian(lambda x, y: x * y, (tg.Tensor(a), tg.Tensor(b)))
    assert jac[0].shape == (2, 3, 2, 3) and jac[1].shape == (2, 3, 3)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class WrongSquare(tg.function.Function):
        """Forward: out = x²   Local: 2x   Backward: grad · 2x, but written as grad · x.data·2
        (a constant, so the second derivative comes out 0 instead of 2)."""

        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, grad):
            return (grad * 2 * tg.function.data(self.x),)

    from tinygrad_edu.engine import apply

    x = leaf([1.0, 2.0])
    assert tg.gradcheck(lambda t: apply(WrongSquare, t), [x])
    with pytest.raises(tg.GradcheckError):
        tg.gradgradcheck(lambda t: apply(WrongSquare, t), [x])
