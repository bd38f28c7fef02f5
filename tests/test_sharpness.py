"""Curvature health: tg.diagnostics.sharpness against exact Hessians, HealthMonitor's
unstable_lr finding, and the sharpness lab (quick run, --json, the CLI)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn, optim
from tinygrad_edu.__main__ import main
from tinygrad_edu.autograd import functional as AF
from tinygrad_edu.diagnostics import HealthMonitor, sharpness

curvature = sys.modules["tinygrad_edu.diagnostics.curvature"]


def quadratic(eigenvalues, seed=0):
    """(loss_fn, x): ½ xᵀAx with A = Q·diag(eigenvalues)·Qᵀ, a random rotation Q."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    matrix = tg.Tensor(rotation @ np.diag(eigenvalues) @ rotation.T)
    x = tg.Tensor(rng.standard_normal(len(eigenvalues)), requires_grad=True)
    return (lambda: 0.5 * (x * (matrix @ x)).sum()), x


# ---------------------------------------------------------------- sharpness is exact


@pytest.mark.parametrize(
    "eigenvalues, largest",
    [
        ([5.0, 2.0, 1.0, -0.5, 0.1], 5.0),  # the dominant eigenvalue is the largest
        ([-8.0, 3.0, 1.0, 0.5, -1.0], 3.0),  # a negative one dominates: the shifted run
        ([-3.0, -1.0, -0.5], -0.5),  # all negative: still the largest, not the dominant
    ],
)
def test_sharpness_of_a_quadratic_is_its_largest_eigenvalue(eigenvalues, largest):
    loss_fn, x = quadratic(eigenvalues)
    assert sharpness(loss_fn, [x], iters=200, tol=1e-12) == pytest.approx(largest, rel=1e-6)


def small_mlp():
    """A float64 tanh MLP on random data and its cross-entropy loss, as a module and as a
    function of its parameters (for functional.hessian)."""
    tg.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    rng = np.random.default_rng(1)
    X, y = tg.Tensor(rng.standard_normal((12, 4))), tg.Tensor(rng.integers(0, 3, 12))

    def loss_of(w1, b1, w2, b2):
        return F.cross_entropy(F.linear(F.linear(X, w1, b1).tanh(), w2, b2), y)

    return model, (lambda: F.cross_entropy(model(X), y)), loss_of


def full_hessian(blocks, params) -> np.ndarray:
    sizes = [p.numel() for p in params]
    return np.block(
        [[blocks[i][j].data.reshape(sizes[i], sizes[j]) for j in range(4)] for i in range(4)]
    )


def test_sharpness_of_an_mlp_matches_the_full_hessians_top_eigenvalue():
    model, loss_fn, loss_of = small_mlp()
    params = list(model.parameters())
    hessian = full_hessian(AF.hessian(loss_of, tuple(params)), params)
    assert np.allclose(hessian, hessian.T)
    exact = np.linalg.eigvalsh(hessian).max()
    assert sharpness(loss_fn, params, iters=500, tol=1e-12) == pytest.approx(exact, rel=1e-6)


def test_sharpness_of_an_mlp_matches_torch_eigvalsh():
    torch = pytest.importorskip("torch")
    model, loss_fn, _ = small_mlp()
    params = list(model.parameters())
    rng = np.random.default_rng(1)
    X, y = torch.tensor(rng.standard_normal((12, 4))), torch.tensor(rng.integers(0, 3, 12))
    shapes = [p.shape for p in params]
    flat = torch.tensor(np.concatenate([p.data.ravel() for p in params]))

    def torch_loss(vector):
        w1, b1, w2, b2 = torch.split(vector, [int(np.prod(s)) for s in shapes])
        hidden = torch.tanh(X @ w1.reshape(shapes[0]).T + b1)
        return torch.nn.functional.cross_entropy(hidden @ w2.reshape(shapes[2]).T + b2, y)

    exact = torch.linalg.eigvalsh(torch.autograd.functional.hessian(torch_loss, flat)).max()
    assert sharpness(loss_fn, params, iters=500, tol=1e-12) == pytest.approx(
        float(exact), rel=1e-6
    )


