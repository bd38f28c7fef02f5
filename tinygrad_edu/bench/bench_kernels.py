"""Benchmark the C kernels against NumPy (and PyTorch when installed), in one process.

GEMM at square sizes and at an MLP's shapes (forward and both backward products),
float32/float64, 1 and 2 threads; ReLU forward/backward against NumPy and np.copyto.
Variants are interleaved (benchmarks/timing.py) and each time is a median, so noise
from other processes hits every variant alike; ratios are other time / our time (> 1:
we are faster), same run. On one thread the CPU-time ratio is also shown: it leaves
out time spent waiting for a core, so it is the steadier one on a busy machine.
Run: python -m benchmarks.bench_kernels --help
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import sys
from typing import Callable

import numpy as np

from tinygrad_edu import kernels

from .timing import Timing, time_interleaved

SQUARE_SIZES = [32, 64, 128, 256, 512, 1024, 2048]
QUICK_SQUARE_SIZES = [32, 128, 512]
MLP_BATCHES = [32, 128]
MLP_IN, MLP_OUT = 784, 256
RELU_SIZES = [10**6, 10**7]
# (repeats, seconds per sample): --quick is a CI smoke run, not a measurement
SETTINGS = {"quick": (3, 0.005), "full": (9, 0.03)}


def load_torch():
    """torch if it is installed, else None (the torch columns are then left empty)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def set_threads(threads: int, torch) -> None:
    """Give our kernels, NumPy's BLAS and torch the same thread count."""
    kernels.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)


def gemm_cases(quick: bool) -> list[tuple[str, int, int, int, bool, bool]]:
    """(label, m, k, n, trans_a, trans_b): op(a) is m x k, op(b) is k x n."""
    cases = [
        (f"{s}x{s}x{s}", s, s, s, False, False)
        for s in (QUICK_SQUARE_SIZES if quick else SQUARE_SIZES)
    ]
    for batch in MLP_BATCHES[:1] if quick else MLP_BATCHES:
        cases += [
            (f"fwd x@W.T b{batch}", batch, MLP_IN, MLP_OUT, False, True),
            (f"bwd grad@W b{batch}", batch, MLP_OUT, MLP_IN, False, False),
            (f"bwd grad.T@x b{batch}", MLP_OUT, batch, MLP_IN, True, False),
        ]
    return cases


def gemm_variants(case, dtype, torch) -> dict[str, Callable[[], object]]:
    """Closures computing the case with our kernel, NumPy and (if present) torch."""
    _, m, k, n, trans_a, trans_b = case
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    out = np.empty((m, n), dtype)
    op_a, op_b = (a.T if trans_a else a), (b.T if trans_b else b)
    variants = {
        "tg": lambda: kernels.matmul(a, b, out, trans_a, trans_b),
        "numpy": lambda: np.matmul(op_a, op_b, out=out),
    }
    if torch is not None:
        ta, tb = torch.from_numpy(op_a), torch.from_numpy(op_b)
        tout = torch.from_numpy(out)
        variants["torch"] = lambda: torch.matmul(ta, tb, out=tout)
    return variants


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo; elsewhere platform's best guess)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "Model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def openblas_core() -> str | None:
    """OpenBLAS's kernel family for NumPy (e.g. "Haswell", "SkylakeX"; needs threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    for pool in threadpool_info():
        if pool.get("internal_api") == "openblas":
            return pool.get("architecture")
    return None


def load_average() -> float | None:
    """The 1-minute load average (None where the OS has none): how busy the cores were."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def blocking_summary() -> dict:
    """The caches our GEMM's block sizes come from, and the sizes per dtype."""
    caches = kernels.cache_sizes()
    return {
        "caches": caches,
        "float32": kernels.gemm_blocking(np.float32),
        "float64": kernels.gemm_blocking(np.float64),
    }


def blas_threads(threads: int):
    """A context limiting NumPy's BLAS to `threads` (needs threadpoolctl; else no limit)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def ratios(timings: dict[str, Timing], threads: int) -> dict[str, float]:
    """Other variants' time / ours (wall clock; CPU time too on one thread)."""
    ours = timings["tg"]
    out = {}
    for name, timing in timings.items():
        if name != "tg":
            out[f"ratio_{name}"] = timing.median / ours.median
            if threads == 1:
                out[f"cpu_ratio_{name}"] = timing.cpu_median / ours.cpu_median
    return out


def bench_gemm(dtype, threads: int, quick: bool, torch) -> list[dict]:
    repeats, sample_seconds = SETTINGS["quick" if quick else "full"]
    rows = []
    for case in gemm_cases(quick):
        label, m, k, n, _, _ = case
        flops = 2.0 * m * n * k
        with blas_threads(threads):
            timings = time_interleaved(
                gemm_variants(case, dtype, torch), repeats, sample_seconds, settle_seconds=0.02
            )
        row = {"dtype": np.dtype(dtype).name, "threads": threads, "case": label}
        row.update({"m": m, "k": k, "n": n})
        for name, timing in timings.items():
            row[f"{name}_us"] = timing.median * 1e6
            row[f"{name}_gflops"] = flops / timing.median / 1e9
        row.update(ratios(timings, threads))
        rows.append(row)
    return rows


