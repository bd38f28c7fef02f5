"""Hostile input for tinygrad_edu.kernels: every bad argument is an exception, never a crash.

Crash-prone cases also run in a child interpreter, which must exit normally (a
segfault there would be a signal death, not a failed assertion in this process).
Also: calls from several Python threads at once (the GIL is released) and no
memory growth over repeated calls.
"""

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from tinygrad_edu import kernels

BAD_DTYPES = [np.int32, np.int64, np.float16, np.complex64, bool, object, ">f4", ">f8"]


def unaligned(shape, dtype=np.float32):
    """A float array starting one byte past an aligned address."""
    itemsize = np.dtype(dtype).itemsize
    count = int(np.prod(shape))
    raw = np.zeros(count * itemsize + 1, np.uint8)
    return np.frombuffer(raw.data, dtype, count, offset=1).reshape(shape)


def read_only(array):
    array.flags.writeable = False
    return array


# One call per kernel with a well-formed float64 input; each hostile test swaps one
# argument for a bad one.
def good_arguments():
    x = np.ones((4, 3))
    return {
        "matmul": (kernels.matmul, {"a": x, "b": np.ones((3, 5))}),
        "linear": (kernels.linear, {"x": x, "weight": np.ones((2, 3)), "bias": np.ones(2)}),
        "relu": (kernels.relu, {"x": x}),
        "relu_backward": (kernels.relu_backward, {"x": x, "grad_out": np.ones((4, 3))}),
        "column_sum": (kernels.column_sum, {"x": x}),
        "softmax_cross_entropy": (
            kernels.softmax_cross_entropy,
            {"logits": x, "target": np.zeros(4, np.int64)},
        ),
        "softmax_cross_entropy_backward": (
            kernels.softmax_cross_entropy_backward,
            {"probs": x, "target": np.zeros(4, np.int64), "grad_loss": np.ones(4)},
        ),
    }


FLOAT_ARGUMENTS = [
    (kernel, name)
    for kernel, (_, arguments) in good_arguments().items()
    for name in arguments
    if name != "target"
]


@pytest.mark.parametrize("kernel,name", FLOAT_ARGUMENTS)
@pytest.mark.parametrize("dtype", BAD_DTYPES, ids=str)
def test_bad_dtypes_raise_type_error_naming_the_argument(kernel, name, dtype):
    function, arguments = good_arguments()[kernel]
    arguments[name] = arguments[name].astype(dtype)
    with pytest.raises(TypeError, match=rf"\b{name}\b"):
        function(**arguments)


@pytest.mark.parametrize("kernel,name", FLOAT_ARGUMENTS)
@pytest.mark.parametrize(
    "make_bad",
    [
        lambda array: array[::-1],  # negative strides
        lambda array: np.repeat(array, 2, axis=-1)[..., ::2],  # element-skipping strides
        lambda array: unaligned(array.shape, array.dtype),
    ],
    ids=["negative-strides", "skipping-strides", "unaligned"],
)
def test_bad_layouts_raise_value_error_naming_the_argument(kernel, name, make_bad):
    function, arguments = good_arguments()[kernel]
    arguments[name] = make_bad(arguments[name])
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        function(**arguments)


@pytest.mark.parametrize("kernel", list(good_arguments()))
def test_non_arrays_raise_type_error(kernel):
    function, arguments = good_arguments()[kernel]
    first = next(iter(arguments))
    arguments[first] = arguments[first].tolist()
    with pytest.raises(TypeError, match=first):
        function(**arguments)


@pytest.mark.parametrize("kernel", list(good_arguments()))
def test_read_only_and_misshapen_out_raise(kernel):
    function, arguments = good_arguments()[kernel]
    out_name = "probs_out" if kernel == "softmax_cross_entropy" else "out"
    expected = function(**arguments)
    shape = (expected[1] if kernel == "softmax_cross_entropy" else expected).shape
    with pytest.raises(ValueError, match="writable"):
        function(**arguments, **{out_name: read_only(np.empty(shape))})
    with pytest.raises(ValueError, match=f"{out_name} must have shape"):
        function(**arguments, **{out_name: np.empty(shape + (1,))})
    with pytest.raises(TypeError, match=f"{out_name} must have dtype"):
        function(**arguments, **{out_name: np.empty(shape, np.float32)})


@pytest.mark.parametrize("shape", [(), (3,), (2, 3, 4)])
def test_matmul_needs_two_dimensional_operands(shape):
    with pytest.raises(ValueError, match="must be 2-D"):
        kernels.matmul(np.ones(shape), np.ones((3, 3)))
    with pytest.raises(ValueError, match="must be 2-D"):
        kernels.matmul(np.ones((3, 3)), np.ones(shape))


def test_zero_size_products():
    empty = kernels.matmul(np.ones((0, 5), np.float32), np.ones((5, 3), np.float32))
    assert empty.shape == (0, 3)
    zeros = kernels.matmul(np.ones((4, 0)), np.ones((0, 3)))
    np.testing.assert_array_equal(zeros, np.zeros((4, 3)))
    assert kernels.matmul(np.ones((4, 5)), np.ones((5, 0))).shape == (4, 0)


def test_nan_and_inf_propagate_everywhere():
    x = np.array([[np.nan, np.inf, -np.inf, 1.0]])
    product = kernels.matmul(x, np.ones((4, 1)))
    assert np.isnan(product).all()
    np.testing.assert_array_equal(kernels.relu(x), [[np.nan, np.inf, 0, 1]])
    assert np.isnan(kernels.column_sum(x)[0])
    losses, probs = kernels.softmax_cross_entropy(x, np.array([3]))
    assert np.isnan(losses).all() and np.isnan(probs).all()


