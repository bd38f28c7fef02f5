"""Losses (nn.loss): every option against PyTorch, values and gradients (float64 to 1e-10),
float64 gradcheck, the loss modules and their state_dict keys, and clear errors."""

import numpy as np
import pytest
from conftest import check_gradients

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn

REDUCTIONS = ["mean", "sum", "none"]
TOL = {np.float32: 1e-5, np.float64: 1e-10}


def compare_with_torch(ours, theirs, arrays, dtype=np.float64, rng=None):
    """Both losses on the same inputs: values, then gradients of (loss · c).sum()."""
    torch = pytest.importorskip("torch")
    rng = rng or np.random.default_rng(1)
    mine = [tg.Tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    refs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out, ref = ours(*mine), theirs(*refs)
    tol = TOL[dtype]
    assert out.shape == tuple(ref.shape) and out.dtype == dtype
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=tol, atol=tol)
    upstream = rng.standard_normal(tuple(ref.shape)).astype(dtype)
    (out * tg.Tensor(upstream)).sum().backward()
    (ref * torch.tensor(upstream)).sum().backward()
    for i, (x, r) in enumerate(zip(mine, refs)):
        np.testing.assert_allclose(
            x.grad.data, r.grad.numpy(), rtol=tol, atol=tol, err_msg=f"input {i}"
        )


def tF():
    return pytest.importorskip("torch").nn.functional


def t(array):
    return pytest.importorskip("torch").tensor(array)


# ---------------------------------------------------------------- cross entropy and nll

