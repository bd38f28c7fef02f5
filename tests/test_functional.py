"""nn.functional: forward and backward against PyTorch (random upstream gradient),
gradcheck in float64, numerical stability and argument errors."""

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F

rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def leaves(*arrays):
    return [tg.Tensor(a, requires_grad=True) for a in arrays]


def compare_with_torch(tg_fn, torch_fn, arrays, rtol=1e-6, atol=1e-6):
    """Same inputs through both; the outputs, then the gradients of (out · c).sum()."""
    torch = pytest.importorskip("torch")
    ours = leaves(*arrays)
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = tg_fn(*ours), torch_fn(*theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=rtol, atol=atol)
    upstream = rng.standard_normal(ref.shape).astype(arrays[0].dtype)
    (out * tg.Tensor(upstream)).sum().backward()
    (ref * torch.tensor(upstream)).sum().backward()
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.data, reference.grad.numpy(), rtol=rtol, atol=atol)


# ---------------------------------------------------------------- linear


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-4), (np.float64, 1e-10)])
@pytest.mark.parametrize("x_shape", [(5, 4), (2, 3, 4), (4,)])
def test_linear_matches_torch(dtype, tol, x_shape):
    torch = pytest.importorskip("torch")
    arrays = [randn(*x_shape, dtype=dtype), randn(3, 4, dtype=dtype), randn(3, dtype=dtype)]
    compare_with_torch(F.linear, torch.nn.functional.linear, arrays, rtol=tol, atol=tol)
    compare_with_torch(F.linear, torch.nn.functional.linear, arrays[:2], rtol=tol, atol=tol)


def test_linear_gradcheck():
    assert tg.gradcheck(F.linear, leaves(randn(3, 4), randn(2, 4), randn(2)))
    assert tg.gradcheck(F.linear, leaves(randn(2, 3, 4), randn(2, 4)))


def test_linear_rejects_mismatched_shapes():
    x, w = tg.Tensor(randn(5, 4)), tg.Tensor(randn(3, 5))
    with pytest.raises(ValueError, match=r"\(5, 4\).*\(3, 5\)"):
        F.linear(x, w)
    with pytest.raises(ValueError, match="bias"):
        F.linear(x, tg.Tensor(randn(3, 4)), tg.Tensor(randn(4)))
    with pytest.raises(TypeError, match="x must be a Tensor"):
        F.linear(randn(5, 4), w)


# ---------------------------------------------------------------- activations

ACTIVATIONS = [
    ("relu", F.relu, "relu", {}),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), "leaky_relu", {"negative_slope": 0.2}),
    ("sigmoid", F.sigmoid, "sigmoid", {}),
    ("tanh", F.tanh, "tanh", {}),
    ("softmax", lambda x: F.softmax(x, axis=0), "softmax", {"dim": 0}),
    ("softmax_dim", lambda x: F.softmax(x, dim=1), "softmax", {"dim": 1}),
    ("log_softmax", lambda x: F.log_softmax(x, axis=-1), "log_softmax", {"dim": -1}),
    ("log_softmax_dim", lambda x: F.log_softmax(x, dim=0), "log_softmax", {"dim": 0}),
]


@pytest.mark.parametrize(
    "name, ours, torch_name, kwargs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_matches_torch(name, ours, torch_name, kwargs, dtype):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn.functional, torch_name)
    compare_with_torch(
        ours, lambda x: theirs(x, **kwargs), [randn(4, 5, dtype=dtype)], rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    "name, ours, torch_name, kwargs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS]
)
def test_activation_gradcheck(name, ours, torch_name, kwargs):
    x = randn(3, 4)
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the ReLU kink, where differences are one-sided
    assert tg.gradcheck(ours, leaves(x))


def test_relu_gradient_at_zero_is_zero():
    x = tg.Tensor(np.zeros(3), requires_grad=True)
    F.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 0.0)


# ---------------------------------------------------------------- dropout


