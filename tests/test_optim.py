"""Optimizers and StepLR: PyTorch's update rules step for step, and argument checks."""

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim

# PyTorch fuses w + α·g into one FMA on CPUs that have it; numpy rounds the product
# first, so float32 weights agree to an ulp or so per step, float64 to rounding noise.
TOLERANCE = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-13}}

SGD_SETTINGS = [
    {"lr": 0.1},
    {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.1, "momentum": 0.9, "dampening": 0.5},
    {"lr": 0.1, "momentum": 0.9, "nesterov": True},
    {"lr": 0.05, "momentum": 0.8, "dampening": 0.2, "weight_decay": 0.01},
    {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.01, "nesterov": True},
]
ADAM_SETTINGS = [
    {},
    {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.01, "betas": (0.0, 0.0)},
]


def run_both(name, settings, dtype, steps=15, seed=0):
    """Same initial weights and gradients through ours and torch's optimizer; final weights."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    shapes = [(4, 3), (3,), (2, 2, 2)]
    initial = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    ours = [tg.Tensor(w, requires_grad=True) for w in initial]
    theirs = [torch.tensor(w, requires_grad=True) for w in initial]
    our_optimizer = getattr(optim, name)(ours, **settings)
    their_optimizer = getattr(torch.optim, name)(theirs, **settings)
    for _ in range(steps):
        for our, their in zip(ours, theirs):
            grad = rng.standard_normal(our.shape).astype(dtype)
            our.grad, their.grad = tg.Tensor(grad), torch.tensor(grad)
        our_optimizer.step()
        their_optimizer.step()
    return [p.data for p in ours], [p.detach().numpy() for p in theirs]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("settings", SGD_SETTINGS)
def test_sgd_matches_torch(settings, dtype):
    ours, theirs = run_both("SGD", settings, dtype)
    for our, their in zip(ours, theirs):
        assert our.dtype == dtype
        np.testing.assert_allclose(our, their, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("settings", ADAM_SETTINGS)
def test_adam_and_adamw_match_torch(name, settings, dtype):
    ours, theirs = run_both(name, settings, dtype)
    for our, their in zip(ours, theirs):
        assert our.dtype == dtype
        np.testing.assert_allclose(our, their, **TOLERANCE[dtype])


def test_adamw_default_weight_decay_is_decoupled():
    weights = tg.Tensor(np.ones(3), requires_grad=True)
    optimizer = optim.AdamW([weights], lr=0.1)
    assert optimizer.param_groups[0]["weight_decay"] == 0.01
    weights.grad = tg.Tensor(np.zeros(3))
    optimizer.step()
    # Zero gradient: Adam's step is 0, only the decay w·(1 − lr·wd) acts.
    np.testing.assert_allclose(weights.data, np.full(3, 1 - 0.1 * 0.01))


def test_sgd_first_step_by_hand():
    weights = tg.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    weights.grad = tg.Tensor(np.array([0.5, 4.0]))
    optim.SGD([weights], lr=0.1, weight_decay=0.5).step()
    # w − lr·(g + wd·w) = [1 − 0.1·1.0, −2 − 0.1·3.0]
    np.testing.assert_allclose(weights.data, [0.9, -2.3])


def test_gradient_is_not_modified_and_update_is_in_place():
    weights = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    grad = np.array([0.3, -0.1])
    weights.grad = tg.Tensor(grad.copy())
    storage = weights.data
    optim.SGD([weights], lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True).step()
    assert weights.data is storage
    np.testing.assert_array_equal(weights.grad.data, grad)


def test_params_without_grad_are_skipped():
    used = tg.Tensor(np.ones(2), requires_grad=True)
    unused = tg.Tensor(np.ones(2), requires_grad=True)
    optimizer = optim.Adam([used, unused], lr=0.1)
    used.grad = tg.Tensor(np.ones(2))
    optimizer.step()
    np.testing.assert_array_equal(unused.data, np.ones(2))
    assert unused not in optimizer.state
    assert not np.array_equal(used.data, np.ones(2))


def test_zero_grad_sets_none_or_zeros():
    weights = tg.Tensor(np.ones(2), requires_grad=True)
    optimizer = optim.SGD([weights], lr=0.1)
    weights.grad = tg.Tensor(np.ones(2))
    optimizer.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(weights.grad.data, np.zeros(2))
    optimizer.zero_grad()
    assert weights.grad is None


def test_gradients_from_backward_drive_the_step():
    weights = tg.Tensor(np.array([3.0, -1.0]), requires_grad=True)
    optimizer = optim.SGD([weights], lr=0.25)
    for _ in range(2):
        optimizer.zero_grad()
        (weights * weights).sum().backward()
        optimizer.step()
    # Each step w ← w − 0.25·2w = w/2.
    np.testing.assert_allclose(weights.data, [0.75, -0.25])


def test_param_groups_override_defaults():
    torch = pytest.importorskip("torch")
    first, second = np.ones((2, 2)), np.full(3, 2.0)
    ours = [tg.Tensor(first, requires_grad=True), tg.Tensor(second, requires_grad=True)]
    theirs = [torch.tensor(first, requires_grad=True), torch.tensor(second, requires_grad=True)]
    our_optimizer = optim.SGD(
        [{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.5}], lr=0.1, momentum=0.9
    )
    their_optimizer = torch.optim.SGD(
        [{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.5}], lr=0.1, momentum=0.9
    )
    assert [g["lr"] for g in our_optimizer.param_groups] == [0.1, 0.5]
    assert our_optimizer.param_groups[1]["momentum"] == 0.9
    for step in range(3):
        for our, their in zip(ours, theirs):
            grad = np.full(our.shape, float(step + 1))
            our.grad, their.grad = tg.Tensor(grad), torch.tensor(grad)
        our_optimizer.step()
        their_optimizer.step()
    for our, their in zip(ours, theirs):
        np.testing.assert_allclose(our.data, their.detach().numpy(), rtol=1e-12)


def test_a_changed_lr_in_param_groups_takes_effect():
    weights = tg.Tensor(np.zeros(1), requires_grad=True)
    optimizer = optim.SGD([weights], lr=1.0)
    optimizer.param_groups[0]["lr"] = 0.5
    weights.grad = tg.Tensor(np.ones(1))
    optimizer.step()
    np.testing.assert_allclose(weights.data, [-0.5])


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda p: optim.SGD(p, lr=-0.1), "lr"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "momentum"),
        (lambda p: optim.SGD(p, lr=0.1, dampening=-0.5), "dampening"),
        (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1.0), "weight_decay"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
        (lambda p: optim.SGD(p, lr=float("nan")), "lr"),
        (lambda p: optim.Adam(p, lr=-1e-3), "lr"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "betas"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "betas"),
        (lambda p: optim.Adam(p, eps=-1e-8), "eps"),
        (lambda p: optim.AdamW(p, weight_decay=-0.01), "weight_decay"),
        (lambda p: optim.SGD([{"params": p, "lr": -1.0}], lr=0.1), "lr"),
    ],
)
def test_invalid_hyperparameters_raise_naming_the_argument(make, argument):
    with pytest.raises(ValueError, match=argument):
        make([tg.Tensor(np.ones(2), requires_grad=True)])


def test_invalid_params_raise():
    weights = tg.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="list"):
        optim.SGD(weights, lr=0.1)
    with pytest.raises(TypeError, match="Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([weights * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([weights, weights], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([{"params": [weights]}, {"params": [weights]}], lr=0.1)
    with pytest.raises(TypeError, match="float"):
        optim.SGD([tg.Tensor([1, 2])], lr=0.1)


def test_steplr_matches_torch():
    torch = pytest.importorskip("torch")
    ours = optim.SGD([tg.Tensor(np.ones(1), requires_grad=True)], lr=0.3)
    theirs = torch.optim.SGD([torch.ones(1, requires_grad=True)], lr=0.3)
    our_scheduler = optim.lr_scheduler.StepLR(ours, step_size=3, gamma=0.7)
    their_scheduler = torch.optim.lr_scheduler.StepLR(theirs, step_size=3, gamma=0.7)
    assert our_scheduler.get_last_lr() == their_scheduler.get_last_lr() == [0.3]
    for _ in range(10):
        ours.step()
        theirs.step()
        our_scheduler.step()
        their_scheduler.step()
        assert our_scheduler.get_last_lr() == their_scheduler.get_last_lr()
        assert ours.param_groups[0]["lr"] == theirs.param_groups[0]["lr"]


def test_steplr_schedule_by_hand_and_checks():
    optimizer = optim.SGD([tg.Tensor(np.ones(1), requires_grad=True)], lr=1.0)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2)
    rates = []
    for _ in range(5):
        scheduler.step()
        rates.append(scheduler.get_last_lr()[0])
    np.testing.assert_allclose(rates, [1.0, 0.1, 0.1, 0.01, 0.01])
    with pytest.raises(ValueError, match="step_size"):
        optim.lr_scheduler.StepLR(optimizer, step_size=0)
    with pytest.raises(ValueError, match="gamma"):
        optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=-0.1)
    with pytest.raises(TypeError, match="optimizer"):
        optim.lr_scheduler.StepLR("sgd", step_size=1)
