"""No leaks: a training loop keeps its memory flat, and every graph is freed.

A leak of one activation per step is invisible in a single step and fatal in a
long run, so these tests run 1,000 steps and watch tracemalloc, the resident set
size and the number of live Tensors and graph nodes. Read test_autograd.py for
the engine-level freeing tests these build on.
"""

import gc
import os
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn, optim
from tinygrad_edu.function import Function

STEPS = 1_000
WARM_UP = 100  # optimizer state, work buffers and numpy's caches settle in these steps
SAMPLE_EVERY = 100
BATCH, FEATURES, HIDDEN, CLASSES = 128, 32, 128, 10
# One leaked (BATCH, HIDDEN) float32 activation per step would add 64 KiB x 900 = 56 MiB;
# the tolerances sit well below that and well above allocator noise.
TRACED_TOLERANCE = 2 * 2**20
RSS_TOLERANCE = 8 * 2**20

OPTIMIZERS = {
    "sgd_momentum": lambda params: optim.SGD(params, lr=0.01, momentum=0.9),
    "adam": lambda params: optim.Adam(params, lr=1e-3),
}


def make_mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(FEATURES, HIDDEN),
        nn.BatchNorm1d(HIDDEN),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(HIDDEN, CLASSES),
    )


def make_batch(seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    inputs = tg.Tensor(rng.standard_normal((BATCH, FEATURES)).astype(np.float32))
    targets = tg.Tensor(rng.integers(0, CLASSES, BATCH))
    return inputs, targets


def make_training_step(optimizer_name: str):
    """A closure that runs one full training step and returns the loss as a float."""
    tg.manual_seed(0)
    model = make_mlp()
    optimizer = OPTIMIZERS[optimizer_name](model.parameters())
    inputs, targets = make_batch()

    def step() -> float:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_and_sample(step, measure) -> tuple:
    """Run STEPS steps; return measure() after warm-up and its largest value after that."""
    losses = [step() for _ in range(WARM_UP)]
    gc.collect()
    baseline = highest = measure()
    for done in range(WARM_UP, STEPS):
        losses.append(step())
        if (done + 1) % SAMPLE_EVERY == 0:
            gc.collect()
            highest = max(highest, measure())
    assert np.isfinite(losses).all() and losses[-1] < losses[0]  # it really trained
    return baseline, highest


@pytest.mark.parametrize("optimizer_name", OPTIMIZERS)
def test_training_keeps_traced_memory_flat(optimizer_name):
    step = make_training_step(optimizer_name)
    tracemalloc.start()
    try:
        baseline, highest = run_and_sample(step, lambda: tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert highest - baseline < TRACED_TOLERANCE, (
        f"traced memory grew by {(highest - baseline) / 2**20:.2f} MiB over {STEPS - WARM_UP} steps"
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.skipif(
    "libasan" in os.environ.get("LD_PRELOAD", ""),
    reason="AddressSanitizer keeps freed memory in quarantine, so resident memory grows",
)
@pytest.mark.parametrize("optimizer_name", OPTIMIZERS)
def test_training_keeps_rss_flat(optimizer_name):
    step = make_training_step(optimizer_name)
    baseline, highest = run_and_sample(step, rss_bytes)
    assert highest - baseline < RSS_TOLERANCE, (
        f"RSS grew by {(highest - baseline) / 2**20:.2f} MiB over {STEPS - WARM_UP} steps"
    )


# ---- live objects ----------------------------------------------------------------------


def count_live(kind: type) -> int:
    gc.collect()
    # type(), not isinstance(): some objects (torch's) warn when their __class__ is read.
    return sum(issubclass(type(obj), kind) for obj in gc.get_objects())


def tensor_api_round_trip(x: tg.Tensor, w: tg.Tensor) -> None:
    """One forward/backward through a wide spread of the Tensor API."""
    h = (x @ w + 0.5).tanh() * x[:, :1] - x.mean(axis=0) / (x.abs() + 1.0)
    h = tg.where(h.data > 0, h, h * 0.1).clip(-3.0, 3.0)
    both = tg.cat([h, h.exp().log1p()], axis=1)[np.array([0, 2, 2, 5])]
    pooled = both.amax(axis=1) + both.max(dim=1).values + both.var(axis=1) + both.logsumexp(axis=1)
    probs = tg.stack([pooled, pooled.sigmoid()], axis=1).softmax(axis=1)
    loss = (probs.log_softmax(axis=1) * probs).sum() + tg.maximum(w, 0.0).T.reshape(-1).sum()
    loss.backward()


@pytest.mark.parametrize("kind", [tg.Tensor, Function])
def test_repeated_forward_backward_does_not_grow_live_objects(kind):
    rng = np.random.default_rng(1)
    x = tg.Tensor(rng.standard_normal((6, 4)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((4, 4)), requires_grad=True)
    tensor_api_round_trip(x, w)
    x.grad = w.grad = None
    baseline = count_live(kind)
    assert kind is Function or baseline >= 2  # the count sees x and w at least
    for _ in range(50):
        tensor_api_round_trip(x, w)
        x.grad = w.grad = None
    assert count_live(kind) == baseline


@pytest.mark.parametrize("kind", [tg.Tensor, Function])
def test_training_steps_do_not_grow_live_objects(kind):
    step = make_training_step("adam")
    for _ in range(3):  # the first step creates the optimizer's state
        step()
    baseline = count_live(kind)
    for _ in range(50):
        step()
    assert count_live(kind) == baseline


# ---- graphs of the nn stack are freed by reference counting alone ----------------------


def graph_nodes(output: tg.Tensor) -> list:
    """Every Function that `output` depends on."""
    found, stack = [], [output.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is not None and all(fn is not seen for seen in found):
            found.append(fn)
            stack.extend(parent for parent in fn.parents if isinstance(parent, Function))
    return found


@pytest.fixture
def gc_off():
    """Reference counting alone must free graphs: a reference cycle would keep them alive."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


@pytest.fixture
def mlp_loss():
    tg.manual_seed(0)
    model = make_mlp()
    inputs, targets = make_batch()

    def build():
        loss = F.cross_entropy(model(inputs), targets)
        nodes = graph_nodes(loss)
        assert len(nodes) >= 8  # Linear, BatchNorm's ops, ReLU, Dropout, Linear, loss
        return loss, [weakref.ref(node) for node in nodes]

    return build


def alive(refs: list) -> int:
    return sum(ref() is not None for ref in refs)


def test_an_mlp_graph_discarded_without_backward_is_freed(gc_off, mlp_loss):
    loss, nodes = mlp_loss()
    del loss
    assert alive(nodes) == 0


def test_an_mlp_graph_is_freed_by_backward_while_the_loss_lives(gc_off, mlp_loss):
    loss, nodes = mlp_loss()
    loss.backward()
    # Only the loss's own node stays (loss.grad_fn), emptied and cut from its inputs.
    assert alive(nodes) == 1
    assert loss.grad_fn.parents == () and loss.grad_fn.released


def test_a_retained_mlp_graph_is_freed_when_the_loss_goes_away(gc_off, mlp_loss):
    loss, nodes = mlp_loss()
    loss.backward(retain_graph=True)
    assert alive(nodes) == len(nodes)
    loss.backward()  # the retained graph still works, then is released
    loss, nodes = mlp_loss()
    loss.backward(retain_graph=True)
    del loss
    assert alive(nodes) == 0


def test_saved_arrays_are_freed_with_the_graph(gc_off):
    """The big buffers forward saves (activations) go with the graph, not just the nodes."""
    x = tg.Tensor(np.ones((256, 256)), requires_grad=True)
    loss = ((x @ x).relu() * 2.0).sum()
    saved = [
        weakref.ref(value)
        for node in graph_nodes(loss)
        for value in vars(node).values()
        if isinstance(value, np.ndarray) and value is not x.data
    ]
    assert saved  # forward saved the activations for backward
    loss.backward()
    assert alive(saved) == 0