CRASH_PRONE = """
import numpy as np
from tinygrad_edu import kernels

def expect(error, function, *args, **kwargs):
    try:
        function(*args, **kwargs)
    except error:
        return
    raise AssertionError(f"{function.__name__}{args} did not raise {error.__name__}")

huge = 2**40
# an out whose product of sizes cannot be allocated
expect((MemoryError, ValueError), kernels.matmul, np.ones((huge, 0)), np.ones((0, huge)))
expect((MemoryError, ValueError), kernels.linear, np.ones((huge, 0)), np.ones((huge, 0)))
# size products that overflow int64 in numpy's own checks never reach C
expect((MemoryError, ValueError), np.empty, (2**62, 2**62))
# stride tricks: zero strides, overlapping rows, a window past the data
x = np.ones((4, 4))
expect(ValueError, kernels.matmul, np.broadcast_to(x[0], (4, 4)), x)
expect(ValueError, kernels.relu, np.lib.stride_tricks.as_strided(x, (4, 4), (8, 8)))
expect(ValueError, kernels.matmul, x, x, x)
expect(ValueError, kernels.relu, x[:, 1:], x[:, :3].copy())
expect(ValueError, kernels.softmax_cross_entropy, x, np.array([0, 1, 2, 2**62]))
expect(ValueError, kernels.softmax_cross_entropy_backward, x, np.array([-2**63, 0, 0, 0]), np.ones(4))
expect(TypeError, kernels.matmul, np.ones((2, 2), object), np.ones((2, 2), object))
expect(TypeError, kernels.relu, np.array(["a", "b"]))
expect(TypeError, kernels.matmul, None, x)
expect(TypeError, kernels.relu, x, alive=np.zeros(4, np.int64))
# a huge inner dimension with an empty result: nothing to compute, nothing to read
assert kernels.matmul(np.ones((0, huge)), np.ones((huge, 0))).shape == (0, 0)
print("survived")
"""


def test_crash_prone_inputs_in_a_child_interpreter():
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASH_PRONE)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode >= 0, f"killed by signal {-result.returncode}: {result.stderr}"
    assert result.returncode == 0, result.stderr
    assert "survived" in result.stdout


def test_calls_from_several_python_threads_at_once():
    """The kernels release the GIL; concurrent calls must not disturb each other."""
    rng = np.random.default_rng(0)
    problems = [
        (
            rng.standard_normal((150, 90)).astype(np.float32),
            rng.standard_normal((90, 70)).astype(np.float32),
        )
        for _ in range(6)
    ]
    expected = [a.astype(np.float64) @ b for a, b in problems]
    failures = []

    def worker(index):
        a, b = problems[index]
        for _ in range(30):
            got = kernels.matmul(a, b)
            relu = kernels.relu(got)
            if not np.allclose(got, expected[index], rtol=1e-4, atol=1e-3):
                failures.append(f"matmul in thread {index}")
            if not np.array_equal(relu, np.maximum(got, 0)):
                failures.append(f"relu in thread {index}")

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(len(problems))]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert failures == []


def resident_kilobytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.skipif(
    "libasan" in os.environ.get("LD_PRELOAD", ""),
    reason="AddressSanitizer keeps freed memory in quarantine, so resident memory grows",
)
def test_repeated_calls_do_not_leak():
    a = np.random.default_rng(0).standard_normal((100, 400)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((400, 200)).astype(np.float32)
    target = np.zeros(100, np.int64)

    def calls():
        product = kernels.matmul(a, b)
        kernels.linear(a, b.T.copy(), np.ones(200, np.float32))
        kernels.relu_backward(product, kernels.relu(product))
        kernels.column_sum(product)
        losses, probs = kernels.softmax_cross_entropy(product, target)
        kernels.softmax_cross_entropy_backward(probs, target, losses)
        try:
            kernels.matmul(a, a)
        except ValueError:
            pass

    threads = kernels.get_num_threads()
    kernels.set_num_threads(1)  # leaks are per call; one thread keeps this test fast
    try:
        for _ in range(30):
            calls()
        before = resident_kilobytes()
        for _ in range(300):
            calls()
        grown = resident_kilobytes() - before
    finally:
        kernels.set_num_threads(threads)
    assert grown < 8 * 1024, f"resident memory grew by {grown} KB over 300 rounds"


# ---- numerics over many classes ----------------------------------------------------------


def test_float32_cross_entropy_over_two_million_classes_keeps_float32_accuracy():
    """The exp() sum is accumulated in double: a float accumulator was off by 1e-3 here."""
    logits = np.random.default_rng(0).standard_normal((1, 2_000_000)).astype(np.float32)
    target = np.array([123], np.int64)
    losses, probs = kernels.softmax_cross_entropy(logits, target)
    wide = logits.astype(np.float64)
    log_sum = wide.max() + np.log(np.exp(wide - wide.max()).sum())
    expected = log_sum - wide[0, 123]
    assert abs(losses[0] - expected) / expected < 1e-6
    np.testing.assert_allclose(probs.sum(dtype=np.float64), 1.0, rtol=1e-5)


def test_cross_entropy_reads_its_own_copy_of_the_target():
    """C reads the classes again per row without the GIL: it must never read the caller's array."""
    logits = np.zeros((3, 4), np.float32)
    target = np.array([0, 1, 2], np.int64)
    losses, probs = kernels.softmax_cross_entropy(logits, target)
    grad = kernels.softmax_cross_entropy_backward(probs, target, np.ones(3, np.float32))
    np.testing.assert_allclose(losses, np.log(4), rtol=1e-6)
    np.testing.assert_allclose(grad[np.arange(3), target], 0.25 - 1, rtol=1e-6)
    with pytest.raises(ValueError, match=r"target\[1\] = 9 is not a class index"):
        kernels.softmax_cross_entropy(logits, np.array([0, 9, 2], np.int64))