def test_dropout_scales_kept_elements_and_gradient_follows_the_mask():
    tg.manual_seed(1)
    x = tg.Tensor(rng.uniform(1, 2, (200, 50)), requires_grad=True)
    out = F.dropout(x, p=0.3)
    kept = out.data != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(out.data[kept], x.data[kept] / 0.7)
    upstream = randn(200, 50)
    (out * tg.Tensor(upstream)).sum().backward()
    np.testing.assert_allclose(x.grad.data, upstream * kept / 0.7)


def test_dropout_is_reproducible_with_manual_seed():
    x = tg.Tensor(np.ones((10, 10)))
    tg.manual_seed(3)
    first = F.dropout(x, 0.5).data
    tg.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, 0.5).data, first)


def test_dropout_gradcheck_with_a_fixed_mask():
    def fn(x):
        tg.manual_seed(7)
        return F.dropout(x, 0.4)

    assert tg.gradcheck(fn, leaves(randn(4, 6)))


def test_dropout_identity_cases_and_p_one():
    x = tg.Tensor(randn(4, 5), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    out = F.dropout(x, 1.0)
    np.testing.assert_array_equal(out.data, 0.0)
    out.sum().backward()
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_array_equal(x.grad.data, 0.0)


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", True])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(tg.Tensor(randn(2, 2)), p)


# ---------------------------------------------------------------- batch norm


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_matches_torch(shape, affine):
    torch = pytest.importorskip("torch")
    channels = shape[1]
    mean0, var0 = randn(channels), rng.uniform(0.5, 2, channels)
    ours_stats = [tg.Tensor(mean0), tg.Tensor(var0)]
    theirs_stats = [torch.tensor(mean0), torch.tensor(var0)]
    arrays = [randn(*shape) * 3 + 1] + ([randn(channels), randn(channels)] if affine else [])

    def ours(x, *affine_params):
        return F.batch_norm(x, *ours_stats, *affine_params, training=True, momentum=0.2, eps=1e-4)

    def theirs(x, *affine_params):
        return torch.nn.functional.batch_norm(
            x, *theirs_stats, *affine_params, training=True, momentum=0.2, eps=1e-4
        )

    compare_with_torch(ours, theirs, arrays, rtol=1e-9, atol=1e-9)
    for mine, reference in zip(ours_stats, theirs_stats):
        np.testing.assert_allclose(mine.data, reference.numpy(), rtol=1e-12)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batch_norm_eval_matches_torch(shape):
    torch = pytest.importorskip("torch")
    mean, var = randn(3), rng.uniform(0.5, 2, 3)

    def ours(x, weight, bias):
        return F.batch_norm(x, tg.Tensor(mean), tg.Tensor(var), weight, bias, training=False)

    def theirs(x, weight, bias):
        return torch.nn.functional.batch_norm(
            x, torch.tensor(mean), torch.tensor(var), weight, bias, training=False
        )

    compare_with_torch(ours, theirs, [randn(*shape), randn(3), randn(3)], rtol=1e-9, atol=1e-9)


def test_batch_norm_gradcheck():
    def training(x, weight, bias):
        return F.batch_norm(x, None, None, weight, bias, training=True)

    def evaluation(x, weight, bias):
        return F.batch_norm(x, tg.Tensor(np.full(3, 0.5)), tg.Tensor(np.full(3, 2.0)), weight, bias)

    assert tg.gradcheck(training, leaves(randn(4, 3), randn(3), randn(3)))
    assert tg.gradcheck(training, leaves(randn(2, 3, 2), randn(3), randn(3)))
    assert tg.gradcheck(evaluation, leaves(randn(4, 3), randn(3), randn(3)))


def test_batch_norm_errors():
    x = tg.Tensor(randn(4, 3))
    with pytest.raises(ValueError, match=r"running_mean.*\(3,\).*\(4,\)"):
        F.batch_norm(x, tg.Tensor(randn(4)), tg.Tensor(randn(3)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(tg.Tensor(randn(1, 3)), None, None, training=True)
    with pytest.raises(ValueError, match="needed when training=False"):
        F.batch_norm(x, None, None, training=False)


# ---------------------------------------------------------------- losses


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-10)])
def test_cross_entropy_matches_torch(reduction, dtype, tol):
    torch = pytest.importorskip("torch")
    target = rng.integers(0, 5, 7)
    compare_with_torch(
        lambda z: F.cross_entropy(z, target, reduction=reduction),
        lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(target), reduction=reduction),
        [randn(7, 5, dtype=dtype) * 3],
        rtol=tol,
        atol=tol,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_gradcheck(reduction):
    target = tg.Tensor(rng.integers(0, 4, 5))
    assert tg.gradcheck(
        lambda z: F.cross_entropy(z, target, reduction=reduction), leaves(randn(5, 4))
    )


