"""A Finding: one training failure seen in one layer, with the lesson's remedy as advice.

The kinds mirror the lesson: gradients vanish (ReLU helps), gradients explode (lower the
learning rate, batch norm, clip gradients), ReLU units die (lower the learning rate), NaN
appears (scale features, lower the learning rate), and the learning rate is above what the
loss's curvature allows (2 / sharpness: lower it below that). Read monitor.py next.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

ADVICE = {
    "vanishing_gradient": (
        "gradients vanish on the way down: ReLU helps (sigmoid's slope is at most 1/4 per "
        "layer); batch norm also keeps them alive"
    ),
    "exploding_gradient": (
        "gradients explode: lower the learning rate, add batch norm, or clip gradients"
    ),
    "dead_relu": (
        "ReLU units died (they output 0 for every example, so no gradient reaches them): "
        "lower the learning rate"
    ),
    "nan": (
        "NaN/Inf appeared (the NaN trap): scale features to roughly [-1, 1] (linear scaling, "
        "clip outliers, log scaling), lower the learning rate, clip gradients"
    ),
    "unstable_lr": (
        "the learning rate is above 2 / sharpness (the largest curvature of the loss), where "
        "gradient descent overshoots and can explode: learning rates are important here, "
        "keep calm and lower your learning rate below 2 / sharpness"
    ),
}


@dataclass(frozen=True)
class Finding:
    """`kind` happened in `layer` (a module name such as "0" or "fc1") at `step`.

    `value` is the measurement that crossed its threshold (a gradient norm, an update
    ratio, a dead fraction, the count of non-finite entries, or for unstable_lr, in layer
    "model", the sharpness); `advice` is the remedy.
    """

    kind: str
    layer: str
    step: int
    value: float
    advice: str

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"step {self.step}: {self.kind} in layer {self.layer} (value {self.value:.3g}): {self.advice}"