TARGET = np.array([0, 3, -100, 2, 1, -100, 3])
WEIGHT = np.array([0.5, 2.0, 1.0, 1.5])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_class_indices_match_torch(reduction, smoothing, weighted, dtype, rng):
    logits = rng.standard_normal((7, 4)) * 3
    weight = WEIGHT.astype(dtype) if weighted else None
    compare_with_torch(
        lambda z: F.cross_entropy(
            z,
            TARGET,
            None if weight is None else tg.Tensor(weight),
            ignore_index=-100,
            reduction=reduction,
            label_smoothing=smoothing,
        ),
        lambda z: tF().cross_entropy(
            z,
            t(TARGET),
            None if weight is None else t(weight),
            reduction=reduction,
            label_smoothing=smoothing,
        ),
        [logits],
        dtype,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_class_probabilities_match_torch(reduction, smoothing, weighted, rng):
    logits, probs = rng.standard_normal((5, 4)), rng.dirichlet(np.ones(4), 5)
    weight = WEIGHT if weighted else None
    # Both inputs are differentiated: PyTorch also gives the target a gradient.
    compare_with_torch(
        lambda z, p: F.cross_entropy(
            z,
            p,
            None if weight is None else tg.Tensor(weight),
            reduction=reduction,
            label_smoothing=smoothing,
        ),
        lambda z, p: tF().cross_entropy(
            z,
            p,
            None if weight is None else t(weight),
            reduction=reduction,
            label_smoothing=smoothing,
        ),
        [logits, probs],
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_and_unbatched_match_torch(reduction, rng):
    target = rng.integers(0, 4, (2, 3, 5))
    target[0, 1, 2] = 7  # a custom ignore_index
    compare_with_torch(
        lambda z: F.cross_entropy(
            z, target, tg.Tensor(WEIGHT), ignore_index=7, reduction=reduction, label_smoothing=0.2
        ),
        lambda z: tF().cross_entropy(
            z, t(target), t(WEIGHT), ignore_index=7, reduction=reduction, label_smoothing=0.2
        ),
        [rng.standard_normal((2, 4, 3, 5))],
    )
    compare_with_torch(
        lambda z: F.cross_entropy(z, np.array(2), reduction=reduction),
        lambda z: tF().cross_entropy(z, t(2), reduction=reduction),
        [rng.standard_normal(4)],
    )
    probs = rng.dirichlet(np.ones(4), (2, 3)).transpose(0, 2, 1)  # classes on axis 1
    compare_with_torch(
        lambda z: F.cross_entropy(z, probs, reduction=reduction),
        lambda z: tF().cross_entropy(z, t(probs), reduction=reduction),
        [rng.standard_normal((2, 4, 3))],
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(reduction, rng):
    log_probs = rng.standard_normal((7, 4))
    for weight in (None, WEIGHT):
        compare_with_torch(
            lambda x, w=weight: F.nll_loss(
                x, TARGET, None if w is None else tg.Tensor(w), reduction=reduction
            ),
            lambda x, w=weight: tF().nll_loss(
                x, t(TARGET), None if w is None else t(w), reduction=reduction
            ),
            [log_probs],
        )
    target = rng.integers(0, 4, (2, 5))
    compare_with_torch(
        lambda x: F.nll_loss(x, target, reduction=reduction),
        lambda x: tF().nll_loss(x, t(target), reduction=reduction),
        [rng.standard_normal((2, 4, 5))],
    )


def test_cross_entropy_all_ignored_mean_is_nan_as_torch():
    z = tg.Tensor(np.zeros((2, 3)), requires_grad=True)
    loss = F.cross_entropy(z, [-100, -100])
    assert np.isnan(loss.item())
    assert F.cross_entropy(z, [-100, -100], reduction="sum").item() == 0.0


def test_plain_cross_entropy_keeps_the_fused_kernel(rng):
    z = tg.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert F.cross_entropy(z, [0, 1, 2, 1]).grad_fn.name == "SoftmaxCrossEntropyBackward"
    assert F.cross_entropy(z, [0, 1, 2, -100]).grad_fn.name != "SoftmaxCrossEntropyBackward"


CROSS_ENTROPY_GRADCHECK = [
    lambda z: F.cross_entropy(z, TARGET[:5], tg.Tensor(WEIGHT), label_smoothing=0.3),
    lambda z: F.cross_entropy(z, TARGET[:5], reduction="none", label_smoothing=0.1),
    lambda z: F.nll_loss(z.log_softmax(1), TARGET[:5], tg.Tensor(WEIGHT), reduction="sum"),
]


@pytest.mark.parametrize("fn", CROSS_ENTROPY_GRADCHECK)
def test_cross_entropy_and_nll_gradcheck(fn, rng):
    assert check_gradients(fn, [rng.standard_normal((5, 4))], rng)


def test_cross_entropy_probabilities_gradcheck_both_inputs(rng):
    fn = lambda z, p: F.cross_entropy(z, p, tg.Tensor(WEIGHT), label_smoothing=0.2)
    assert check_gradients(fn, [rng.standard_normal((3, 4)), rng.dirichlet(np.ones(4), 3)], rng)


def test_cross_entropy_errors():
    z = tg.Tensor(np.zeros((3, 4)))
    with pytest.raises(IndexError, match=r"\[0, 4\)"):
        F.cross_entropy(z, [0, 5, -100], ignore_index=-100)
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(z, [0, 1, 2], label_smoothing=1.5)
    with pytest.raises(TypeError, match="reduction='sum' by keyword"):
        F.cross_entropy(z, [0, 1, 2], "sum")
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        F.cross_entropy(z, [0, 1, 2], tg.Tensor(np.ones(3)))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 1\)"):
        F.nll_loss(z, np.zeros((3, 1), np.int64))
    with pytest.raises(TypeError, match="integer"):
        F.nll_loss(z, np.zeros(3))


# ---------------------------------------------------------------- regression losses

REGRESSION = [
    (
        "mse_loss",
        lambda a, b, r: F.mse_loss(a, b, r),
        lambda a, b, r: tF().mse_loss(a, b, reduction=r),
    ),
    (
        "l1_loss",
        lambda a, b, r: F.l1_loss(a, b, r),
        lambda a, b, r: tF().l1_loss(a, b, reduction=r),
    ),
    (
        "smooth_l1_loss",
        lambda a, b, r: F.smooth_l1_loss(a, b, r),
        lambda a, b, r: tF().smooth_l1_loss(a, b, reduction=r),
    ),
    (
        "smooth_l1_loss(beta=0.4)",
        lambda a, b, r: F.smooth_l1_loss(a, b, r, beta=0.4),
        lambda a, b, r: tF().smooth_l1_loss(a, b, reduction=r, beta=0.4),
    ),
    (
        "smooth_l1_loss(beta=0)",
        lambda a, b, r: F.smooth_l1_loss(a, b, r, beta=0.0),
        lambda a, b, r: tF().smooth_l1_loss(a, b, reduction=r, beta=0.0),
    ),
    (
        "huber_loss",
        lambda a, b, r: F.huber_loss(a, b, r),
        lambda a, b, r: tF().huber_loss(a, b, reduction=r),
    ),
    (
        "huber_loss(delta=0.3)",
        lambda a, b, r: F.huber_loss(a, b, r, delta=0.3),
        lambda a, b, r: tF().huber_loss(a, b, reduction=r, delta=0.3),
    ),
]


@pytest.mark.parametrize("name, ours, theirs", REGRESSION, ids=[c[0] for c in REGRESSION])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regression_losses_match_torch(name, ours, theirs, reduction, dtype, rng):
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    b[0, :3] = a[0, :3]  # d = 0, where |d| has its kink
    b[1, 0], b[1, 1] = a[1, 0] - 1.0, a[1, 1] + 0.3  # d at the boundary of beta=1 and delta=0.3
    compare_with_torch(
        lambda x, y: ours(x, y, reduction), lambda x, y: theirs(x, y, reduction), [a, b], dtype
    )


@pytest.mark.parametrize("name, ours, theirs", REGRESSION, ids=[c[0] for c in REGRESSION])
def test_regression_losses_gradcheck(name, ours, theirs, rng):
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))]
    assert check_gradients(lambda x, y: ours(x, y, "none"), arrays, rng)


