"""Peak memory of one MLP training step, per library, and how each number is measured.

The metric: the most bytes that blocks allocated during the step hold at once
(activations, gradients, temporaries), measured after two warm-up steps. Read
the caveats in `METHODS` before comparing: each library is seen through its own
allocator's eyes. Read suite.py next for how all the sections are put together.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc

from .mlp_step import VARIANTS, available_variants, make_problem

WARMUP_STEPS = 2  # the first steps create optimizer buffers and lazily loaded state
RSS_STEPS = 3

METHODS = {
    "tracemalloc": (
        "NumPy reports every array allocation to tracemalloc, so tracing one step counts "
        "all arrays (and Python objects) made during it; blocks freed during the step "
        "that were allocated before it are not subtracted. Not seen: memory a C library "
        "mallocs for itself (tinygrad_edu's GEMM packing buffers, OpenBLAS's work buffers)."
    ),
    "torch_profiler": (
        "PyTorch's tensors come from its own CPU allocator, invisible to tracemalloc; "
        "torch.profiler(profile_memory=True) records each allocation and free of one step "
        "with its address; the running sum's maximum over the blocks allocated during the "
        "step is the peak (as with tracemalloc). Not seen: MKL/oneDNN scratch memory."
    ),
    "rss": (
        "Every library alike: in a fresh subprocess per variant, the resident-set high-water "
        "mark (VmHWM) after the first steps minus the resident set before them. Counts "
        "everything, including one-time costs (thread stacks, code pages touched for the "
        "first time, BLAS buffers) and the allocator's retained free memory: an upper bound."
    ),
}


def tracemalloc_peak(step) -> int:
    """Peak bytes of the blocks allocated during one call of step, traced by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def torch_profiler_peak(step) -> int:
    """Peak bytes PyTorch's CPU allocator holds for blocks allocated during one call of step.

    The profiler's trace lists every allocation and free with its address; frees of
    blocks from before the step are skipped, as tracemalloc skips them.
    """
    from torch.profiler import ProfilerActivity, profile

    gc.collect()
    with _quiet_stderr(), tempfile.TemporaryDirectory() as folder:
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
            step()
        trace_path = os.path.join(folder, "trace.json")
        profiler.export_chrome_trace(trace_path)
        with open(trace_path) as trace_file:
            events = json.load(trace_file)["traceEvents"]
    memory_events = sorted(
        (e for e in events if e.get("name") == "[memory]"), key=lambda e: e["ts"]
    )
    sizes: dict[int, int] = {}  # address -> bytes, for blocks allocated during the step
    live = peak = 0
    for event in memory_events:
        address, change = event["args"]["Addr"], event["args"]["Bytes"]
        if change > 0:
            sizes[address] = change
            live += change
            peak = max(peak, live)
        elif address in sizes:
            live -= sizes.pop(address)
    return peak


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (the profiler's C++ side prints start/stop lines there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def step_peak(variant: str, batch: int) -> tuple[int, str]:
    """One step's peak bytes for `variant` at `batch`, and the name of the method used."""
    step = VARIANTS[variant][0](make_problem(batch))
    for _ in range(WARMUP_STEPS):
        step()
    if variant == "torch":
        return torch_profiler_peak(step), "torch_profiler"
    return tracemalloc_peak(step), "tracemalloc"


def rss_growth(variant: str, batch: int) -> int:
    """VmHWM after RSS_STEPS steps minus VmRSS before them, in a fresh interpreter (Linux)."""
    command = [sys.executable, "-m", "tinygrad_edu.bench.memory", "--rss", variant, str(batch)]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["rss_growth_bytes"]


def run(batches=(32, 128), variants=None, rss: bool = False) -> dict:
    """Peak bytes per variant and batch (1 thread), with the method behind each number.

    rss=True adds the subprocess RSS cross-check (a few seconds per variant; Linux only).
    """
    from .mlp_step import thread_count

    names, skipped = available_variants(variants)
    notes: list[str] = []
    rows = []
    with thread_count(1, notes):
        for batch in batches:
            peaks, methods, growth = {}, {}, {}
            for name in names:
                peaks[name], methods[name] = step_peak(name, batch)
                if rss and os.path.exists("/proc/self/status"):
                    growth[name] = rss_growth(name, batch)
            row = {"batch": batch, "peak_bytes": peaks, "method": methods}
            if growth:
                row["rss_growth_bytes"] = growth
            if "tinygrad_edu" in peaks and "torch" in peaks:
                row["ratios"] = {"tinygrad_edu/torch": peaks["tinygrad_edu"] / peaks["torch"]}
            rows.append(row)
    return {"rows": rows, "skipped": skipped, "notes": notes, "methods": METHODS}


def _proc_status_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # reported in kB
    raise RuntimeError(f"{field} not found in /proc/self/status")


def _measure_rss_here(variant: str, batch: int) -> None:
    """The subprocess side of rss_growth: build, measure, print one JSON line."""
    step = VARIANTS[variant][0](make_problem(batch))
    gc.collect()
    before = _proc_status_bytes("VmRSS")
    for _ in range(RSS_STEPS):
        step()
    growth = _proc_status_bytes("VmHWM") - before
    print(json.dumps({"variant": variant, "batch": batch, "rss_growth_bytes": growth}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="One variant's RSS growth (used by memory.run)")
    parser.add_argument("--rss", nargs=2, metavar=("VARIANT", "BATCH"), required=True)
    arguments = parser.parse_args()
    _measure_rss_here(arguments.rss[0], int(arguments.rss[1]))
