"""Reliability under concurrency and odd configurations: each case runs in a fresh
Python process, because the failures it guards against crash or hang the process
(a racing target array, a forked child, an absurd thread count) or depend on the
environment at import. Read tinygrad_edu/kernels.py (threads, fork) next.
"""

import os
import subprocess
import sys
import textwrap

import pytest

import tinygrad_edu as tg
from tinygrad_edu import kernels

needs_openmp = pytest.mark.skipif(not kernels.have_openmp(), reason="built without OpenMP")


def run_python(code: str, timeout: float = 60, **environment: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter; a crash shows as a negative return code."""
    env = {**os.environ, **environment}
    for name, value in environment.items():
        if value is None:
            del env[name]
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def assert_ran(result: subprocess.CompletedProcess, expected_last_line: str = "ok") -> None:
    assert result.returncode == 0, (
        f"exit code {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert result.stdout.strip().splitlines()[-1] == expected_last_line, result.stdout


# ---- a second Python thread writing the target array while the kernel runs ----------------

RACING_TARGET = """
    import sys, threading, time
    import numpy as np
    from tinygrad_edu import kernels
    import tinygrad_edu as tg
    import tinygrad_edu.nn.functional as F

    sys.setswitchinterval(1e-6)  # hand the GIL to the writer as often as possible
    rows, classes = 4000, 64
    logits = np.random.default_rng(0).standard_normal((rows, classes)).astype(np.float32)
    target = np.zeros(rows, np.int64)
    expected_losses, expected_probs = kernels.softmax_cross_entropy(logits, target.copy())
    expected_grad = kernels.softmax_cross_entropy_backward(
        expected_probs, target.copy(), np.ones(rows, np.float32))
    stop = threading.Event()

    def writer():  # flips rows between a valid class and one far outside the array
        while not stop.is_set():
            target[::97] = 1 << 40
            target[::97] = 0

    thread = threading.Thread(target=writer)
    thread.start()
    results = refused = 0
    deadline = time.monotonic() + 2.0
    try:
        while time.monotonic() < deadline:
            try:
                losses, probs = kernels.softmax_cross_entropy(logits, target)
                grad = kernels.softmax_cross_entropy_backward(
                    expected_probs, target, np.ones(rows, np.float32))
                loss = F.cross_entropy(tg.Tensor(logits, requires_grad=True), target)
            except ValueError as error:  # a clean refusal is a correct answer
                assert "is not a class index" in str(error), error
                refused += 1
                continue
            np.testing.assert_array_equal(losses, expected_losses)
            np.testing.assert_array_equal(grad, expected_grad)
            assert np.isclose(loss.item(), expected_losses.mean(), rtol=1e-5)
            results += 1
    finally:
        stop.set()
        thread.join()
    print(results, refused)
    print("ok")
"""


def test_a_thread_writing_the_target_during_cross_entropy_gets_a_result_or_value_error():
    assert_ran(run_python(RACING_TARGET))


# ---- fork -------------------------------------------------------------------------------

FORK_AFTER_THREADED_GEMM = """
    import multiprocessing, os
    import numpy as np
    import tinygrad_edu as tg
    from tinygrad_edu import kernels

    tg.set_num_threads(2)
    a = np.random.default_rng(0).standard_normal((400, 400)).astype(np.float32)
    expected = kernels.matmul(a, a)  # the parent's OpenMP threads now exist

    def child(queue):
        got = kernels.matmul(a, a)  # hung forever in libgomp before the fork handler
        loss, _ = kernels.softmax_cross_entropy(a, np.zeros(400, np.int64))
        try:
            tg.set_num_threads(2)
            refused = "no"
        except RuntimeError as error:
            refused = "fork" in str(error)
        queue.put((np.array_equal(got, expected), tg.get_num_threads(), refused))

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=child, args=(queue,), daemon=True)
    process.start()
    try:
        same, threads, refused = queue.get(timeout=20)
        process.join(20)
    finally:
        process.kill()  # a hung child must not outlive the test
    assert process.exitcode == 0, process.exitcode
    assert same and threads == 1 and refused is True, (same, threads, refused)
    assert tg.get_num_threads() == 2  # the parent keeps its threads
    np.testing.assert_array_equal(kernels.matmul(a, a), expected)
    print("ok")
