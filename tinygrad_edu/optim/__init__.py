"""Optimizers: how a gradient becomes a parameter update, and schedules for the step size.

optimizer.py holds what every rule shares (parameter groups, the in-place update, resumable
state); sgd.py, adam.py, rmsprop.py and adagrad.py are one rule each, PyTorch's, step for
step; lr_scheduler.py changes the rate as training goes on. Read optimizer.py, then sgd.py.
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
