"""HealthMonitor: per-layer gradient norms, update sizes, dead ReLUs, saturation and NaN/Inf.

Call `monitor.step()` after each backward. Layers with parameters (Linear, BatchNorm1d...)
report their gradient norm, the size of the last update relative to their weights and any
non-finite value; ReLU modules report their dead units (marked by the C ReLU kernel in its
own forward pass) and Sigmoid/Tanh modules their saturation (seen through forward hooks);
optionally, every N steps, the loss's sharpness against the learning rate (curvature.py).
Crossing a threshold makes a Finding. Read ../train.py to see it used in the training loop.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..nn import ReLU, Sigmoid, Tanh
from ..nn.module import Module
from ..optim import SGD
from .curvature import sharpness
from .findings import ADVICE, Finding


@dataclass
class Thresholds:
    """When a measurement becomes a finding. Every number can be changed per monitor.

    - vanishing: a layer's gradient norm is below `vanishing_norm`, or below
      `vanishing_ratio` times the largest layer gradient norm of the same step (the
      lower layers of a deep sigmoid net get 1e-4 of the top layer's gradient and less);
    - exploding: a gradient norm above `exploding_norm`, or one update that moves a
      layer's weights by more than `exploding_update_ratio` times their own norm
      (healthy training moves them by about 1e-3 of their norm per step);
    - dead_relu: at least `dead_fraction` of a ReLU layer's units output 0 for every
      example of the batch;
    - saturation (recorded, shown in summary, not a finding kind): the fraction of
      Sigmoid/Tanh outputs within `saturation_margin` of their asymptotes;
    - `episode_gap`: steps a condition must stay away before it counts as a new episode.
    """

    vanishing_norm: float = 1e-7
    vanishing_ratio: float = 1e-3
    exploding_norm: float = 1e3
    exploding_update_ratio: float = 1.0
    dead_fraction: float = 0.5
    saturation_margin: float = 0.01
    episode_gap: int = 20


class HealthMonitor:
    """Watches `model` while it trains; `findings` lists what went wrong, in the lesson's terms.

    Findings rule (so they do not flood): one Finding per episode of a (kind, layer) pair.
    An episode starts at the first step() where the condition holds and lasts until the
    condition has been absent for `episode_gap` steps in a row; only a relapse after that
    starts a new episode and a new Finding (a value hovering at a threshold makes one).

    history: {layer name: {metric: [one value per step()]}}, NaN where not measured.
    Metrics: grad_norm, update_ratio, nonfinite (parameter layers); dead_fraction (ReLU);
    saturation (Sigmoid, Tanh). Activations are watched on nn.ReLU, nn.Sigmoid and nn.Tanh
    modules (a model calling F.relu in its forward has none to watch): each nn.ReLU's kernel
    marks its alive units in the pass that computes it, Sigmoid/Tanh through forward hooks.
    Cost per step: a few dot products and one copy per parameter; remove() stops watching.

    Curvature (off by default): with `sharpness_every=N`, `loss_fn` (no arguments, returns
    the loss, e.g. on a fixed batch or the whole training set) and the `optimizer` (SGD,
    whose learning rate is read at each measurement, so schedulers count), every N-th
    step() records history["model"]["sharpness"] (NaN between measurements) and reports
    `unstable_lr` (value: the sharpness) while the rate is above what it allows
    (`CurvatureCheck.unstable`). One measurement costs one forward pass and up to 2x`iters`
    Hessian-vector products; the activation statistics do not see its forward pass.
    """

    def __init__(
        self,
        model: Module,
        thresholds: Thresholds | None = None,
        *,
        sharpness_every: int | None = None,
        loss_fn=None,
        optimizer=None,
        **overrides,
    ):
        if not isinstance(model, Module):
            raise TypeError(
                f"HealthMonitor: model must be an nn.Module, got {type(model).__name__}"
            )
        self.thresholds = thresholds or Thresholds()
        for name, value in overrides.items():
            if not hasattr(self.thresholds, name):
                raise TypeError(f"HealthMonitor: unknown threshold {name!r}")
            setattr(self.thresholds, name, value)
        self.model = model
        self.steps = 0
        self.findings: list[Finding] = []
        self.history: dict[str, dict[str, list[float]]] = {}
        self._last_held: dict[tuple[str, str], int] = {}  # (kind, layer) -> last step it held
        self._param_layers = _parameter_layers(model)
        self._previous_weights = {name: None for name, _, _ in self._param_layers}
        self._activations = {}  # layer name -> ActivationStats
        self._hooks = []
        for name, module in model.named_modules():
            if isinstance(module, (ReLU, Sigmoid, Tanh)):
                stats = ActivationStats(module, self.thresholds.saturation_margin)
                self._activations[_layer_name(name)] = stats
                if not stats.is_relu:
                    self._hooks.append(module.register_forward_hook(stats.observe))
        if sharpness_every is None and (loss_fn is not None or optimizer is not None):
            raise TypeError("HealthMonitor: loss_fn and optimizer are used with sharpness_every=N")
        self._curvature = (
            None
            if sharpness_every is None
            else CurvatureCheck(sharpness_every, loss_fn, optimizer)
        )
        watched = dict(self._named_watched())
        self._layer_order = [
            _layer_name(n) for n, _ in model.named_modules() if _layer_name(n) in watched
        ]

    # ---------------------------------------------------------------- recording

    def step(self) -> list[Finding]:
        """Record this step's measurements; return the findings it started."""
        conditions = self._check_parameter_layers()  # (kind, layer) -> value, where it holds
        conditions.update(self._check_activations())
        conditions.update(self._check_curvature())  # after the activations: its forward is unseen
        gap = self.thresholds.episode_gap
        started = [
            self._start(kind, layer, value)
            for (kind, layer), value in conditions.items()
            if self.steps - self._last_held.get((kind, layer), -gap - 1) > gap
        ]
        self._last_held.update(dict.fromkeys(conditions, self.steps))
        self.findings.extend(started)
        self.steps += 1
        return started

    def _check_parameter_layers(self) -> dict:
        """Gradient norm, update ratio and NaN/Inf per layer: nan, exploding, vanishing."""
        conditions, grad_norms = {}, {}
        for name, _, params in self._param_layers:
            grad_norm, nonfinite = _gradient_norm(params)
            update_ratio = self._update_ratio(name, params)
            self._record(name, grad_norm=grad_norm, update_ratio=update_ratio, nonfinite=nonfinite)
            if nonfinite:
                conditions[("nan", name)] = nonfinite
            elif not math.isnan(grad_norm):
                grad_norms[name] = grad_norm
                if grad_norm > self.thresholds.exploding_norm:
                    conditions[("exploding_gradient", name)] = grad_norm
                elif update_ratio > self.thresholds.exploding_update_ratio:
                    conditions[("exploding_gradient", name)] = update_ratio
        conditions.update(self._vanishing(grad_norms))
        return conditions

    def _check_activations(self) -> dict:
        """Dead fraction per ReLU module (dead_relu), saturation per Sigmoid/Tanh (recorded)."""
        conditions = {}
        for name, stats in self._activations.items():
            dead, saturated = stats.take()
            if stats.is_relu:
                self._record(name, dead_fraction=dead)
            else:
                self._record(name, saturation=saturated)
            if dead >= self.thresholds.dead_fraction:
                conditions[("dead_relu", name)] = dead
        return conditions

    def _check_curvature(self) -> dict:
        """Every N steps: the sharpness (recorded) and whether the learning rate is too high.

        Between measurements the last verdict stands, so a rate that stays too high makes one
        unstable_lr episode (one Finding), however far apart the measurements are."""
        if self._curvature is None:
            return {}
        value = math.nan
        if self.steps % self._curvature.every == 0:
            with _activations_paused(self._activations.values()):
                value = self._curvature.measure(self.model.parameters())
        self._record("model", sharpness=value)
        unstable = self._curvature.unstable_value
        return {} if unstable is None else {("unstable_lr", "model"): unstable}

    def _vanishing(self, grad_norms: dict) -> dict:
        if not grad_norms:
            return {}
        largest = max(grad_norms.values())
        # An exactly zero gradient is a cut path (dead ReLUs upstream, an unused parameter),
        # not a vanishing one: dead_relu reports the cause.
        return {
            ("vanishing_gradient", name): norm
            for name, norm in grad_norms.items()
            if 0.0
            < norm
            < max(self.thresholds.vanishing_norm, self.thresholds.vanishing_ratio * largest)
        }

    def _update_ratio(self, name: str, params: list) -> float:
        """‖W_now - W_at_last_step‖ / ‖W_at_last_step‖: how far the optimizer moved the layer."""
        previous = self._previous_weights[name]
        if previous is None:
            self._previous_weights[name] = [p.data.copy() for p in params]
            return math.nan
        moved = before = 0.0
        with np.errstate(all="ignore"):
            for param, old in zip(params, previous):
                step = (param.data - old).ravel()
                moved += float(np.dot(step, step))
                before += float(np.dot(old.ravel(), old.ravel()))
                np.copyto(old, param.data)
        return math.sqrt(moved) / (math.sqrt(before) + 1e-12)

    def _record(self, layer: str, **metrics: float) -> None:
        series = self.history.setdefault(layer, {})
        for metric, value in metrics.items():
            series.setdefault(metric, [math.nan] * self.steps).append(float(value))

    def _start(self, kind: str, layer: str, value: float) -> Finding:
        return Finding(
            kind=kind, layer=layer, step=self.steps, value=float(value), advice=ADVICE[kind]
        )

    def remove(self) -> None:
        """Stop watching (detach the hooks, stop the ReLU counts); history and findings stay."""
        for handle in self._hooks:
            handle.remove()
        self._hooks = []
        for stats in self._activations.values():
            stats.stop()

    # ---------------------------------------------------------------- reporting

    def latest(self, layer: str, metric: str) -> float:
        """The last recorded value of `metric` for `layer` (NaN if never recorded)."""
        values = self.history.get(layer, {}).get(metric, [])
        return values[-1] if values else math.nan

    def summary(self) -> str:
        """A text table of the last step's measurements per layer, then the findings."""
        header = f"{'layer':<8} {'module':<12} {'grad norm':>10} {'update/w':>10} {'dead ReLU':>10} {'saturated':>10} {'non-finite':>10}"
        lines = [
            f"HealthMonitor: {self.steps} steps, {len(self.findings)} findings",
            header,
            "-" * len(header),
        ]
        modules = dict(self._named_watched())
        for layer in (name for name in self._layer_order if name in self.history):
            cells = [
                _format(self.latest(layer, "grad_norm"), "{:.2e}"),
                _format(self.latest(layer, "update_ratio"), "{:.2e}"),
                _format(self.latest(layer, "dead_fraction"), "{:.0%}"),
                _format(self.latest(layer, "saturation"), "{:.0%}"),
                _format(self.latest(layer, "nonfinite"), "{:.0f}"),
            ]
            lines.append(
                f"{layer:<8} {type(modules[layer]).__name__:<12} "
                + " ".join(f"{c:>10}" for c in cells)
            )
        measured = [v for v in self.history.get("model", {}).get("sharpness", []) if v == v]
        if measured:
            last = measured[-1]
            limit = f"{2 / last:.4g}" if last > 0 else "any lr (no positive curvature)"
            lines.append(
                f"sharpness (largest Hessian eigenvalue), last measured: {last:.4g}; "
                f"plain gradient descent is stable below lr = 2 / sharpness = {limit}"
            )
        lines.append(
            f"findings ({len(self.findings)}):"
            if self.findings
            else "findings: none, training looks healthy"
        )
        for kind in ADVICE:  # grouped by kind, the advice said once
            found = [f for f in self.findings if f.kind == kind]
            if found:
                where = ", ".join(
                    f"layer {f.layer} at step {f.step} ({f.value:.3g})" for f in found[:6]
                )
                more = f" and {len(found) - 6} more" if len(found) > 6 else ""
                lines += [f"  {kind}: {where}{more}", f"    -> {ADVICE[kind]}"]
        return "\n".join(lines)

    def _named_watched(self):
        yield from ((name, module) for name, module, _ in self._param_layers)
        yield from ((name, stats.module) for name, stats in self._activations.items())

    def plot(self, path: str) -> None:
        """Write a PNG: gradient norm, update/weight ratio and dead/saturated fraction per layer."""
        from ..viz import pyplot

        plt = pyplot()
        figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
        panels = [
            ("grad_norm", "gradient norm per layer", "log"),
            ("update_ratio", "update size / weight size", "log"),
            ("activation", "dead ReLU / saturated fraction", "linear"),
        ]
        modules = dict(self._named_watched())
        layers = [name for name in self._layer_order if name in self.history]
        for axis, (metric, title, scale) in zip(axes, panels):
            drawn = 0  # later lines are thinner and dashed, so one on top never hides another
            for layer in layers:
                for name in (
                    ("dead_fraction", "saturation") if metric == "activation" else (metric,)
                ):
                    if name in self.history[layer]:
                        label = f"{layer} {type(modules[layer]).__name__}"
                        if metric == "activation":
                            label += ", dead" if name == "dead_fraction" else ", saturated"
                        axis.plot(
                            self.history[layer][name],
                            label=label,
                            linewidth=max(2.6 - 0.4 * drawn, 0.9),
                            linestyle=("-", "--", "-.", ":")[drawn % 4],
                        )
                        drawn += 1
            axis.set_title(title)
            axis.set_xlabel("step")
            axis.set_yscale(scale)
            axis.grid(alpha=0.3)
        axes[2].set_ylim(-0.02, 1.02)
        for finding in self.findings:
            axes[0].axvline(finding.step, color="red", alpha=0.25, linewidth=1)
        axes[0].legend(fontsize=7, ncol=2)
        axes[2].legend(fontsize=7)
        found = f"{len(self.findings)} findings (red lines: where they started)"
        figure.suptitle(f"HealthMonitor: {found if self.findings else 'no findings, healthy'}")
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        plt.close(figure)


class CurvatureCheck:
    """The curvature rule for (momentum) SGD: unstable once lr_eff·(λ + wd) > 2·(1 + β).

    λ is the sharpness; plain gradient descent (β = momentum = 0, no weight decay wd, no
    dampening d) is unstable exactly when lr > 2/λ. Weight decay adds wd to every
    curvature, heavy-ball momentum widens the limit to 2(1 + β)/λ, dampening scales the
    step to lr_eff = lr·(1 − d). Adam and friends rescale each weight's step, so this rule
    says nothing about them, and Nesterov's limit differs: both are refused.
    """

    def __init__(self, every, loss_fn, optimizer):
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(
                f"HealthMonitor: sharpness_every must be a whole number >= 1, got {every!r}"
            )
        if not callable(loss_fn):
            raise TypeError(
                "HealthMonitor: sharpness_every needs loss_fn, a function of no arguments "
                "that returns the loss (e.g. lambda: F.cross_entropy(model(X), y))"
            )
        if not isinstance(optimizer, SGD):
            raise TypeError(
                "HealthMonitor: sharpness_every needs optimizer=, an optim.SGD: the 2/lr rule "
                f"holds for gradient descent, got {type(optimizer).__name__}"
            )
        if any(group["nesterov"] for group in optimizer.param_groups):
            raise ValueError("HealthMonitor: sharpness_every does not cover Nesterov momentum")
        self.every, self.loss_fn, self.optimizer = every, loss_fn, optimizer
        self.unstable_value = None  # the sharpness of the last measurement, if it was unstable

    def measure(self, params) -> float:
        value = sharpness(self.loss_fn, list(params))
        self.unstable_value = value if self.unstable(value) else None
        return value

    def unstable(self, value: float) -> bool:
        """True when some parameter group's step overshoots along the sharpest direction."""
        return any(
            group["lr"] * (1 - group["dampening"]) * (value + group["weight_decay"])
            > 2 * (1 + group["momentum"])
            for group in self.optimizer.param_groups
        )


@contextmanager
def _activations_paused(all_stats):
    """Within the block, forward passes leave no dead-ReLU or saturation counts behind."""
    all_stats = list(all_stats)
    counting = [stats.module.count_alive if stats.is_relu else None for stats in all_stats]
    for stats in all_stats:
        stats.paused = True
        if stats.is_relu:
            stats.module.count_alive = False
    try:
        yield
    finally:
        for stats, count_alive in zip(all_stats, counting):
            stats.paused = False
            if stats.is_relu:
                stats.module.count_alive = count_alive


class ActivationStats:
    """What one activation module did since the last `take()` (usually one batch).

    A ReLU: which units fired, from the kernel's own `alive` marks (nn.ReLU.count_alive).
    A Sigmoid or Tanh: how many outputs came within the margin of an asymptote (a hook).
    """

    def __init__(self, module: Module, saturation_margin: float):
        self.module, self.margin = module, saturation_margin
        self.is_relu = isinstance(module, ReLU)
        if self.is_relu:
            module.count_alive, module.alive = True, None
        self.saturated = self.seen = 0
        self.paused = False

    def observe(self, module: Module, inputs: tuple, output) -> None:
        if self.paused:
            return
        out = output.data
        low, high = (0.0, 1.0) if isinstance(module, Sigmoid) else (-1.0, 1.0)
        self.saturated += int(
            np.count_nonzero((out < low + self.margin) | (out > high - self.margin))
        )
        self.seen += out.size

    def take(self) -> tuple[float, float]:
        """(dead fraction, saturated fraction) since the last take, NaN if nothing was seen."""
        dead = math.nan
        if self.is_relu and self.module.alive is not None and self.module.alive.size:
            dead = 1.0 - float(np.count_nonzero(self.module.alive)) / self.module.alive.size
        if self.is_relu:
            self.module.alive = None  # the next forward starts a new count
        saturated = self.saturated / self.seen if self.seen else math.nan
        self.saturated, self.seen = 0, 0
        return dead, saturated

    def stop(self) -> None:
        if self.is_relu:
            self.module.count_alive, self.module.alive = False, None


@contextmanager
def count_alive_units(model: Module):
    """Within the block, each nn.ReLU of `model` marks its alive units (kernel pass); at the
    end the yielded dict maps layer name -> bool mask per unit: did it output > 0 for some
    example of some forward in the block. Each ReLU's count state is restored afterwards."""
    relus = {_layer_name(n): m for n, m in model.named_modules() if isinstance(m, ReLU)}
    before = {name: (m.count_alive, m.alive) for name, m in relus.items()}
    alive = {}
    for module in relus.values():
        module.count_alive, module.alive = True, None
    try:
        yield alive
    finally:
        for name, module in relus.items():
            if module.alive is not None:
                alive[name] = module.alive.astype(bool)
            module.count_alive, module.alive = before[name]


def _parameter_layers(model: Module) -> list:
    """(name, module, its own parameters) for each module that holds parameters itself."""
    layers = []
    for name, module in model.named_modules():
        params = list(module.parameters(recurse=False))
        if params:
            layers.append((_layer_name(name), module, params))
    return layers


def _layer_name(module_name: str) -> str:
    return module_name or "model"


def _gradient_norm(params: list) -> tuple[float, int]:
    """(‖all grads of the layer‖₂, number of non-finite grad or weight entries); NaN if no grad.

    Counting non-finite entries is only done when a norm says there are some: a sum of
    squares is finite exactly when every entry is (or a float32 square overflowed).
    """
    grads = [p.grad.data for p in params if p.grad is not None]
    with np.errstate(all="ignore"):
        squares = sum(float(np.dot(g.ravel(), g.ravel())) for g in grads)
        weights = sum(float(np.dot(p.data.ravel(), p.data.ravel())) for p in params)
    nonfinite = 0
    if not math.isfinite(squares) or not math.isfinite(weights):
        arrays = grads + [p.data for p in params]
        nonfinite = sum(int(np.count_nonzero(~np.isfinite(a))) for a in arrays)
        squares = sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads)
    return (math.sqrt(squares) if grads else math.nan), nonfinite


def _format(value: float, pattern: str) -> str:
    return "-" if math.isnan(value) else pattern.format(value)
