"""detect_anomaly: stop at the first op whose forward output or backward gradient is NaN/Inf.

While it is active, an observer installed in tensor.py sees every op's forward output and
every node's input gradients; the first non-finite one raises FloatingPointError naming the
op (as grad_fn shows it), the phase, the shape, and the line of user code that created the
op. It costs a stack walk per op, so use it to debug, not to train. Read monitor.py next.
"""

from __future__ import annotations

import functools
import linecache
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .. import tensor

_PACKAGE = Path(__file__).resolve().parent.parent
# Code in these places is "user code" even though it ships in the package: it builds models.
_USER_CODE_IN_PACKAGE = (_PACKAGE / "experiments", _PACKAGE / "__main__.py")


@contextmanager
def detect_anomaly():
    """Within the block, the first NaN/Inf made by an op raises FloatingPointError.

    Nests with other observers (an outer detect_anomaly or a viz trace): the previous
    observer keeps seeing every op and is restored on exit.
    """
    previous = tensor.op_observer
    tensor.set_op_observer(AnomalyObserver(previous))
    try:
        yield
    finally:
        tensor.set_op_observer(previous)


class AnomalyObserver:
    """Checks each op's results; remembers where each op was created, for the backward message."""

    def __init__(self, inner=None):
        self.inner = inner

    def after_forward(self, fn, out: np.ndarray) -> None:
        origin = _user_code_location()
        fn.anomaly_origin = origin  # read back if this node's backward goes wrong
        if _is_float(out) and not np.isfinite(out).all():
            raise FloatingPointError(
                f"{fn.name} produced {_what(out)} in forward (output shape {out.shape}); "
                f"the op was created at {origin}{_blame_inputs(fn)}"
            )
        if self.inner is not None:
            self.inner.after_forward(fn, out)

    def after_backward(self, fn, input_grads: tuple) -> None:
        for index, grad in enumerate(input_grads):
            if grad is not None and _is_float(grad) and not np.isfinite(grad).all():
                origin = getattr(
                    fn, "anomaly_origin", "an unknown place (built outside detect_anomaly)"
                )
                raise FloatingPointError(
                    f"{fn.name} produced {_what(grad)} in backward (gradient for input {index}, "
                    f"shape {grad.shape}); the op was created at {origin}"
                )
        if self.inner is not None:
            self.inner.after_backward(fn, input_grads)


def _blame_inputs(fn) -> str:
    """A hint when the op only passed on a NaN/Inf it was given (recorded inputs only)."""
    for index, given in enumerate(fn.input_tensors()):
        if given is not None and _is_float(given.data) and not np.isfinite(given.data).all():
            return (
                f"; but its input {index} already held {_what(given.data)}: "
                "check the data or the parameters"
            )
    return ""


def _is_float(array) -> bool:
    return isinstance(array, np.ndarray) and array.dtype.kind == "f"


def _what(array: np.ndarray) -> str:
    return "nan" if np.isnan(array).any() else "inf"


def _user_code_location() -> str:
    """`file:line in function: source` of the innermost frame outside the library itself."""
    frame = sys._getframe(1)
    while frame is not None and _is_library(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return "an unknown place"
    filename, line = frame.f_code.co_filename, frame.f_lineno
    source = linecache.getline(filename, line).strip()
    return f"{filename}:{line} in {frame.f_code.co_name}: `{source}`"


@functools.cache
def _is_library(filename: str) -> bool:
    """True for tinygrad_edu's own files (except experiments/ and the CLI, which are users)."""
    path = Path(filename)
    if not path.is_relative_to(_PACKAGE):
        return False
    return not any(path == user or path.is_relative_to(user) for user in _USER_CODE_IN_PACKAGE)