def test_cross_entropy_is_stable_for_huge_logits():
    torch = pytest.importorskip("torch")
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]], dtype=np.float32)
    target = np.array([1, 1])
    z = tg.Tensor(logits, requires_grad=True)
    loss = F.cross_entropy(z, target)
    loss.backward()
    ref = torch.tensor(logits, requires_grad=True)
    torch.nn.functional.cross_entropy(ref, torch.tensor(target)).backward()
    assert np.isfinite(loss.item()) and np.isfinite(z.grad.data).all()
    np.testing.assert_allclose(z.grad.data, ref.grad.numpy(), atol=1e-6)


def test_cross_entropy_errors():
    z = tg.Tensor(randn(3, 4))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(z, [0, 1, 2], reduction="avg")
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(2,\)"):
        F.cross_entropy(z, [0, 1])
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        F.cross_entropy(z, [0, 1, 4])
    with pytest.raises(TypeError, match="integer"):
        F.cross_entropy(z, np.array([0.0, 1.0, 2.0]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_torch_for_input_and_target(reduction):
    torch = pytest.importorskip("torch")
    compare_with_torch(
        lambda a, b: F.mse_loss(a, b, reduction),
        lambda a, b: torch.nn.functional.mse_loss(a, b, reduction=reduction),
        [randn(4, 3), randn(4, 3)],
        rtol=1e-10,
        atol=1e-10,
    )


def test_mse_loss_gradcheck_and_array_target():
    assert tg.gradcheck(lambda a, b: F.mse_loss(a, b, "sum"), leaves(randn(3, 2), randn(3, 2)))
    loss = F.mse_loss(tg.Tensor(np.ones(3, np.float32)), np.zeros(3))
    assert loss.dtype == np.float32 and loss.item() == 1.0
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        F.mse_loss(tg.Tensor(randn(3)), tg.Tensor(randn(2)))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(tg.Tensor(randn(3)), tg.Tensor(randn(3)), reduction="max")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    logits = randn(5, 3) * 4
    logits[0, 0] = 0.0  # the point where |x| and max(x, 0) have kinks
    compare_with_torch(
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction),
        lambda x, t: torch.nn.functional.binary_cross_entropy_with_logits(
            x, t, reduction=reduction
        ),
        [logits, rng.uniform(0, 1, (5, 3))],
        rtol=1e-10,
        atol=1e-10,
    )


def test_bce_with_logits_gradcheck_and_stability():
    x = randn(4, 3)
    x[0, 0] = 0.0
    assert tg.gradcheck(F.binary_cross_entropy_with_logits, leaves(x, rng.uniform(0, 1, (4, 3))))
    z = tg.Tensor(np.array([1e4, -1e4, 0.0], np.float32), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(z, np.array([0.0, 1.0, 1.0]), reduction="sum")
    loss.backward()
    np.testing.assert_allclose(loss.item(), 2e4 + np.log(2), rtol=1e-6)
    np.testing.assert_allclose(z.grad.data, [1.0, -1.0, -0.5], atol=1e-7)
