"""GEMM block sizes from cache sizes: BLIS's analytical model as a pure function, and
the products at the block boundaries it actually chooses on this machine.

The rule (csrc/cache.c, docs/gemm.md) is checked on two machines' caches worked by
hand, on invariants for any cache, and against what the selected kernels use.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu import kernels

KB, MB = 1 << 10, 1 << 20
# (size, ways, line): AMD EPYC Zen 3 (issue 10) and this project's Xeon (Sapphire Rapids VM)
ZEN3 = dict(l1d=(32 * KB, 8, 64), l2=(512 * KB, 8, 64), l3=(32 * MB, 16, 64))
XEON = dict(l1d=(48 * KB, 12, 64), l2=(2 * MB, 16, 64), l3=(105 * MB, 15, 64))


def test_zen3_avx2_float32_worked_by_hand():
    # one L1 way = 32 KB / 8 = 4 KB; A's share: floor(7 / (1 + 16/6)) = 1 way
    # kc = 4096 / (6 * 4) = 170; the B sliver (170 x 16 x 4 = 10.9 KB) takes 1 of the
    # 8 L2 ways of 64 KB; A's block gets 8 - 1 - 1 = 6: mc = 6 * 65536 / (170 * 4) = 578 -> 576;
    # the A block (391 KB) takes 1 of the 16 L3 ways of 2 MB: nc = 14 * 2 MB / 680 -> 43168
    assert kernels.blocking_rule(6, 16, 4, **ZEN3) == {"mc": 576, "kc": 170, "nc": 43168}


def test_zen3_avx2_float64_gives_blis_haswell_kc():
    # floor(7 / (1 + 8/6)) = 3 ways: kc = 3 * 4096 / (6 * 8) = 256, BLIS's Haswell dgemm KC
    # L2: the B sliver (16 KB) takes 1 way, A 6: mc = 6 * 65536 / 2048 = 192
    # L3: 14 ways for B: nc = 14 * 2 MB / 2048 = 14336
    assert kernels.blocking_rule(6, 8, 8, **ZEN3) == {"mc": 192, "kc": 256, "nc": 14336}


def test_xeon_avx512_float32_worked_by_hand():
    # L1 way 4 KB; floor(11 / (1 + 32/12)) = 3 ways: kc = 3 * 4096 / (12 * 4) = 256
    # L2 way 128 KB; B sliver 32 KB -> 1 way; 14 for A: mc = 14 * 131072 / 1024 = 1792 -> 1788
    # L3 way 7 MB; A block 1.8 MB -> 1 way; 13 for B: nc = 13 * 7 MB / 1024 = 93184
    assert kernels.blocking_rule(12, 32, 4, **XEON) == {"mc": 1788, "kc": 256, "nc": 93184}


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    mr=st.integers(1, 16),
    nr=st.integers(1, 64),
    element_size=st.sampled_from([4, 8]),
    l1_ways=st.integers(2, 16),
    l1_sets=st.sampled_from([32, 64, 128]),
    l2_ways=st.integers(4, 20),
    l2_sets=st.sampled_from([512, 1024, 2048]),
    l3_ways=st.integers(4, 20),
    l3_sets=st.sampled_from([4096, 32768, 114688]),
)
def test_rule_invariants(mr, nr, element_size, l1_ways, l1_sets, l2_ways, l2_sets, l3_ways, l3_sets):
    line, s = 64, element_size
    l1, l2, l3 = (l1_ways * l1_sets * line, l1_ways, line), (l2_ways * l2_sets * line, l2_ways, line), (
        l3_ways * l3_sets * line,
        l3_ways,
        line,
    )
    sizes = kernels.blocking_rule(mr, nr, element_size, l1, l2, l3)
    mc, kc, nc = sizes["mc"], sizes["kc"], sizes["nc"]
    assert mc % mr == 0 and nc % nr == 0 and mc >= mr and nc >= nr and kc >= 8
    way1, way2, way3 = l1[0] // l1_ways, l2[0] // l2_ways, l3[0] // l3_ways
    if (l1_ways - 1) * mr // (mr + nr) >= 1 and kc > 8:  # the rule found A a share of L1
        a_ways = -(-mr * kc * s // way1)
        b_ways = -(-nr * kc * s // way1)
        assert a_ways + b_ways <= l1_ways - 1  # A and B slivers in their own ways, one spare
    if l2_ways - 1 - -(-kc * nr * s // way2) >= 1 and mc > mr:
        assert mc * kc * s + kc * nr * s <= (l2_ways - 1) * way2
    if l3_ways - 1 - -(-mc * kc * s // way3) >= 1 and nc > nr:
        assert kc * nc * s + mc * kc * s <= (l3_ways - 1) * way3
    # a bigger L1 never gives shallower slivers
    bigger = kernels.blocking_rule(mr, nr, element_size, (2 * l1[0], l1_ways, line), l2, l3)
    assert bigger["kc"] >= kc


@pytest.mark.parametrize(
    "args,match",
    [
        ((0, 16, 4, *ZEN3.values()), "mr must be a positive integer"),
        ((6, 16, 4, (32 * KB, 8), ZEN3["l2"], ZEN3["l3"]), "l1d must be"),
        ((6, 16, 4, ZEN3["l1d"], (500_000, 8, 64), ZEN3["l3"]), "l2 size 500000 is not a whole"),
        ((6, 16, 4, ZEN3["l1d"], ZEN3["l2"], (32 * MB, -1, 64)), "l3 ways must be"),
    ],
)
def test_rule_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        kernels.blocking_rule(*args)


def test_cache_sizes_are_reported():
    caches = kernels.cache_sizes()
    assert caches["source"] in ("cpuid", "sysfs", "default")
    for name in ("l1d", "l2", "l3"):
        level = caches[name]
        assert level["size"] > 0 and level["ways"] > 0 and level["line"] > 0
        assert level["size"] % (level["ways"] * level["line"]) == 0
    assert caches["l1d"]["size"] <= caches["l2"]["size"]


@pytest.fixture(params=kernels.available_kernels())
def kernel(request):
    before = kernels.get_kernel()
    kernels.set_kernel(request.param)
    yield request.param
    kernels.set_kernel(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_use_the_rule_on_this_machines_caches(kernel, dtype):
    used = kernels.gemm_blocking(dtype)
    assert used["kernel"] == kernel and used["dtype"] == np.dtype(dtype).name
    caches = kernels.cache_sizes()
    levels = [caches[name] for name in ("l1d", "l2", "l3")]
    expected = kernels.blocking_rule(used["mr"], used["nr"], np.dtype(dtype).itemsize, *levels)
    assert {key: used[key] for key in ("mc", "kc", "nc")} == expected


def test_gemm_blocking_rejects_other_dtypes():
    with pytest.raises(TypeError, match="gemm_blocking: dtype must be float32 or float64"):
        kernels.gemm_blocking(np.int32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_products_across_this_machines_block_boundaries(kernel, dtype):
    """One more than a block in each dimension: a thin last block of every loop."""
    used = kernels.gemm_blocking(dtype)
    mc, kc, nr, mr = used["mc"], used["kc"], used["nr"], used["mr"]
    rng = np.random.default_rng(7)
    for m, k, n in [(mc + 1, kc + 1, nr + 3), (mr + 1, 2 * kc + 1, 2 * nr - 1)]:
        for trans_a in (False, True):
            for trans_b in (False, True):
                a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
                b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
                got = kernels.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
                op_a = (a.T if trans_a else a).astype(np.float64)
                expected = op_a @ (b.T if trans_b else b)
                tolerance = 8 * np.finfo(dtype).eps * np.sqrt(k)
                np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance * np.sqrt(k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threads_across_this_machines_block_boundaries(kernel, dtype):
    """Row parts of more than one A block each: B slivers packed on the first block's
    pass are read back by the next; 1, 2 and 3 threads give the same bits."""
    used = kernels.gemm_blocking(dtype)
    mc, kc, nr = used["mc"], used["kc"], used["nr"]
    m, k, n = 3 * mc + 5, kc + 1, nr + 3  # taller than wide: split into row parts
    rng = np.random.default_rng(8)
    before = kernels.get_num_threads()
    try:
        for trans_b in (False, True):
            a = rng.standard_normal((m, k)).astype(dtype)
            b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
            results = []
            for count in (1, 2, 3):
                kernels.set_num_threads(count)
                results.append(kernels.matmul(a, b, trans_b=trans_b))
            for other in results[1:]:
                np.testing.assert_array_equal(results[0], other)
            expected = a.astype(np.float64) @ (b.T if trans_b else b)
            tolerance = 8 * np.finfo(dtype).eps * np.sqrt(k)
            np.testing.assert_allclose(results[0], expected, rtol=tolerance, atol=tolerance * np.sqrt(k))
    finally:
        kernels.set_num_threads(before)
