"""Learning-rate schedulers: PyTorch's rates float for float (step by step, chained, closed
form), resuming from a state_dict, and argument checks."""

import copy
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.optim import lr_scheduler

STEPS = 25

SCHEDULERS = [
    ("StepLR", {"step_size": 3, "gamma": 0.7}),
    ("MultiStepLR", {"milestones": [2, 5, 5, 11], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 1 / (1 + epoch) ** 0.5}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("LinearLR", {"start_factor": 0.25, "total_iters": 6}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 8}),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": STEPS + 1}),
    ("OneCycleLR", {"max_lr": [0.5, 0.2], "total_steps": STEPS + 1, "anneal_strategy": "linear"}),
    ("OneCycleLR", {"max_lr": 0.5, "epochs": 2, "steps_per_epoch": 13, "three_phase": True}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(SCHEDULERS)]


def optimizers(name="SGD", **settings):
    """Ours and torch's, each over two param groups with different rates."""
    torch = pytest.importorskip("torch")
    settings = {"lr": 0.1, "momentum": 0.9, **settings} if name == "SGD" else settings
    ours = getattr(optim, name)(
        [
            {"params": [tg.Tensor(np.ones(2), requires_grad=True)]},
            {"params": [tg.Tensor(np.ones(1), requires_grad=True)], "lr": 0.05},
        ],
        **settings,
    )
    theirs = getattr(torch.optim, name)(
        [
            {"params": [torch.ones(2, requires_grad=True)]},
            {"params": [torch.ones(1, requires_grad=True)], "lr": 0.05},
        ],
        **settings,
    )
    return ours, theirs


def schedule(optimizer, name, settings, steps, metrics=None):
    """The rates (and momenta) after creation and after each of `steps` step() calls."""
    ours = isinstance(optimizer, optim.Optimizer)
    module = lr_scheduler if ours else _torch_schedulers()
    return record(optimizer, getattr(module, name)(optimizer, **settings), steps, metrics)


def _torch_schedulers():
    import torch

    return torch.optim.lr_scheduler


def record(optimizer, scheduler, steps, metrics=None):
    seen = []
    for step in range(steps + 1):
        if step:
            optimizer.step()
            scheduler.step(*([metrics[step - 1]] if metrics is not None else []))
        seen.append((scheduler.get_last_lr(), [momentum(g) for g in optimizer.param_groups]))
    return seen


def momentum(group):
    return group["betas"][0] if "betas" in group else group.get("momentum")


@pytest.mark.parametrize("name, settings", SCHEDULERS, ids=IDS)
def test_rates_match_torch_exactly(name, settings):
    ours, theirs = optimizers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = schedule(theirs, name, settings, STEPS)
    assert schedule(ours, name, settings, STEPS) == expected
    assert [g["lr"] for g in ours.param_groups] == [g["lr"] for g in theirs.param_groups]


def test_one_cycle_moves_adams_beta1_as_torch():
    ours, theirs = optimizers("Adam", lr=0.01, betas=(0.9, 0.99))
    settings = {"max_lr": 0.02, "total_steps": 12}
    assert schedule(ours, "OneCycleLR", settings, 11) == schedule(
        theirs, "OneCycleLR", settings, 11
    )
    assert ours.param_groups[0]["betas"][1] == 0.99


def test_reduce_on_plateau_matches_torch():
    losses = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.89999, 0.92, 0.5, 0.6, 0.6, 0.6, 0.7, 0.4] * 2
    for settings in (
        {"patience": 2, "factor": 0.5},
        {"patience": 1, "cooldown": 2, "threshold": 0.05, "threshold_mode": "abs"},
        {"mode": "max", "patience": 0, "min_lr": [0.02, 0.001]},
    ):
        ours, theirs = optimizers()
        expected = schedule(theirs, "ReduceLROnPlateau", settings, len(losses), losses)
        assert schedule(ours, "ReduceLROnPlateau", settings, len(losses), losses) == expected
        assert expected[-1] != expected[0]  # the rates did change


def test_chained_schedulers_compose_as_torch():
    """Two schedulers on one optimizer: each multiplies the group's current lr (chainable form)."""
    ours, theirs = optimizers()
    lists = []
    for optimizer, module in ((ours, lr_scheduler), (theirs, _torch_schedulers())):
        warm_up = module.LinearLR(optimizer, start_factor=0.1, total_iters=4)
        decay = module.ExponentialLR(optimizer, gamma=0.9)
        rates = []
        for _ in range(12):
            optimizer.step()
            warm_up.step()
            decay.step()
            rates.append(decay.get_last_lr())
        lists.append(rates)
    assert lists[0] == lists[1]


