"""The MLP training-step benchmark: one step of the same model in every library, interleaved.

A 784-256-128-10 MLP with ReLU, softmax cross-entropy and SGD (lr 0.01) in float32,
from the same initial weights and the same random batch, written the way each
library's users write it. Read numpy_mlp.py for the hand-written baseline and
overhead.py for the per-op costs that explain the small-batch numbers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .numpy_mlp import NumpyMLP
from .timing import time_interleaved

LAYER_SIZES = (784, 256, 128, 10)
LEARNING_RATE = 0.01
# The variant every ratio is taken of, and the ones it is compared against.
SUBJECT = "tinygrad_edu"
REFERENCES = ("numpy", "torch")
TARGET_RATIO = 0.8  # target: a step takes <= 0.8x the time of NumPy and of PyTorch


@dataclass
class Problem:
    """Initial weights ((out, in) weight, (out,) bias per layer, PyTorch's layout) and one batch."""

    layers: list[tuple[np.ndarray, np.ndarray]]
    x: np.ndarray  # (batch, 784) float32
    target: np.ndarray  # (batch,) int64 class indices

    @property
    def sizes(self) -> tuple[int, ...]:
        """The layer widths, input first: (784, 256, 128, 10) for the benchmark model."""
        return tuple(weight.shape[1] for weight, _ in self.layers) + (self.layers[-1][0].shape[0],)


def make_problem(batch: int, seed: int = 0, sizes: tuple[int, ...] = LAYER_SIZES) -> Problem:
    """Random float32 data and PyTorch-style initial weights, U(-1/√in, 1/√in), from `seed`."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        weight = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        bias = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        layers.append((weight, bias))
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    target = rng.integers(0, sizes[-1], batch).astype(np.int64)
    return Problem(layers, x, target)


# ---------------------------------------------------------------- one step per library
# Each builder returns a function that runs one training step and returns the loss
# before the update, as a float (every library's users log it, so each pays for it).


def tinygrad_edu_step(problem: Problem) -> Callable[[], float]:
    """nn.Sequential + optim.SGD, the loop as users write it."""
    import tinygrad_edu as tg
    import tinygrad_edu.nn.functional as F
    from tinygrad_edu import nn, optim

    model = _sequential(nn, problem.sizes)
    model.load_state_dict(_state_dict(problem))
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)
    x, target = tg.Tensor(problem.x), tg.Tensor(problem.target)
    return _training_step(model, optimizer, F.cross_entropy, x, target)


def torch_step(problem: Problem) -> Callable[[], float]:
    """torch.nn.Sequential + torch.optim.SGD, the same loop."""
    import torch
    import torch.nn.functional as F

    model = _sequential(torch.nn, problem.sizes)
    model.load_state_dict(
        {name: torch.from_numpy(array) for name, array in _state_dict(problem).items()}
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    x, target = torch.from_numpy(problem.x), torch.from_numpy(problem.target)
    return _training_step(model, optimizer, F.cross_entropy, x, target)


def _training_step(model, optimizer, cross_entropy, x, target) -> Callable[[], float]:
    """The loop tinygrad_edu's and torch's users write alike (their APIs agree name for name)."""

    def step() -> float:
        optimizer.zero_grad()
        loss = cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def numpy_step(problem: Problem) -> Callable[[], float]:
    """The hand-written forward/backward/update of numpy_mlp.py."""
    mlp = NumpyMLP(problem.layers, LEARNING_RATE)
    return lambda: mlp.step(problem.x, problem.target)


def autograd_step(problem: Problem) -> Callable[[], float]:
    """HIPS autograd: the loss as a function of the parameters, value_and_grad, plain SGD."""
    import autograd
    import autograd.numpy as anp

    def loss_of(layers, x, target):
        h = x
        for index, (weight, bias) in enumerate(layers):
            h = anp.dot(h, weight.T) + bias
            if index < len(layers) - 1:
                h = anp.maximum(h, 0.0)
        shifted = h - anp.max(h, axis=1, keepdims=True)
        log_probs = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
        return -anp.mean(log_probs[np.arange(len(target)), target])

    value_and_grad = autograd.value_and_grad(loss_of)
    layers = [(weight.copy(), bias.copy()) for weight, bias in problem.layers]

    def step() -> float:
        loss, grads = value_and_grad(layers, problem.x, problem.target)
        for (weight, bias), (grad_weight, grad_bias) in zip(layers, grads):
            weight -= np.float32(LEARNING_RATE) * grad_weight
            bias -= np.float32(LEARNING_RATE) * grad_bias
        return float(loss)

    return step


def mygrad_step(problem: Problem) -> Callable[[], float]:
    """MyGrad: Tensors with backward(), its softmax_crossentropy, plain SGD on the arrays."""
    import mygrad as mg
    from mygrad.nnet.activations import relu
    from mygrad.nnet.losses import softmax_crossentropy

    layers = [(mg.Tensor(weight.copy()), mg.Tensor(bias.copy())) for weight, bias in problem.layers]

    def step() -> float:
        h = problem.x
        for index, (weight, bias) in enumerate(layers):
            h = mg.matmul(h, weight.T) + bias
            if index < len(layers) - 1:
                h = relu(h)
        loss = softmax_crossentropy(h, problem.target)
        loss.backward()
        with mg.no_autodiff:
            for weight, bias in layers:
                weight.data -= np.float32(LEARNING_RATE) * weight.grad
                bias.data -= np.float32(LEARNING_RATE) * bias.grad
        return loss.item()

    return step


# Name -> (builder, the module it needs). Optional ones are skipped with a note when absent.
VARIANTS: dict[str, tuple[Callable[[Problem], Callable[[], float]], str]] = {
    "tinygrad_edu": (tinygrad_edu_step, "tinygrad_edu"),
    "numpy": (numpy_step, "numpy"),
    "torch": (torch_step, "torch"),
    "autograd": (autograd_step, "autograd"),
    "mygrad": (mygrad_step, "mygrad"),
}


def _sequential(nn, sizes: tuple[int, ...]):
    """The benchmark model from a library's nn module (tinygrad_edu's and torch's agree)."""
    modules = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        modules.append(nn.Linear(fan_in, fan_out))
        if index < len(sizes) - 2:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


def _state_dict(problem: Problem) -> dict[str, np.ndarray]:
    """Sequential's keys: Linear layers sit at indices 0, 2, 4 (ReLUs between them)."""
    state = {}
    for index, (weight, bias) in enumerate(problem.layers):
        state[f"{2 * index}.weight"], state[f"{2 * index}.bias"] = weight.copy(), bias.copy()
    return state


def missing_library_note(module: str) -> str | None:
    """None when `module` is installed, else the note saying it was skipped and how to add it."""
    if importlib.util.find_spec(module) is not None:
        return None
    return f"{module} is not installed (pip install {module}); skipped"


def available_variants(names=None) -> tuple[list[str], dict[str, str]]:
    """The variants whose library is installed, and a note for each one skipped."""
    available, skipped = [], {}
    for name in names or VARIANTS:
        note = missing_library_note(VARIANTS[name][1])
        if note is None:
            available.append(name)
        else:
            skipped[name] = note
    return available, skipped


# ---------------------------------------------------------------- threads


@contextlib.contextmanager
def thread_count(threads: int, notes: list[str]) -> Iterator[None]:
    """Inside the block every library uses `threads` threads; the previous counts come back after.

    tinygrad_edu's C kernels through set_num_threads, NumPy's OpenBLAS through
    threadpoolctl (it cannot be changed otherwise once loaded), PyTorch through
    torch.set_num_threads. A library that cannot be limited is named in `notes`.
    """
    import tinygrad_edu as tg

    previous_tg = tg.get_num_threads()
    torch = sys.modules.get("torch")
    previous_torch = torch.get_num_threads() if torch is not None else None
    with contextlib.ExitStack() as stack:
        tg.set_num_threads(threads)
        stack.callback(tg.set_num_threads, previous_tg)
        if torch is not None:
            torch.set_num_threads(threads)
            stack.callback(torch.set_num_threads, previous_torch)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            note = (
                "threadpoolctl is not installed: NumPy's BLAS ran with its default "
                "thread count (pip install threadpoolctl)"
            )
            if note not in notes:
                notes.append(note)
        else:
            stack.enter_context(threadpool_limits(limits=threads, user_api="blas"))
        yield


# ---------------------------------------------------------------- the benchmark


def run(
    batches=(32, 128),
    threads=(1, 2),
    variants=None,
    repeats: int = 15,
    min_sample_seconds: float = 0.05,
    settle_seconds: float = 0.15,
) -> dict:
    """Time every available variant at each batch size and thread count (1 thread first).

    Returns {"rows": [...], "skipped": {variant: note}, "notes": [...]}; each row holds
    the batch, the threads, each variant's Timing as a dict, and the same-run ratios
    tinygrad_edu/numpy and tinygrad_edu/torch (of CPU times too, on 1 thread). With more than one thread each sample
    starts after settle_seconds of sleep, so no other library's pool is still spinning.
    """
    names, skipped = available_variants(variants)
    notes: list[str] = []
    rows = []
    for thread in sorted(threads):
        for batch in batches:
            problem = make_problem(batch)
            steps = {name: VARIANTS[name][0](problem) for name in names}
            with thread_count(thread, notes):
                settle = settle_seconds if thread > 1 else 0.0
                timings = time_interleaved(
                    steps, repeats, min_sample_seconds, settle_seconds=settle
                )
            row = {
                "batch": batch,
                "threads": thread,
                "times": {name: timing.to_dict() for name, timing in timings.items()},
                "ratios": ratios(timings),
            }
            if thread == 1:  # with threads, CPU time adds up the threads: not a step's time
                row["cpu_ratios"] = ratios(timings, cpu=True)
            rows.append(row)
    return {"rows": rows, "skipped": skipped, "notes": notes, "target_ratio": TARGET_RATIO}


def ratios(timings: dict, cpu: bool = False) -> dict[str, float]:
    """Same-run ratios subject/reference of the wall-clock (or CPU-time) medians."""
    if SUBJECT not in timings:
        return {}
    seconds = {name: t.cpu_median if cpu else t.median for name, t in timings.items()}
    return {
        f"{SUBJECT}/{reference}": seconds[SUBJECT] / seconds[reference]
        for reference in REFERENCES
        if reference in seconds
    }


def first_losses(batch: int, steps: int = 3, variants=None) -> dict[str, list[float]]:
    """Each available variant's loss on its first `steps` steps from the same start.

    Equal losses (to float32 rounding) mean the variants compute the same forward,
    the same gradients and the same update, so their times are comparable.
    """
    problem = make_problem(batch)
    names, _ = available_variants(variants)
    losses = {}
    for name in names:
        step = VARIANTS[name][0](problem)
        losses[name] = [step() for _ in range(steps)]
    return losses