def test_sharpness_leaves_values_grads_and_requires_grad_alone():
    model, loss_fn, _ = small_mlp()
    params = list(model.parameters())
    params[1].requires_grad_(False)  # a frozen bias still takes part, and stays frozen
    params[0].grad = tg.Tensor(np.full(params[0].shape, 7.0))
    before = [p.data.copy() for p in params]
    with tg.no_grad():  # the products record their own graphs even here
        value = sharpness(loss_fn, params)
    assert value > 0
    assert all(np.array_equal(p.data, b) for p, b in zip(params, before))
    assert np.array_equal(params[0].grad.data, np.full(params[0].shape, 7.0))
    assert [p.grad for p in params[1:]] == [None, None, None]
    assert [p.requires_grad for p in params] == [True, False, True, True]


def test_sharpness_is_reproducible_and_the_seed_is_the_start_vector():
    model, loss_fn, _ = small_mlp()
    params = list(model.parameters())
    first, again = sharpness(loss_fn, params, iters=3), sharpness(loss_fn, params, iters=3)
    assert first == again
    assert sharpness(loss_fn, params, iters=3, seed=1) != first  # 3 products: not converged


def count_products(monkeypatch) -> list:
    """Counts the calls of autograd.grad made by sharpness: 1 for ∇L, then 1 per product."""
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return tg.autograd.grad(*args, **kwargs)

    monkeypatch.setattr(curvature, "grad", counting)
    return calls


def test_sharpness_stops_early_once_the_estimate_settles(monkeypatch):
    loss_fn, x = quadratic([10.0, 1.0, 0.5])  # a gap of 10: a few products suffice
    calls = count_products(monkeypatch)
    assert sharpness(loss_fn, [x], iters=50) == pytest.approx(10.0, rel=1e-3)
    assert 1 + 2 <= len(calls) < 1 + 50
    close_gap, y = quadratic([10.0, 9.9, 1.0])  # 0.99 per product: not settled after 50
    calls.clear()
    sharpness(close_gap, [y], iters=50, tol=0.0)
    assert len(calls) == 1 + 50


def test_a_loss_without_curvature_has_sharpness_zero():
    x = tg.Tensor(np.ones(3), requires_grad=True)
    assert sharpness(lambda: (x * 2.0).sum(), [x]) == 0.0


@pytest.mark.parametrize(
    "params, kwargs, error, words",
    [
        ([], {}, ValueError, "params is empty"),
        ([np.ones(2)], {}, TypeError, r"params\[0\] is a ndarray"),
        (None, {"iters": 0}, ValueError, "iters must be"),
        (None, {"tol": -1.0}, ValueError, "tol must be"),
    ],
)
def test_sharpness_names_a_bad_argument(params, kwargs, error, words):
    loss_fn, x = quadratic([1.0, 2.0])
    with pytest.raises(error, match=words):
        sharpness(loss_fn, [x] if params is None else params, **kwargs)


def test_sharpness_needs_a_scalar_loss():
    x = tg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="one-element Tensor"):
        sharpness(lambda: x * x, [x])


# ---------------------------------------------------------------- the monitor's finding


def regression(lr_factor, momentum=0.0, every=2):
    """A linear least-squares model (constant Hessian), its monitor, optimizer and λ."""
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 1))
    rng = np.random.default_rng(0)
    X = tg.Tensor(rng.standard_normal((40, 3)).astype(np.float32))
    y = tg.Tensor(rng.standard_normal((40, 1)).astype(np.float32))
    loss_fn = lambda: F.mse_loss(model(X), y)  # noqa: E731
    largest = sharpness(loss_fn, list(model.parameters()), iters=100, tol=1e-9)
    monitor_estimate = sharpness(loss_fn, list(model.parameters()))  # the defaults: 20 products
    optimizer = optim.SGD(model.parameters(), lr=lr_factor * 2 / largest, momentum=momentum)
    monitor = HealthMonitor(model, sharpness_every=every, loss_fn=loss_fn, optimizer=optimizer)
    for _ in range(6):
        optimizer.zero_grad()
        loss_fn().backward()
        monitor.step()
        optimizer.step()
    return monitor, largest, monitor_estimate


def unstable_lr(monitor) -> list:
    return [f for f in monitor.findings if f.kind == "unstable_lr"]


