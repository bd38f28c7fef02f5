"""Optimizers: PyTorch's update rules step for step, state_dict in PyTorch's layout, resuming
bit for bit, and argument checks. (The schedulers: test_lr_scheduler.py.)"""

import copy

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
    {"lr": 0.01, "amsgrad": True},
    {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "betas": (0.5, 0.9)},
]
RMSPROP_SETTINGS = [
    {},
    {"lr": 0.01, "alpha": 0.9, "eps": 1e-6},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.01, "momentum": 0.9},
    {"lr": 0.01, "centered": True},
    {"lr": 0.005, "centered": True, "momentum": 0.5, "weight_decay": 0.01},
]
ADAGRAD_SETTINGS = [
    {},
    {"lr": 0.1, "lr_decay": 0.05},
    {"lr": 0.1, "weight_decay": 0.1},
    {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6},
]
# (optimizer, settings) for the state_dict and resume tests: every rule and each state it keeps.
EVERY_RULE = (
    [("SGD", s) for s in SGD_SETTINGS[2:5]]
    + [(name, s) for name in ("Adam", "AdamW") for s in ADAM_SETTINGS[::2]]
    + [("RMSprop", s) for s in RMSPROP_SETTINGS[3:]]
    + [("Adagrad", s) for s in ADAGRAD_SETTINGS[1:]]
)


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("settings", RMSPROP_SETTINGS)
def test_rmsprop_matches_torch(settings, dtype):
    ours, theirs = run_both("RMSprop", settings, dtype)
    for our, their in zip(ours, theirs):
        assert our.dtype == dtype
        np.testing.assert_allclose(our, their, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("settings", ADAGRAD_SETTINGS)
def test_adagrad_matches_torch(settings, dtype):
    ours, theirs = run_both("Adagrad", settings, dtype)
    for our, their in zip(ours, theirs):
        assert our.dtype == dtype
        np.testing.assert_allclose(our, their, **TOLERANCE[dtype])


def test_amsgrad_keeps_the_largest_second_moment():
    weights = tg.Tensor(np.zeros(1), requires_grad=True)
    optimizer = optim.Adam([weights], lr=0.1, betas=(0.0, 0.5), amsgrad=True)
    for grad in (4.0, 0.0):
        weights.grad = tg.Tensor(np.array([grad]))
        optimizer.step()
    state = optimizer.state[weights]
    # v: 0.5·16 = 8 after step 1, then 4; the max stays 8.
    np.testing.assert_array_equal(state["exp_avg_sq"], [4.0])
    np.testing.assert_array_equal(state["max_exp_avg_sq"], [8.0])


# ---------------------------------------------------------------- state_dict and resuming


def make_pair(name, settings, dtype=np.float64, seed=0):
    """Our optimizer and torch's over the same two param groups (the second with its own lr)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal(shape).astype(dtype) for shape in [(3, 2), (2,), (4,)]]
    ours = [tg.Tensor(w, requires_grad=True) for w in initial]
    theirs = [torch.tensor(w, requires_grad=True) for w in initial]
    lr = settings.get("lr", 0.01)

    def groups(params):
        return [{"params": params[:2]}, {"params": params[2:], "lr": lr / 2}]

    return (
        (ours, getattr(optim, name)(groups(ours), **settings)),
        (theirs, getattr(torch.optim, name)(groups(theirs), **settings)),
    )


def step_with(pairs, rng, steps):
    """`steps` steps with the same random gradients on every (params, optimizer) pair."""
    for _ in range(steps):
        grads = [rng.standard_normal(p.shape) for p in pairs[0][0]]
        for params, optimizer in pairs:
            for param, grad in zip(params, grads):
                param.grad = as_grad(param, grad)
            optimizer.step()


def as_grad(param, grad):
    """grad as the parameter's kind (our Tensor or torch's) and dtype."""
    if isinstance(param, tg.Tensor):
        return tg.Tensor(grad.astype(param.dtype))
    import torch

    return torch.tensor(grad).to(param.dtype)


@pytest.mark.parametrize("name, settings", EVERY_RULE)
def test_state_dict_has_torchs_layout_and_values(name, settings):
    (ours, our_optimizer), (theirs, their_optimizer) = make_pair(name, settings)
    step_with([(ours, our_optimizer), (theirs, their_optimizer)], np.random.default_rng(1), 3)
    our_state, their_state = our_optimizer.state_dict(), their_optimizer.state_dict()
    assert set(our_state) == {"state", "param_groups"}
    assert [g["params"] for g in our_state["param_groups"]] == [[0, 1], [2]]
    for our_group, their_group in zip(our_state["param_groups"], their_state["param_groups"]):
        for key, value in our_group.items():
            assert value == their_group[key], key
    assert list(our_state["state"]) == list(their_state["state"])
    for index, their_entries in their_state["state"].items():
        our_entries = our_state["state"][index]
        assert list(our_entries) == list(their_entries)
        for key, value in their_entries.items():
            assert isinstance(our_entries[key], np.ndarray)
            assert our_entries[key].dtype == value.numpy().dtype, key
            np.testing.assert_allclose(our_entries[key], value.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, settings", EVERY_RULE)
def test_a_resumed_run_continues_bit_for_bit(name, settings, dtype):
    """k steps, save, then: the original goes on, and a fresh optimizer on copies of the
    weights loads the saved (deep-copied) state; the same gradients give the same bits."""
    (ours, optimizer), _ = make_pair(name, settings, dtype)
    rng = np.random.default_rng(2)
    step_with([(ours, optimizer)], rng, 4)
    saved = copy.deepcopy(optimizer.state_dict())
    weights = [p.data.copy() for p in ours]
    (fresh, resumed), _ = make_pair(name, settings, dtype, seed=99)
    for param, array in zip(fresh, weights):
        param.data[...] = array
    resumed.load_state_dict(saved)
    step_with([(ours, optimizer), (fresh, resumed)], rng, 5)
    for original, continued in zip(ours, fresh):
        np.testing.assert_array_equal(original.data, continued.data)
    assert resumed.param_groups[1]["lr"] == optimizer.param_groups[1]["lr"]


def test_loading_a_state_dict_copies_it_and_checks_the_groups():
    (ours, optimizer), _ = make_pair("Adam", {"lr": 0.01})
    step_with([(ours, optimizer)], np.random.default_rng(0), 1)
    saved = optimizer.state_dict()
    optimizer.load_state_dict(saved)
    saved["state"][0]["exp_avg"][...] = 123.0
    assert not (optimizer.state[ours[0]]["exp_avg"] == 123.0).any()
    assert optimizer.param_groups[0]["params"] == ours[:2]
    other = optim.Adam([tg.Tensor(np.ones(2), requires_grad=True)])
    with pytest.raises(ValueError, match="parameter groups"):
        other.load_state_dict(saved)
    one_group = {"state": {}, "param_groups": [{**saved["param_groups"][0], "params": [0, 1]}]}
    with pytest.raises(ValueError, match="2 parameters"):
        other.load_state_dict(one_group)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        other.load_state_dict({"state": {}})


def test_every_update_goes_through_update_in_place(monkeypatch):
    """The one function where parameters change in place (where versions will be bumped)."""
    from tinygrad_edu.optim import optimizer as base

    seen = []
    real = base._update_in_place

    def spy(param, *args, **kwargs):
        seen.append(param)
        before = param.data.copy()
        real(param, *args, **kwargs)
        assert not np.array_equal(before, param.data)

    for module in ("sgd", "adam", "rmsprop", "adagrad"):
        monkeypatch.setattr(f"tinygrad_edu.optim.{module}._update_in_place", spy)
    for name, settings in EVERY_RULE:
        weights = tg.Tensor(np.ones(3), requires_grad=True)
        optimizer = getattr(optim, name)([weights], **settings)
        weights.grad = tg.Tensor(np.array([0.5, -1.0, 2.0]))
        before = weights.data.copy()
        seen.clear()
        optimizer.step()
        assert seen == [weights], name
        assert not np.array_equal(before, weights.data)


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
        (lambda p: optim.RMSprop(p, alpha=-0.5), "alpha"),
        (lambda p: optim.RMSprop(p, momentum=-0.5), "momentum"),
        (lambda p: optim.Adagrad(p, lr_decay=-0.1), "lr_decay"),
        (lambda p: optim.Adagrad(p, initial_accumulator_value=-1.0), "initial_accumulator_value"),
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