def test_regression_losses_by_hand():
    x, y = tg.Tensor(np.array([0.0, 0.5, 3.0])), tg.Tensor(np.zeros(3))
    np.testing.assert_allclose(F.smooth_l1_loss(x, y, "none").data, [0.0, 0.125, 2.5])
    np.testing.assert_allclose(F.huber_loss(x, y, "none", delta=2.0).data, [0.0, 0.125, 4.0])
    np.testing.assert_allclose(F.l1_loss(x, y, "sum").item(), 3.5)


def test_regression_loss_errors():
    x = tg.Tensor(np.zeros(3))
    with pytest.raises(ValueError, match="beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ValueError, match="delta"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        F.l1_loss(x, tg.Tensor(np.zeros(2)))
    with pytest.raises(ValueError, match="reduction"):
        F.huber_loss(x, x, reduction="avg")


# ---------------------------------------------------------------- binary losses


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_matches_torch(reduction, weighted, dtype, rng):
    probs, target = rng.uniform(0.02, 0.98, (4, 3)), rng.uniform(0, 1, (4, 3))
    weight = rng.uniform(0.5, 2, 3).astype(dtype) if weighted else None
    compare_with_torch(
        lambda x, y: F.binary_cross_entropy(
            x, y, None if weight is None else tg.Tensor(weight), reduction=reduction
        ),
        lambda x, y: tF().binary_cross_entropy(
            x, y, None if weight is None else t(weight), reduction=reduction
        ),
        [probs, target],
        dtype,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["plain", "weight", "pos_weight", "both"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_matches_torch(reduction, options, dtype, rng):
    logits, target = rng.standard_normal((4, 3)) * 4, rng.uniform(0, 1, (4, 3))
    logits[0, 0] = 0.0
    weight = rng.uniform(0.5, 2, (4, 1)).astype(dtype) if options in ("weight", "both") else None
    pos_weight = rng.uniform(0.5, 3, 3).astype(dtype) if options in ("pos_weight", "both") else None

    def ours(x, y):
        return F.binary_cross_entropy_with_logits(
            x,
            y,
            None if weight is None else tg.Tensor(weight),
            reduction=reduction,
            pos_weight=None if pos_weight is None else tg.Tensor(pos_weight),
        )

    def theirs(x, y):
        return tF().binary_cross_entropy_with_logits(
            x,
            y,
            None if weight is None else t(weight),
            reduction=reduction,
            pos_weight=None if pos_weight is None else t(pos_weight),
        )

    compare_with_torch(ours, theirs, [logits, target], dtype)


def test_binary_losses_gradcheck(rng):
    probs, target = rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0, 1, (3, 4))
    weight, pos_weight = tg.Tensor(rng.uniform(0.5, 2, 4)), tg.Tensor(rng.uniform(0.5, 2, 4))
    assert check_gradients(
        lambda x, y: F.binary_cross_entropy(x, y, weight, reduction="none"), [probs, target], rng
    )
    fn = lambda x, y: F.binary_cross_entropy_with_logits(x, y, weight, pos_weight=pos_weight)
    assert check_gradients(fn, [rng.standard_normal((3, 4)), target], rng)


def test_binary_cross_entropy_at_zero_and_one_is_finite_as_torch():
    torch = pytest.importorskip("torch")
    probs, target = np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(tg.Tensor(probs), target, reduction="none")
    ref = torch.nn.functional.binary_cross_entropy(t(probs), t(target), reduction="none")
    np.testing.assert_array_equal(loss.data, ref.numpy())  # each log floored at -100
    np.testing.assert_array_equal(loss.data, [100.0, 100.0, 0.0, 0.0])


def test_binary_loss_errors():
    x = tg.Tensor(np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(x, np.zeros(2))
    with pytest.raises(TypeError, match="by keyword"):
        F.binary_cross_entropy_with_logits(x, np.zeros(2), "sum")
    with pytest.raises(ValueError, match="broadcast"):
        F.binary_cross_entropy_with_logits(x, np.zeros(2), tg.Tensor(np.ones(3)))


# ---------------------------------------------------------------- modules


def _module_pairs():
    torch = pytest.importorskip("torch")
    w, pw = np.array([1.0, 2.0, 0.5]), np.array([2.0, 1.0, 3.0])
    return [
        (
            nn.CrossEntropyLoss(tg.Tensor(w), ignore_index=1, label_smoothing=0.1, reduction="sum"),
            torch.nn.CrossEntropyLoss(t(w), ignore_index=1, label_smoothing=0.1, reduction="sum"),
            "class",
        ),
        (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), "class"),
        (
            nn.NLLLoss(tg.Tensor(w), reduction="none"),
            torch.nn.NLLLoss(t(w), reduction="none"),
            "class",
        ),
        (nn.MSELoss(), torch.nn.MSELoss(), "real"),
        (nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum"), "real"),
        (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), "real"),
        (nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5), "real"),
        (nn.BCELoss(tg.Tensor(w)), torch.nn.BCELoss(t(w)), "prob"),
        (
            nn.BCEWithLogitsLoss(pos_weight=tg.Tensor(pw)),
            torch.nn.BCEWithLogitsLoss(pos_weight=t(pw)),
            "real",
        ),
    ]


def test_loss_modules_match_torch_and_their_state_dict_keys(rng):
    for ours, theirs, kind in _module_pairs():
        x = rng.uniform(0.1, 0.9, (4, 3)) if kind == "prob" else rng.standard_normal((4, 3))
        y = rng.integers(0, 3, 4) if kind == "class" else rng.uniform(0, 1, (4, 3))
        np.testing.assert_allclose(
            ours(tg.Tensor(x), tg.Tensor(y)).data,
            theirs(t(x), t(y)).numpy(),
            rtol=1e-10,
            atol=1e-10,
            err_msg=type(ours).__name__,
        )
        assert list(ours.state_dict()) == list(theirs.state_dict()), type(ours).__name__


def test_loss_modules_reject_bad_reduction_and_pytorchs_deprecated_positionals():
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss(reduction="average")
    # PyTorch's second positional slot is the deprecated size_average: refused, not misread.
    with pytest.raises(TypeError):
        nn.CrossEntropyLoss(None, True)
    with pytest.raises(TypeError):
        nn.MSELoss(True)
    assert nn.HuberLoss("sum", 0.5).delta == 0.5  # PyTorch's own positional order