def test_unstable_lr_fires_once_above_two_over_sharpness():
    monitor, largest, estimate = regression(lr_factor=1.2)
    (finding,) = unstable_lr(monitor)  # six steps, three measurements: one episode
    assert (finding.kind, finding.layer, finding.step) == ("unstable_lr", "model", 0)
    # 20 products get within 2% here (the top two eigenvalues are 9% apart): from below
    assert finding.value == estimate and 0.98 * largest < estimate <= largest
    assert "2 / sharpness" in finding.advice and "lower your learning rate" in finding.advice
    measured = monitor.history["model"]["sharpness"]
    assert len(measured) == 6 and np.isnan(measured[1::2]).all()
    assert np.allclose(measured[0::2], largest, rtol=0.02)  # a quadratic: constant curvature
    assert "unstable_lr" in monitor.summary() and "2 / sharpness" in monitor.summary()


def test_unstable_lr_stays_quiet_below_two_over_sharpness():
    monitor, _, _ = regression(lr_factor=0.8)
    assert unstable_lr(monitor) == []
    assert "sharpness (largest Hessian eigenvalue)" in monitor.summary()


def test_momentum_widens_the_limit_to_two_plus_two_beta():
    # 1.2 x 2/λ overshoots plain descent but not heavy ball with β = 0.9 (limit 3.8/λ)
    monitor, _, _ = regression(lr_factor=1.2, momentum=0.9)
    assert unstable_lr(monitor) == []


def test_the_monitor_without_sharpness_every_measures_no_curvature():
    model = nn.Sequential(nn.Linear(3, 1))
    model(tg.Tensor(np.ones((2, 3), np.float32))).sum().backward()
    monitor = HealthMonitor(model)
    monitor.step()
    assert "model" not in monitor.history and monitor.findings == []


def test_the_sharpness_forward_leaves_the_dead_relu_counts_alone():
    """Same training with and without sharpness_every: the same dead fractions per step."""

    def dead_fractions(every):
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
        rng = np.random.default_rng(0)
        X = tg.Tensor(rng.standard_normal((32, 4)).astype(np.float32))
        y = tg.Tensor(rng.integers(0, 2, 32))
        other = tg.Tensor(rng.standard_normal((32, 4)).astype(np.float32) * 5)
        optimizer = optim.SGD(model.parameters(), lr=0.5)
        watch = {} if every is None else {
            "sharpness_every": every,
            "loss_fn": lambda: F.cross_entropy(model(other), y),  # other inputs, other units
            "optimizer": optimizer,
        }
        monitor = HealthMonitor(model, **watch)
        for _ in range(4):
            optimizer.zero_grad()
            F.cross_entropy(model(X), y).backward()
            monitor.step()
            optimizer.step()
        return monitor.history["1"]["dead_fraction"]

    assert dead_fractions(1) == dead_fractions(None)


@pytest.mark.parametrize(
    "watch, error, words",
    [
        ({"sharpness_every": 0}, ValueError, "sharpness_every must be"),
        ({"sharpness_every": 5, "optimizer": "sgd"}, TypeError, "needs loss_fn"),
        ({"sharpness_every": 5, "loss_fn": lambda: None}, TypeError, "optim.SGD"),
        ({"loss_fn": lambda: None}, TypeError, "used with sharpness_every"),
    ],
)
def test_sharpness_every_names_what_is_missing(watch, error, words):
    model = nn.Sequential(nn.Linear(3, 1))
    with pytest.raises(error, match=words):
        HealthMonitor(model, **watch)


def test_sharpness_every_refuses_adam_and_nesterov():
    model = nn.Sequential(nn.Linear(3, 1))
    params = list(model.parameters())
    with pytest.raises(TypeError, match="got Adam"):
        HealthMonitor(model, sharpness_every=1, loss_fn=lambda: None, optimizer=optim.Adam(params))
    nesterov = optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov"):
        HealthMonitor(model, sharpness_every=1, loss_fn=lambda: None, optimizer=nesterov)


# ---------------------------------------------------------------- the lab



def gradient_descent_on_a_quadratic(eigenvalues, lr, steps, seed=0):
    """The losses of plain GD on ½ xᵀAx (A = diag(eigenvalues)) from a random start."""
    rng = np.random.default_rng(seed)
    x, curvatures = rng.standard_normal(len(eigenvalues)), np.asarray(eigenvalues)
    losses = []
    for _ in range(steps):
        losses.append(0.5 * float(x @ (curvatures * x)))
        x = x - lr * curvatures * x
    return losses, curvatures