"""


@needs_openmp
@pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="no fork on this platform")
def test_a_forked_child_runs_kernels_serially_instead_of_hanging():
    assert_ran(run_python(FORK_AFTER_THREADED_GEMM, timeout=60))


# ---- thread counts ----------------------------------------------------------------------


@pytest.mark.parametrize("count", [kernels.MAX_THREADS + 1, 100_000, 2**31, 2**64])
def test_absurd_thread_counts_raise_value_error_naming_the_limit(count):
    before = tg.get_num_threads()
    limit = f"set_num_threads: n must be at most {kernels.MAX_THREADS}"
    with pytest.raises(ValueError, match=limit):
        tg.set_num_threads(count)
    assert tg.get_num_threads() == before


@pytest.mark.parametrize("value", ["100000", str(2**31), "0", "-2", "two"])
def test_absurd_omp_num_threads_raises_value_error_naming_the_variable(value):
    result = run_python("import tinygrad_edu", OMP_NUM_THREADS=value)
    assert result.returncode == 1
    assert "ValueError: OMP_NUM_THREADS" in result.stderr, result.stderr


def test_a_sensible_omp_num_threads_is_the_default_count():
    result = run_python(
        "import tinygrad_edu as tg; print(tg.get_num_threads()); print('ok')", OMP_NUM_THREADS="3,2"
    )
    assert_ran(result)
    assert result.stdout.split()[0] == ("3" if kernels.have_openmp() else "1")


CORE_CAPPED = """
    import os
    import numpy as np
    import tinygrad_edu as tg
    from tinygrad_edu import kernels

    def threads_now():
        return len(os.listdir("/proc/self/task"))

    before = threads_now()
    tg.set_num_threads(64)
    a = np.ones((600, 600), np.float32)
    kernels.matmul(a, a)  # 216 M multiply-adds: work for 206 threads
    kernels.relu(np.ones(64 << 16, np.float32))  # work for 64 threads
    started = threads_now() - before
    cores = len(os.sched_getaffinity(0))
    assert started <= cores, (started, cores)
    assert tg.get_num_threads() == 64
    print("ok")
"""


@needs_openmp
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_a_call_never_starts_more_threads_than_the_machine_has_cores():
    assert_ran(run_python(CORE_CAPPED))


# ---- import leaves the environment alone and warns about nothing ------------------------

IMPORT_QUIETLY = """
    import os, warnings
    import numpy  # (numpy itself sets and unsets OPENBLAS_MAIN_FREE while it loads)
    before = dict(os.environ)
    writes = []
    os.putenv = lambda *args: writes.append(args)  # what os.environ[...] = ... and del call
    os.unsetenv = lambda *args: writes.append(args)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import tinygrad_edu
    assert writes == [], writes  # not even for a moment
    assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())
    assert os.getenv("OMP_WAIT_POLICY") is None
    print("ok")
"""


@pytest.mark.parametrize("kernel", ["", "generic", "no-such-kernel"])
def test_import_changes_no_environment_and_warns_about_nothing(kernel):
    assert_ran(run_python(IMPORT_QUIETLY, OMP_WAIT_POLICY=None, TINYGRAD_EDU_KERNEL=kernel))


BAD_KERNEL_NAME = """
    import numpy as np
    from tinygrad_edu import kernels
    a = np.ones((2, 2), np.float32)
    try:
        kernels.matmul(a, a)
    except ValueError as error:
        print(error)
    kernels.set_kernel(None)  # an explicit choice replaces the variable's
    assert kernels.matmul(a, a)[0, 0] == 2
    print("ok")
"""


def test_a_bad_kernel_name_in_the_environment_is_an_error_at_the_first_gemm():
    result = run_python(BAD_KERNEL_NAME, TINYGRAD_EDU_KERNEL="no-such-kernel")
    assert_ran(result)
    assert "TINYGRAD_EDU_KERNEL='no-such-kernel'" in result.stdout
    assert "generic" in result.stdout


@needs_openmp
def test_idle_openmp_threads_still_sleep_instead_of_spinning():
    """OpenMP reads its wait policy once, at load: it must see PASSIVE unless the user chose."""
    code = "import tinygrad_edu, os; assert 'OMP_WAIT_POLICY' not in os.environ; print('ok')"
    result = run_python(code, OMP_WAIT_POLICY=None, OMP_DISPLAY_ENV="true")
    assert_ran(result)
    assert "OMP_WAIT_POLICY = 'PASSIVE'" in result.stderr, result.stderr
    chosen = run_python(
        code.replace("not in", "in"), OMP_WAIT_POLICY="active", OMP_DISPLAY_ENV="true"
    )
    assert_ran(chosen)
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in chosen.stderr, chosen.stderr
