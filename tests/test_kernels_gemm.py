"""The packed GEMM on every microkernel this CPU runs: edge tiles, block boundaries, threads.

Each test runs once per kernel in kernels.available_kernels() (AVX-512, AVX2, and
the portable generic one), so CI covers the generic path on every machine.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu import kernels

KERNELS = kernels.available_kernels()
DTYPES = [np.float32, np.float64]

# register tiles: 12 x 32|16 (avx512), 6 x 16|8 (avx2), 4 x 8|4 (generic); the cache blocks
# come from this machine's caches (test_gemm_blocking.py tests their boundaries), so these
# shapes cover the tiles' edges, the short 8- and 4-row tiles, and depths around 192-256;
# B is read in place (unpacked) when m <= 96 and trans_b is False, packed otherwise
EDGE_SHAPES = [  # (m, k, n)
    (1, 1, 1),
    (2, 3, 5),
    (11, 7, 31),
    (12, 16, 32),
    (13, 17, 33),
    (9, 191, 33),
    (10, 193, 31),
    (5, 255, 4),
    (7, 256, 9),
    (6, 257, 17),
    (143, 20, 15),
    (145, 9, 47),
    (121, 300, 65),
    (289, 3, 8),
    (3, 2, 4097),
    (37, 513, 41),
]


@pytest.fixture(params=KERNELS)
def kernel(request):
    before = kernels.get_kernel()
    kernels.set_kernel(request.param)
    yield request.param
    kernels.set_kernel(before)


@pytest.fixture
def threads():
    before = kernels.get_num_threads()
    yield kernels.set_num_threads
    kernels.set_num_threads(before)


def operands(m, k, n, trans_a, trans_b, dtype, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    return a, b


def reference(a, b, trans_a, trans_b):
    op_a = (a.T if trans_a else a).astype(np.float64)
    return op_a @ (b.T if trans_b else b)


def assert_gemm_close(got, expected, dtype, k):
    tolerance = 8 * np.finfo(dtype).eps * np.sqrt(max(k, 1))
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance * np.sqrt(max(k, 1)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", EDGE_SHAPES)
def test_edge_tiles_and_block_boundaries(kernel, dtype, m, k, n):
    for trans_a in (False, True):
        for trans_b in (False, True):
            a, b = operands(m, k, n, trans_a, trans_b, dtype)
            got = kernels.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
            assert_gemm_close(got, reference(a, b, trans_a, trans_b), dtype, k)


@pytest.mark.parametrize("dtype", DTYPES)
def test_edge_tiles_write_nothing_outside_out(kernel, dtype):
    """out is a window into a larger buffer: the guard cells around it must survive."""
    m, k, n = 13, 29, 35
    a, b = operands(m, k, n, False, False, dtype)
    buffer = np.full(m * n + 64, 12345.0, dtype)
    out = buffer[32 : 32 + m * n].reshape(m, n)
    kernels.matmul(a, b, out)
    assert (buffer[:32] == 12345.0).all() and (buffer[32 + m * n :] == 12345.0).all()
    assert_gemm_close(out, reference(a, b, False, False), dtype, k)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (2.5, 0.0), (1.0, 1.0), (-0.5, 2.0)])
def test_alpha_beta_across_k_rounds(kernel, dtype, alpha, beta):
    m, k, n = 20, 600, 40  # several kc rounds: beta must be applied once only
    a, b = operands(m, k, n, True, False, dtype)
    c = np.random.default_rng(5).standard_normal((m, n)).astype(dtype)
    out = c.copy()
    kernels.matmul(a, b, out, trans_a=True, alpha=alpha, beta=beta)
    expected = alpha * reference(a, b, True, False) + beta * c
    assert_gemm_close(out, expected, dtype, k)


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_on_every_kernel(kernel, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((33, 70)).astype(dtype)
    weight = rng.standard_normal((45, 70)).astype(dtype)
    bias = rng.standard_normal(45).astype(dtype)
    expected = x.astype(np.float64) @ weight.T + bias
    assert_gemm_close(kernels.linear(x, weight, bias), expected, dtype, 71)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "m,k,n,trans_a,trans_b",
    [
        (256, 200, 300, False, True),  # C wider than tall: split into column parts
        (130, 64, 520, True, False),
        (700, 130, 90, False, False),  # taller than wide: row parts, each packing all of B
        (301, 70, 40, True, True),
    ],
)
def test_results_are_bitwise_identical_whatever_the_thread_count(
    kernel, threads, dtype, m, k, n, trans_a, trans_b
):
    a, b = operands(m, k, n, trans_a, trans_b, dtype)
    threads(1)
    one = kernels.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
    threads(2)
    two = kernels.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
    threads(3)  # more threads than cores, and an odd split of the tiles
    three = kernels.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, three)
    assert_gemm_close(one, reference(a, b, trans_a, trans_b), dtype, k)


def test_elementwise_kernels_are_identical_whatever_the_thread_count(threads):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1000, 600)).astype(np.float32)
    grad = rng.standard_normal((1000, 600)).astype(np.float32)
    results = []
    for count in (1, 2, 3):
        threads(count)
        alive = np.zeros(600, np.uint8)
        results.append(
            (
                kernels.relu(x, alive=alive),
                alive,
                kernels.relu_backward(x, grad),
                kernels.column_sum(x),
                kernels.softmax_cross_entropy(x, np.arange(1000) % 600)[0],
            )
        )
    for result in results[1:]:
        for got, expected in zip(result, results[0]):
            np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(results[0][0], np.maximum(x, 0))
    np.testing.assert_array_equal(results[0][1], (x > 0).any(axis=0))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    m=st.integers(0, 70),
    k=st.integers(0, 70),
    n=st.integers(0, 70),
    trans_a=st.booleans(),
    trans_b=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    kernel_name=st.sampled_from(KERNELS),
)
def test_random_shapes_match_numpy(m, k, n, trans_a, trans_b, dtype, kernel_name):
    before = kernels.get_kernel()
    kernels.set_kernel(kernel_name)
    try:
        a, b = operands(m, k, n, trans_a, trans_b, dtype, seed=m * 10007 + k * 101 + n)
        got = kernels.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
    finally:
        kernels.set_kernel(before)
    assert got.shape == (m, n)
    assert_gemm_close(got, reference(a, b, trans_a, trans_b), dtype, k)


def test_kernel_choice_and_environment_switch():
    assert KERNELS[-1] == "generic"
    assert kernels.get_kernel() in KERNELS
    with pytest.raises(ValueError, match="set_kernel: name must be one of"):
        kernels.set_kernel("sse9")
    code = "from tinygrad_edu import kernels; print(kernels.get_kernel())"
    env = dict(os.environ, TINYGRAD_EDU_KERNEL="generic")
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "generic"