@pytest.mark.parametrize("lr", [0.05, 0.15, 0.199, 0.21, 0.3, 0.5])
def test_the_page_s_quadratic_rules_hold_on_a_quadratic(lr):
    """The rules docs/failure-cases/sharpness.md states: below 2/λ_max every step lowers the
    loss; one step raises it exactly when lr > 2/λ_g = 2·gᵀg/gᵀHg; above 2/λ_max it grows."""
    eigenvalues = [10.0, 4.0, 1.0, 0.1]
    losses, curvatures = gradient_descent_on_a_quadratic(eigenvalues, lr, 200)
    rng = np.random.default_rng(0)
    start = rng.standard_normal(len(eigenvalues))
    g = curvatures * start
    along_gradient = float(g @ (curvatures * g) / (g @ g))
    assert along_gradient < max(eigenvalues)
    assert (losses[1] > losses[0]) == (lr > 2 / along_gradient)
    if lr < 2 / max(eigenvalues):
        assert all(b < a for a, b in zip(losses, losses[1:]))
    else:
        assert losses[-1] > losses[0]


def test_the_lab_from_the_cli_reports_its_three_checks(capsys):
    from tinygrad_edu.experiments import sharpness as case

    assert main(["experiment", "sharpness", "--json", "--quick"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["experiment"] == "sharpness"
    summary, runs = result["summary"], result["runs"]
    initial = summary["initial_sharpness"]
    assert summary["predicted_threshold_lr"] == pytest.approx(2 / initial)
    assert [run["metrics"]["lr_factor"] for run in runs] == list(case.FACTORS)
    for run in runs:
        factor = run["metrics"]["lr_factor"]
        assert run["metrics"]["lr"] == pytest.approx(factor * 2 / initial)
        assert run["series"]["step_sharpness"][0] == pytest.approx(initial, rel=1e-6)
        # At step 0 the weights are the initial ones: the monitor flags exactly the rates
        # above the prediction (later, λ_max moves: any run may be flagged then).
        at_start = [f for f in run["findings"] if f["kind"] == "unstable_lr" and f["step"] == 0]
        assert bool(at_start) == (factor > 1)
    _check_one_step(summary, runs)
    _check_every_step(summary, runs)
    _check_divergence(summary, runs, case)
    # The page quotes the full run; λ₀, the one-step check and which rates diverge are the
    # same in this quick one, so those verdicts are the page's word for word.
    page = (Path(__file__).resolve().parent.parent / "docs/failure-cases/sharpness.md").read_text()
    assert f"λ₀ = {initial:.3f}" in page and f"2/λ₀ = {2 / initial:.3g}" in page
    assert summary["verdicts"]["one_step"] in page
    assert summary["verdicts"]["divergence"] in page


def _check_one_step(summary, runs):
    """λ_g from one Hessian-vector product; the quadratic model agrees with the measured
    change for a small step (second order), and the rise threshold sits where the scan
    changes sign."""
    squared, curvature = summary["squared_gradient"], summary["gradient_hessian_gradient"]
    assert summary["gradient_curvature"] == pytest.approx(curvature / squared)
    assert summary["model_threshold_lr"] == pytest.approx(2 * squared / curvature)
    assert summary["gradient_curvature"] <= summary["initial_sharpness"] * 1.01
    scan = summary["scan"]
    small_measured, small_model = scan["scan_change"][0], scan["scan_model_change"][0]
    assert small_measured < 0 and small_model == pytest.approx(small_measured, rel=0.05)
    rise = summary["rise_threshold_lr"] / summary["predicted_threshold_lr"]
    for factor, change in zip(scan["scan_lr_factors"], scan["scan_change"]):
        if factor < rise:
            assert change <= 0
    assert any(c > 0 for f, c in zip(scan["scan_lr_factors"], scan["scan_change"]) if f >= rise)
    agree = sum(
        (run["series"]["step_loss"][1] > run["series"]["step_loss"][0])
        == (run["metrics"]["lr"] > summary["model_threshold_lr"])
        for run in runs
    )
    assert summary["first_step_signs_agree"] == agree
    ratio = summary["rise_threshold_lr"] / summary["model_threshold_lr"]
    assert summary["one_step_matches"] == (1 / 1.25 <= ratio <= 1.25)


def _check_every_step(summary, runs):
    """Recount, from the series: the rises, and those at steps measured with lr <= 2/λ_max."""
    rising = stable_rises = stable = 0
    for run in runs:
        lr, losses = run["metrics"]["lr"], run["series"]["step_loss"]
        measured = run["series"]["step_sharpness"]
        for t in range(len(losses) - 1):
            if losses[t] is None or losses[t + 1] is None:
                continue
            unstable = measured[t] is not None and measured[t] * lr / 2 > 1
            rising += losses[t + 1] > losses[t]
            stable += not unstable
            stable_rises += losses[t + 1] > losses[t] and not unstable
    assert summary["rising_steps"] == rising and rising > 0
    assert summary["stable_steps"] == stable and stable > 0
    assert summary["rises_while_stable"] == stable_rises
    assert summary["no_rise_while_stable"] == (stable_rises == 0)
    assert ("'no rise while lr < 2/λ_max' holds" in summary["verdict"]) == (stable_rises == 0)


def _check_divergence(summary, runs, case):
    diverged = [r["metrics"]["lr_factor"] for r in runs if case.diverged(r)]
    assert summary["diverged_lr_factors"] == diverged
    below = [run for run in runs if run["metrics"]["lr_factor"] < 1]
    assert all(run["metrics"]["nan_step"] is None for run in below)
    survived = summary["survived_lr_factors"]
    assert sorted(survived + diverged) == sorted(case.FACTORS)
    first = min(diverged, default=None)
    fits = (
        first is not None
        and first <= case.MATCH_FACTOR
        and max(f for f in survived if f < first) >= 1 / case.MATCH_FACTOR
        and all(f < first for f in survived)
    )
    assert summary["matches"] == fits
    assert ("does NOT match within a factor" in summary["verdict"]) == (not fits)


@pytest.mark.parametrize(
    "survived, first_diverged, matches",
    [
        ([0.5, 1.5], 2.0, True),
        ([0.5, 1.5], 3.0, False),  # the threshold may lie anywhere in (1.5, 3]
        ([0.25], 0.9, False),  # ... or in (0.25, 0.9]
        ([0.5, 3.0], 1.1, False),  # a higher rate survived: no clean threshold
    ],
)
def test_the_match_needs_the_threshold_pinned_inside_the_factor(survived, first_diverged, matches):
    from tinygrad_edu.experiments.sharpness import threshold_within

    assert threshold_within(survived, first_diverged, 2.0) == matches


def fake_run(factor, losses, sharpness):
    """A run as run_case returns it, with given per-step losses and λ_max (λ₀ = 1)."""
    return {
        "label": f"lr {factor}",
        "role": "sweep",
        "findings": [],
        "metrics": {"final_loss": losses[-1], "lr_factor": factor, "lr": 2.0 * factor,
                    "initial_sharpness": 1.0, "train_accuracy": 0.5, "test_accuracy": 0.5},
        "series": {"step_loss": losses, "step_sharpness": sharpness},
    }


def test_the_lab_table_prints_its_verdicts_and_a_rise_while_stable_is_a_miss():
    from tinygrad_edu.experiments import sharpness as case
    from tinygrad_edu.experiments.report import format_outcome

    runs = [
        fake_run(0.5, [1.0, 0.9, 0.95, 0.8], [1.0, 1.0, 1.0, 1.0]),  # rises at step 1: lr·λ/2 = 0.5
        fake_run(1.5, [1.0, 0.9, 1.2, 0.7], [1.0, 1.0, 1.0, 1.0]),  # rises at 1 with lr·λ/2 = 1.5
        fake_run(2.0, [1.0, 2.0, None, None], [1.0, 3.0, None, None]),
    ]
    summary = case.summary(runs)
    assert summary["matches"] and summary["diverged_lr_factors"] == [2.0]
    assert summary["rising_steps"] == 3 and summary["rises_while_stable"] == 1
    assert not summary["no_rise_while_stable"]
    text = format_outcome({"experiment": "sharpness", "runs": runs, "summary": summary})
    assert "matches within a factor of 2" in text
    assert "does NOT hold (0.5 x at steps 1)" in text
    assert "first step with lr > 2/λ_max / first rise, per run: 0.5 x -/1, 1.5 x 0/1" in text