@pytest.mark.parametrize("name, settings", SCHEDULERS[:8], ids=IDS[:8])
def test_closed_form_with_an_epoch_matches_torch(name, settings):
    ours, theirs = optimizers()
    rates = []
    for optimizer, module in ((ours, lr_scheduler), (theirs, _torch_schedulers())):
        scheduler = getattr(module, name)(optimizer, **settings)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (3, 7, 2, 12):
                scheduler.step(epoch)
        rates.append(scheduler.get_last_lr())
    assert rates[0] == rates[1]


class WarmUp:
    """A callable object: its attributes are saved with LambdaLR's state (as PyTorch)."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.epochs)


RESUMABLE = SCHEDULERS + [("LambdaLR", {"lr_lambda": WarmUp(6)})]


@pytest.mark.parametrize("name, settings", RESUMABLE, ids=IDS + ["LambdaLR-object"])
def test_a_resumed_schedule_continues_exactly(name, settings):
    """k steps, save both state_dicts (deep copies), load them into fresh objects: the rest of
    the schedule is the one the uninterrupted run gives."""
    pytest.importorskip("torch")
    optimizer, _ = optimizers()
    scheduler = getattr(lr_scheduler, name)(optimizer, **settings)
    record(optimizer, scheduler, 9)
    saved = copy.deepcopy(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
    )
    if isinstance(settings.get("lr_lambda"), WarmUp):
        settings = {"lr_lambda": WarmUp(1)}  # the saved attributes must bring back epochs=6
    fresh_optimizer, _ = optimizers()
    fresh = getattr(lr_scheduler, name)(fresh_optimizer, **settings)
    fresh_optimizer.load_state_dict(saved["optimizer"])
    fresh.load_state_dict(saved["scheduler"])
    assert record(fresh_optimizer, fresh, STEPS - 9) == record(optimizer, scheduler, STEPS - 9)


def test_reduce_on_plateau_resumes_its_counters():
    optimizer, _ = optimizers()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, patience=2)
    losses = [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5]
    record(optimizer, scheduler, 4, losses[:4])
    saved = copy.deepcopy(scheduler.state_dict())
    fresh_optimizer, _ = optimizers()
    fresh_optimizer.load_state_dict(optimizer.state_dict())
    fresh = lr_scheduler.ReduceLROnPlateau(fresh_optimizer)
    fresh.load_state_dict(saved)
    assert record(fresh_optimizer, fresh, 5, losses[4:]) == record(
        optimizer, scheduler, 5, losses[4:]
    )


def test_steplr_schedule_by_hand():
    optimizer = optim.SGD([tg.Tensor(np.ones(1), requires_grad=True)], lr=1.0)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2)
    rates = []
    for _ in range(5):
        scheduler.step()
        rates.append(scheduler.get_last_lr()[0])
    np.testing.assert_allclose(rates, [1.0, 0.1, 0.1, 0.01, 0.01])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda o: lr_scheduler.StepLR(o, step_size=0), "step_size"),
        (lambda o: lr_scheduler.StepLR(o, step_size=1, gamma=-0.1), "gamma"),
        (lambda o: lr_scheduler.StepLR("sgd", step_size=1), "optimizer"),
        (lambda o: lr_scheduler.ExponentialLR(o, gamma=float("nan")), "gamma"),
        (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0] * 2), "lr_lambdas"),
        (lambda o: lr_scheduler.LambdaLR(o, 0.5), "lr_lambda"),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), "T_max"),
        (lambda o: lr_scheduler.LinearLR(o, start_factor=0.0), "start_factor"),
        (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1), "total_steps"),
        (
            lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1),
            "pct_start",
        ),
        (lambda o: lr_scheduler.OneCycleLR(o, 0.1, 10, anneal_strategy="cubic"), "anneal_strategy"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), "factor"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="best"), "mode"),
        (lambda o: lr_scheduler.StepLR(o, step_size=2, last_epoch=3), "initial_lr"),
    ],
)
def test_bad_arguments_raise_naming_them(make, message):
    optimizer = optim.SGD([tg.Tensor(np.ones(1), requires_grad=True)], lr=1.0)
    with pytest.raises((ValueError, TypeError, KeyError), match=message):
        make(optimizer)


def test_one_cycle_refuses_to_step_past_its_end():
    optimizer = optim.SGD([tg.Tensor(np.ones(1), requires_grad=True)], lr=1.0, momentum=0.9)
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=3)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match="total steps is 3"):
        scheduler.step()
