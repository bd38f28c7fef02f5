"""Threads: the C kernels release the GIL, so Python threads really run them at once;
results must not depend on that, nor on tg.set_num_threads(n), bit for bit.
Grad mode, like PyTorch's, belongs to the thread that sets it.
Read csrc/parallel.h for how a kernel splits its work between threads.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn, optim

PYTHON_THREADS = 4
ROUNDS = 3
# Large enough that the kernels split their work between two threads (relu takes 2^16
# elements per thread) and stay long enough outside the GIL for Python threads to
# overlap; small enough to stay fast.
ROWS, FEATURES, CLASSES = 521, 130, 263


def random_problem(seed: int, dtype=np.float32) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((ROWS, FEATURES)).astype(dtype),
        "weight": rng.standard_normal((CLASSES, FEATURES)).astype(dtype) * 0.05,
        "bias": rng.standard_normal(CLASSES).astype(dtype),
        "other": rng.standard_normal((FEATURES, CLASSES)).astype(dtype) * 0.05,
        "target": rng.integers(0, CLASSES, ROWS),
    }


def forward_backward(problem: dict) -> list:
    """matmul, linear, relu and cross_entropy forward and backward; every array they make."""
    x = tg.Tensor(problem["x"], requires_grad=True)
    weight = tg.Tensor(problem["weight"], requires_grad=True)
    bias = tg.Tensor(problem["bias"], requires_grad=True)
    other = tg.Tensor(problem["other"], requires_grad=True)
    hidden = F.linear(x, weight, bias).relu()
    logits = hidden + (x @ other).relu()
    loss = F.cross_entropy(logits, problem["target"])
    loss.backward()
    return [
        hidden.data,
        logits.data,
        loss.data,
        x.grad.data,
        weight.grad.data,
        bias.grad.data,
        other.grad.data,
    ]


def assert_bitwise_equal(got: list, expected: list) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def train_on_random_batch(model, optimizer, seed: int, rows: int, steps: int) -> list:
    """Train on one random batch of `rows` (from `seed`, 10 classes) for `steps`; the final state."""
    rng = np.random.default_rng(seed)
    inputs = tg.Tensor(rng.standard_normal((rows, model[0].in_features)).astype(np.float32))
    targets = rng.integers(0, 10, rows)
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(inputs), targets).backward()
        optimizer.step()
    return list(model.state_dict().values())


@pytest.fixture
def num_threads():
    """Restore the kernels' thread count after a test changes it."""
    saved = tg.get_num_threads()
    yield
    tg.set_num_threads(saved)


# ---- several Python threads at once -------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_python_threads_running_ops_at_once_match_serial_results(dtype):
    problems = [random_problem(seed, dtype) for seed in range(PYTHON_THREADS)]
    serial = [forward_backward(problem) for problem in problems]
    start = threading.Barrier(PYTHON_THREADS)

    def worker(index: int) -> list:
        start.wait()  # all threads enter the kernels together
        return [forward_backward(problems[index]) for _ in range(ROUNDS)]

    with ThreadPoolExecutor(PYTHON_THREADS) as pool:
        concurrent = list(pool.map(worker, range(PYTHON_THREADS)))
    for index in range(PYTHON_THREADS):
        for result in concurrent[index]:
            assert_bitwise_equal(result, serial[index])


def test_python_threads_training_separate_models_match_serial_training():
    def train(seed: int) -> list:
        model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
        model.load_state_dict(initial_states[seed])
        optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return train_on_random_batch(model, optimizer, seed=seed, rows=128, steps=10)

    initial_states = {}
    for seed in range(PYTHON_THREADS):
        tg.manual_seed(seed)
        initial_states[seed] = nn.Sequential(
            nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)
        ).state_dict()
    serial = [train(seed) for seed in range(PYTHON_THREADS)]
    with ThreadPoolExecutor(PYTHON_THREADS) as pool:
        concurrent = list(pool.map(train, range(PYTHON_THREADS)))
    for got, expected in zip(concurrent, serial):
        assert_bitwise_equal(got, expected)


def test_the_thread_count_is_shared_by_every_python_thread(num_threads):
    tg.set_num_threads(1)
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(tg.get_num_threads).result() == 1
    tg.set_num_threads(3)
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(tg.get_num_threads).result() == 3


# ---- set_num_threads --------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1, -(2**40), 1.5, 2.0, "2", None, True, False, [2]])
def test_set_num_threads_rejects_anything_but_a_positive_integer(bad, num_threads):
    before = tg.get_num_threads()
    with pytest.raises(ValueError, match="set_num_threads"):
        tg.set_num_threads(bad)
    assert tg.get_num_threads() == before


@pytest.mark.parametrize("n", [1, 2, 3, 8, np.int64(2)])
def test_set_num_threads_round_trips(n, num_threads):
    tg.set_num_threads(n)
    assert tg.get_num_threads() == n
    assert isinstance(tg.get_num_threads(), int)


def test_default_thread_count_is_at_least_one():
    assert tg.get_num_threads() >= 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_are_bitwise_identical_for_any_thread_count(dtype, num_threads):
    problem = random_problem(7, dtype)
    tg.set_num_threads(1)
    single = forward_backward(problem)
    for n in (2, 3, 8):
        tg.set_num_threads(n)
        assert_bitwise_equal(forward_backward(problem), single)


def test_training_is_bitwise_identical_for_1_and_2_threads(num_threads):
    def train(threads: int) -> list:
        tg.set_num_threads(threads)
        tg.manual_seed(0)
        model = nn.Sequential(
            nn.Linear(96, 160), nn.BatchNorm1d(160), nn.ReLU(), nn.Dropout(0.1), nn.Linear(160, 10)
        )
        optimizer = optim.Adam(model.parameters(), lr=1e-2)
        return train_on_random_batch(model, optimizer, seed=0, rows=200, steps=5)

    assert_bitwise_equal(train(2), train(1))


# ---- grad mode is per thread, as in PyTorch ----------------------------------------------


@pytest.fixture
def grad_mode_restored():
    """If a shared grad-mode flag is left off, switch it back so later tests still record."""
    yield
    if not tg.is_grad_enabled():
        tg.enable_grad().__enter__()


def test_no_grad_in_one_thread_does_not_stop_recording_in_another(grad_mode_restored):
    inside_no_grad, recorded = threading.Event(), threading.Event()

    def evaluator():
        with tg.no_grad():
            inside_no_grad.set()
            recorded.wait(timeout=10)

    thread = threading.Thread(target=evaluator)
    thread.start()
    try:
        inside_no_grad.wait(timeout=10)
        x = tg.Tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        assert tg.is_grad_enabled()
        assert y.requires_grad and y.grad_fn is not None
    finally:
        recorded.set()
        thread.join()


def test_interleaved_no_grad_blocks_leave_grad_mode_on(grad_mode_restored):
    """Thread A enters no_grad, B enters no_grad, A exits, B exits: with one shared flag B
    would restore the False it saw on entry and switch recording off for good."""
    a_entered, b_entered, a_exited = threading.Event(), threading.Event(), threading.Event()

    def thread_a():
        with tg.no_grad():
            a_entered.set()
            b_entered.wait(timeout=10)
        a_exited.set()

    def thread_b():
        a_entered.wait(timeout=10)
        with tg.no_grad():
            b_entered.set()
            a_exited.wait(timeout=10)

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tg.is_grad_enabled()
    assert (tg.Tensor([1.0], requires_grad=True) * 2.0).requires_grad
