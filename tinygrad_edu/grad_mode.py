"""Grad mode: whether ops record the graph. `no_grad` turns recording off.

Read by engine.apply on every op, so it is one flag; per thread, as PyTorch's,
so an evaluation thread's no_grad does not stop another thread's training.
"""

import functools
import threading


class _State(threading.local):
    enabled = True  # the class attribute is each new thread's starting value


state = _State()


def is_grad_enabled() -> bool:
    """True when ops record the graph for backward (in this thread)."""
    return state.enabled


class _GradMode:
    """Context manager and decorator that sets grad mode and restores it on exit."""

    mode = True

    def __new__(cls, func=None):
        # `@no_grad` without parentheses hands the function straight to the class.
        instance = super().__new__(cls)
        return instance if func is None else instance(func)

    def __enter__(self):
        self.previous = state.enabled
        state.enabled = self.mode

    def __exit__(self, *exc_info):
        state.enabled = self.previous

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """`with tg.no_grad():` (or `@tg.no_grad()`): record no graph inside."""

    mode = False


class enable_grad(_GradMode):
    """`with tg.enable_grad():`: record the graph again inside a no_grad block."""

    mode = True
