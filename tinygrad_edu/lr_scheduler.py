"""Learning-rate schedules: change each param group's "lr" as training goes on.

A large rate early moves fast; a smaller one later settles into a minimum instead of
bouncing around it. Reached as `optim.lr_scheduler`, as in PyTorch; read optim.py first.
"""

from __future__ import annotations

from .optim import Optimizer


class StepLR:
    """Multiply every group's lr by `gamma` once every `step_size` epochs.

    lr(epoch) = initial_lr · gamma^⌊epoch / step_size⌋, applied one multiplication at a
    time as PyTorch does, so the rates match its floats. Call `step()` once per epoch,
    after the optimizer's steps.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an Optimizer, got {type(optimizer).__name__}")
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be a positive int, got {step_size!r}")
        if not gamma >= 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.optimizer = optimizer
        self.step_size = step_size
        self.gamma = gamma
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self) -> None:
        """Advance one epoch; at each multiple of step_size, lr ← lr · gamma."""
        self.last_epoch += 1
        if self.last_epoch % self.step_size == 0:
            for group in self.optimizer.param_groups:
                group["lr"] *= self.gamma
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rate of each param group after the last step (a list, as PyTorch)."""
        return list(self._last_lr)