def relu_variants(size: int) -> dict[str, dict[str, Callable[[], object]]]:
    """Forward and backward closures: ours (into a reused out), NumPy's, and a copy."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(size).astype(np.float32)
    grad = rng.standard_normal(size).astype(np.float32)
    out = np.empty_like(x)
    return {
        "relu": {
            "tg": lambda: kernels.relu(x, out),
            "numpy": lambda: np.maximum(x, 0),
            "copyto": lambda: np.copyto(out, x),
        },
        "relu_backward": {
            "tg": lambda: kernels.relu_backward(x, grad, out),
            "numpy": lambda: grad * (x > 0),
            "copyto": lambda: np.copyto(out, x),
        },
    }


def bench_relu(threads: int, quick: bool) -> list[dict]:
    repeats, sample_seconds = SETTINGS["quick" if quick else "full"]
    rows = []
    for size in RELU_SIZES:
        for kernel, variants in relu_variants(size).items():
            timings = time_interleaved(variants, repeats, sample_seconds, settle_seconds=0.02)
            moved = size * 4 * (2 if kernel == "relu" else 3)  # bytes read + written
            ours, copy = timings["tg"].median, timings["copyto"].median
            row = {"kernel": kernel, "threads": threads, "size": size, "dtype": "float32"}
            row.update({f"{name}_us": timing.median * 1e6 for name, timing in timings.items()})
            row["tg_gbs"] = moved / ours / 1e9
            row["copyto_gbs"] = size * 8 / copy / 1e9
            row["bandwidth_vs_copyto"] = row["tg_gbs"] / row["copyto_gbs"]
            row.update(ratios(timings, threads))
            rows.append(row)
    return rows


def run(quick: bool = False, threads: list[int] | None = None) -> dict:
    """Measure everything; returns {"machine", "gemm", "relu"} (rows of plain numbers)."""
    threads = threads or [1, 2]
    torch = load_torch()
    before = kernels.get_num_threads()
    results = {
        "machine": {
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "torch": torch.__version__ if torch else None,
            "cpus": os.cpu_count(),
            "kernel": kernels.get_kernel(),
            "cpu_model": cpu_model(),
            "openblas_core": openblas_core(),
            "blocking": blocking_summary(),
            "quick": quick,
            "threads": threads,
            "started_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
            "load_average_start": load_average(),
        },
        "gemm": [],
        "relu": [],
    }
    try:
        for count in threads:  # 1 thread first: thread pools left spinning distort the rest
            set_threads(count, torch)
            for dtype in (np.float32, np.float64):
                results["gemm"] += bench_gemm(dtype, count, quick, torch)
            results["relu"] += bench_relu(count, quick)
    finally:
        set_threads(before, torch)
    results["machine"]["load_average_end"] = load_average()
    return results


def machine_line(machine: dict) -> str:
    """CPU, OpenBLAS kernel family, and the caches and block sizes our GEMM used."""
    blocking = machine["blocking"]
    caches = blocking["caches"]
    cache_text = ", ".join(
        f"{name} {caches[name]['size'] // 1024} KB {caches[name]['ways']}-way"
        for name in ("l1d", "l2", "l3")
    )
    sizes = "; ".join(
        f"{dtype} {b['mr']}x{b['nr']} tile, KC {b['kc']} MC {b['mc']} NC {b['nc']}"
        for dtype, b in ((d, blocking[d]) for d in ("float32", "float64"))
    )
    load = "-".join(_fmt(machine.get(key), 1) for key in ("load_average_start", "load_average_end"))
    return (
        f"CPU: {machine['cpu_model']}; OpenBLAS core: {machine['openblas_core']}; "
        f"caches ({caches['source']}): {cache_text}; blocking: {sizes}. "
        f"Threads {machine.get('threads')}; started {machine.get('started_utc')} UTC; "
        f"1-minute load average {load} (start-end)."
    )


def _fmt(value, digits=2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def format_markdown(results: dict) -> str:
    """The results as Markdown tables (ratios > 1: tinygrad_edu is faster)."""
    machine = results["machine"]
    lines = [
        (
            f"Kernel `{machine['kernel']}`, numpy {machine['numpy']}, torch {machine['torch']}, "
            f"{machine['cpus']} CPUs. Medians of interleaved runs; ratio = other time / our time."
        ),
        "",
        machine_line(machine),
        "",
        (
            "| dtype | threads | case | tg us | tg GFLOP/s | numpy GFLOP/s | vs numpy "
            "| vs numpy (CPU time) | vs torch |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["gemm"]:
        lines.append(
            f"| {row['dtype']} | {row['threads']} | {row['case']} | {_fmt(row['tg_us'], 1)} | "
            f"{_fmt(row['tg_gflops'], 1)} | {_fmt(row['numpy_gflops'], 1)} | "
            f"{_fmt(row['ratio_numpy'])} | {_fmt(row.get('cpu_ratio_numpy'))} | "
            f"{_fmt(row.get('ratio_torch'))} |"
        )
    lines += [
        "",
        (
            "| kernel | threads | elements | tg us | numpy us | copyto us | vs numpy | "
            "tg GB/s | bandwidth / copyto's |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["relu"]:
        lines.append(
            f"| {row['kernel']} | {row['threads']} | {row['size']:.0e} | {_fmt(row['tg_us'], 1)} "
            f"| {_fmt(row['numpy_us'], 1)} | {_fmt(row['copyto_us'], 1)} | "
            f"{_fmt(row['ratio_numpy'])} | {_fmt(row['tg_gbs'], 1)} | "
            f"{_fmt(row['bandwidth_vs_copyto'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (< 60 s), for CI")
    parser.add_argument("--threads", type=int, nargs="+", default=None, help="default: 1 2")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    results = run(quick=args.quick, threads=args.threads or ([1] if args.quick else [1, 2]))
    print(format_markdown(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
