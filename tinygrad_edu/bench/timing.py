"""The one timing helper every benchmark uses: interleaved repeats, medians.

On a shared machine a neighbour's load comes and goes; timing the candidates
round-robin (A, B, C, A, B, C, ...) spreads it over all of them alike, so a
same-run ratio of medians stays honest even when the absolute times drift.
Each sample also records the process's CPU time: on one thread it leaves out the
time the process sat waiting for a core. Read mlp_step.py next.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Timing:
    """Seconds per call: the wall-clock median, fastest and slowest sample, and the CPU-time median."""

    median: float
    low: float
    high: float
    # Process CPU time per call (all threads): equal to wall time on an idle core with one
    # thread, much steadier than it on a busy machine; not comparable to wall time with threads.
    cpu_median: float
    samples: int  # how many samples the medians are taken over
    calls_per_sample: int  # back-to-back calls timed together in each sample

    def to_dict(self) -> dict:
        return {
            "median_s": self.median,
            "low_s": self.low,
            "high_s": self.high,
            "cpu_median_s": self.cpu_median,
            "samples": self.samples,
            "calls_per_sample": self.calls_per_sample,
        }


def seconds_per_call(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """(wall, process CPU) seconds of `calls` back-to-back calls of fn, each divided by `calls`."""
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(calls):
        fn()
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    return wall / calls, cpu / calls


def calls_for(fn: Callable[[], object], min_sample_seconds: float) -> int:
    """How many back-to-back calls make one sample last about min_sample_seconds.

    Calls of a microsecond or less are batched so that the timer's resolution and
    the loop's own cost (tens of nanoseconds per call) stay small beside them.
    """
    calls = 1
    while True:
        elapsed = seconds_per_call(fn, calls)[0] * calls
        if elapsed >= min_sample_seconds:
            return calls
        # Aim straight at the target from this estimate, at least doubling each round.
        estimate = min_sample_seconds / max(elapsed, 1e-7) * calls
        calls = max(2 * calls, int(estimate * 1.1))


def time_interleaved(
    candidates: dict[str, Callable[[], object]],
    repeats: int,
    min_sample_seconds: float = 0.01,
    warmup_calls: int = 3,
    settle_seconds: float = 0.0,
) -> dict[str, Timing]:
    """Time every candidate `repeats` times, round-robin, and return their medians.

    Each candidate is warmed up first (caches, lazily created buffers, thread pools),
    then sized so one sample lasts min_sample_seconds. On each repeat the starting
    candidate rotates, so none always runs right after the same neighbour.
    settle_seconds > 0 sleeps before each sample: a thread pool keeps spinning for a
    while after its work (OpenBLAS about 0.1 s), and on a 2-core machine a spinning
    pool of the previous candidate would steal a core from the next one.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    names = list(candidates)
    for name in names:
        for _ in range(warmup_calls):
            candidates[name]()
    calls = {name: calls_for(candidates[name], min_sample_seconds) for name in names}
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            if settle_seconds:
                time.sleep(settle_seconds)
            samples[name].append(seconds_per_call(candidates[name], calls[name]))
    timings = {}
    for name, pairs in samples.items():
        walls = [wall for wall, _ in pairs]
        timings[name] = Timing(
            median=statistics.median(walls),
            low=min(walls),
            high=max(walls),
            cpu_median=statistics.median(cpu for _, cpu in pairs),
            samples=len(pairs),
            calls_per_sample=calls[name],
        )
    return timings
