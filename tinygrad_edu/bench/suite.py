"""The whole benchmark suite in one run: kernels, the MLP step, per-op overhead, memory.

`main(argv)` is the command line (`tinygrad-edu bench`, or `python -m benchmarks` in a
checkout): it runs the sections, prints Markdown tables, and can write JSON, a bar chart
and the checkout's benchmarks/RESULTS.md. Each section lives in its own module; read
mlp_step.py first.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time

from . import memory, mlp_step, overhead

SECTIONS = ("kernels", "mlp", "overhead", "memory")
RESULTS_PATH = os.path.join("benchmarks", "RESULTS.md")  # in the checkout: run from its root
RESULTS_COMMAND = "python -m benchmarks --write-results"
# Variant columns in table order; a column appears only when that variant ran.
VARIANT_ORDER = ("tinygrad_edu", "numpy", "torch", "autograd", "mygrad")

# (repeats, seconds per sample) per mode: --quick is a CI smoke run, not a measurement.
SETTINGS = {
    "quick": {"repeats": 3, "min_sample_seconds": 0.005, "settle_seconds": 0.1, "rss": False},
    "full": {"repeats": 21, "min_sample_seconds": 0.03, "settle_seconds": 0.15, "rss": True},
}


# ---------------------------------------------------------------- running


def run(quick: bool = False, threads=(1, 2), sections=SECTIONS) -> dict:
    """Run the chosen sections and return every number as plain JSON-ready data."""
    settings = SETTINGS["quick" if quick else "full"]
    results = {"machine": machine_info(), "quick": quick, "started": _now()}
    started = time.perf_counter()
    if "kernels" in sections:
        results["kernels"] = _run_kernels(quick, threads)
    if "mlp" in sections:
        _progress("MLP training step")
        results["mlp"] = mlp_step.run(
            threads=threads,
            repeats=settings["repeats"],
            min_sample_seconds=settings["min_sample_seconds"],
            settle_seconds=settings["settle_seconds"],
        )
    if "overhead" in sections:
        _progress("per-op overhead")
        results["overhead"] = overhead.run(settings["repeats"], settings["min_sample_seconds"])
    if "memory" in sections:
        _progress("peak memory of a step")
        results["memory"] = memory.run(rss=settings["rss"])
    results["targets"] = targets(results)
    results["seconds"] = time.perf_counter() - started
    results["machine"]["load_average_after"] = _load_average()
    return results


def _run_kernels(quick: bool, threads) -> dict:
    """The kernel table of bench_kernels.py (the C core against NumPy)."""
    from . import bench_kernels

    _progress("C kernels (bench_kernels.py)")
    return bench_kernels.run(quick=quick, threads=[1] if quick else list(threads))


def _progress(section: str) -> None:
    print(f"[benchmarks] {section}...", file=sys.stderr, flush=True)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _load_average():
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def machine_info() -> dict:
    """What the numbers depend on: CPU, cores, load, and every library's version and backend."""
    import numpy as np

    import tinygrad_edu as tg

    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": _numpy_blas(),
        "tinygrad_edu": tg.__version__,
        "tinygrad_edu_kernel": tg.kernels.get_kernel(),
        "tinygrad_edu_openmp": bool(tg.kernels.have_openmp()),
        "git_commit": _git_commit(),
        "load_average_before": _load_average(),
    }
    for name in ("torch", "autograd", "mygrad", "threadpoolctl"):
        info[name] = _version(name)
    return info


def _cpu_model() -> str:
    """The model name and the widest SIMD the CPU reports (Linux's /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            text = cpuinfo.read()
    except OSError:
        return platform.processor() or "unknown"
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in text.splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    flags = next(
        (line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")),
        [],
    )
    simd = next((name for name in ("avx512f", "avx2", "sse4_2") if name in flags), "no AVX")
    return f"{model} ({simd})"


def _numpy_blas() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl to record it)"
    blas = [
        f"{i['internal_api']} {i['version']} {i.get('architecture') or ''}".strip()
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    return ", ".join(blas) or "none found"


def _git_commit() -> str | None:
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + (" (with uncommitted changes)" if dirty else "")


def _git(*args: str) -> str:
    """What `git args...` prints in the repository root, stripped; raises when git fails."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if not os.path.exists(os.path.join(root, ".git")):  # installed: no commit to name
        raise OSError("not a source checkout")
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def _version(module: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return "installed"


# ---------------------------------------------------------------- targets


def targets(results: dict) -> list[dict]:
    """The targets (step time against NumPy and PyTorch, per-op time, peak memory), each with
    the measured value and whether it is met."""
    rows = []
    for row in results.get("mlp", {}).get("rows", []):
        for name, ratio in row["ratios"].items():
            shown = f"{ratio:.2f}x"
            if name in row.get("cpu_ratios", {}):
                shown += f" (CPU time {row['cpu_ratios'][name]:.2f}x)"
            rows.append(
                _target(
                    f"MLP step b{row['batch']} t{row['threads']}: {name} <= {mlp_step.TARGET_RATIO}",
                    ratio,
                    mlp_step.TARGET_RATIO,
                    shown,
                )
            )
    for row in results.get("overhead", {}).get("rows", []):
        if row["target_s"] is not None and "tinygrad_edu" in row["times"]:
            seconds = row["times"]["tinygrad_edu"]["median_s"]
            cpu_seconds = row["times"]["tinygrad_edu"]["cpu_median_s"]
            limit = row["target_s"]
            rows.append(
                _target(
                    f"{row['description']} <= {limit * 1e6:g} us",
                    seconds,
                    limit,
                    f"{seconds * 1e6:.1f} us (CPU time {cpu_seconds * 1e6:.1f} us)",
                )
            )
    for row in results.get("memory", {}).get("rows", []):
        ratio = row.get("ratios", {}).get("tinygrad_edu/torch")
        if ratio is not None:
            rows.append(
                _target(
                    f"step peak memory b{row['batch']}: tinygrad_edu/torch <= 1",
                    ratio,
                    1.0,
                    f"{ratio:.2f}x",
                )
            )
    return rows


def _target(name: str, value: float, limit: float, shown: str) -> dict:
    return {"target": name, "value": value, "limit": limit, "shown": shown, "met": value <= limit}


# ---------------------------------------------------------------- Markdown


def format_markdown(results: dict) -> str:
    """Every section that ran, as Markdown tables, then the targets and the notes."""
    parts = []
    if "mlp" in results:
        parts.append(_mlp_table(results["mlp"]))
    if "overhead" in results:
        parts.append(_overhead_table(results["overhead"]))
    if "memory" in results:
        parts.append(_memory_table(results["memory"]))
    if "kernels" in results:
        parts.append(_kernels_table(results["kernels"]))
    if results.get("targets"):
        parts.append(_targets_list(results["targets"]))
    parts.append(_notes(results))
    return "\n\n".join(part for part in parts if part)


def _variants(rows: list[dict], key: str) -> list[str]:
    present = {name for row in rows for name in row[key]}
    return [name for name in VARIANT_ORDER if name in present]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio_cells(row: dict, names: list[str], key: str = "ratios") -> list[str]:
    return [f"{row[key][name]:.2f}" if name in row.get(key, {}) else "-" for name in names]


def _mlp_table(mlp: dict) -> str:
    names = _variants(mlp["rows"], "times")
    ratio_names = [
        f"tinygrad_edu/{r}" for r in mlp_step.REFERENCES if r in names and "tinygrad_edu" in names
    ]
    body = [
        [str(row["batch"]), str(row["threads"])]
        + [f"{row['times'][n]['median_s'] * 1e3:.3f}" if n in row["times"] else "-" for n in names]
        + _ratio_cells(row, ratio_names)
        + _ratio_cells(row, ratio_names, "cpu_ratios")
        for row in mlp["rows"]
    ]
    header = (
        ["batch", "threads"]
        + [f"{n} ms" for n in names]
        + ratio_names
        + [f"{name} (CPU time)" for name in ratio_names]
    )
    title = (
        "### MLP training step: 784-256-128-10, ReLU, softmax cross-entropy, SGD lr 0.01, float32\n\n"
        "Median wall time per step; ratios are same-run "
        f"(target: tinygrad_edu <= {mlp_step.TARGET_RATIO}x). The CPU-time ratios (1 thread) "
        "leave out time spent waiting for a core, so other processes' load disturbs them less."
    )
    return title + "\n\n" + _table(header, body)


def _overhead_table(results: dict) -> str:
    names = _variants(results["rows"], "times")
    ratio_names = ["tinygrad_edu/numpy", "tinygrad_edu/torch"]
    body = [
        [row["description"]]
        + [f"{row['times'][n]['median_s'] * 1e6:.2f}" if n in row["times"] else "-" for n in names]
        + _ratio_cells(row, ratio_names)
        + _ratio_cells(row, ratio_names, "cpu_ratios")
        + [f"<= {row['target_s'] * 1e6:g} us" if row["target_s"] else "-"]
        for row in results["rows"]
    ]
    header = (
        ["case"]
        + [f"{n} us" for n in names]
        + ratio_names
        + [f"{name} (CPU time)" for name in ratio_names]
        + ["target"]
    )
    title = "### Per-op overhead (1 thread)\n\nMedian time per call; numpy's backward is written by hand (no graph)."
    return title + "\n\n" + _table(header, body)


def _memory_table(results: dict) -> str:
    names = _variants(results["rows"], "peak_bytes")
    with_rss = any("rss_growth_bytes" in row for row in results["rows"])
    body = []
    for row in results["rows"]:
        cells = [str(row["batch"])]
        cells += [
            f"{row['peak_bytes'][n] / 1024:.0f}" if n in row["peak_bytes"] else "-" for n in names
        ]
        cells += _ratio_cells(row, ["tinygrad_edu/torch"])
        if with_rss:
            growth = row.get("rss_growth_bytes", {})
            cells += [f"{growth[n] / 1024:.0f}" if n in growth else "-" for n in names]
        body.append(cells)
    header = ["batch"] + [f"{n} KiB" for n in names] + ["tinygrad_edu/torch"]
    if with_rss:
        header += [f"{n} RSS KiB" for n in names]
    title = (
        "### Peak memory of one training step (1 thread)\n\n"
        "Most bytes held at once by blocks allocated during one step (after 2 warm-up steps); "
        "target: tinygrad_edu <= torch."
    )
    if with_rss:
        title += " RSS columns: resident-set growth over the first steps in a fresh process."
    methods = [
        f"- {name}: {text}"
        for name, text in results["methods"].items()
        if with_rss or name != "rss"
    ]
    return (
        title + "\n\n" + _table(header, body) + "\n\nHow each is measured:\n\n" + "\n".join(methods)
    )


def _kernels_table(results: dict) -> str:
    if "skipped" in results:
        return f"### C kernels\n\nSkipped: {results['skipped']}."
    from . import bench_kernels

    return "### C kernels (tinygrad_edu/bench/bench_kernels.py)\n\n" + bench_kernels.format_markdown(
        results
    )


def _targets_list(rows: list[dict]) -> str:
    met = sum(row["met"] for row in rows)
    heading = "### Targets for step time, per-op time and peak memory"
    lines = [f"{heading}: {met} of {len(rows)} met", ""]
    lines += [f"- [{'x' if row['met'] else ' '}] {row['target']}: {row['shown']}" for row in rows]
    return "\n".join(lines)


def _notes(results: dict) -> str:
    skipped, notes = {}, []
    for section in ("mlp", "overhead", "memory"):
        skipped.update(results.get(section, {}).get("skipped", {}))
        notes += [n for n in results.get(section, {}).get("notes", []) if n not in notes]
    machine = results["machine"]
    lines = [
        f"Run {results['started']} on {machine['cpu']}, {machine['cores']} cores, load average "
        f"{_load(machine['load_average_before'])} before and {_load(machine.get('load_average_after'))} after"
        + (" (quick mode: too few repeats to quote)" if results["quick"] else "")
        + f"; {results.get('seconds', 0):.0f} s."
    ]
    lines += [f"- {name}: {note}" for name, note in sorted(skipped.items())]
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines)


def _load(values) -> str:
    return "unknown" if values is None else "/".join(f"{v:.1f}" for v in values)


# ---------------------------------------------------------------- outputs


def write_results_file(results: dict, path: str = RESULTS_PATH) -> None:
    """benchmarks/RESULTS.md: the command, the machine and library versions, every table."""
    machine = results["machine"]
    versions = ", ".join(
        f"{name} {machine[name]}"
        for name in (
            "python",
            "numpy",
            "torch",
            "autograd",
            "mygrad",
            "threadpoolctl",
            "tinygrad_edu",
        )
        if machine.get(name)
    )
    header = [
        "# Benchmark results",
        "",
        f"Regenerate this file with `{RESULTS_COMMAND}` (a few minutes; run it on an otherwise idle machine).",
        "",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['platform']}",
        f"- Libraries: {versions}; NumPy's BLAS: {machine['numpy_blas']}",
        (
            f"- tinygrad_edu kernel: {machine['tinygrad_edu_kernel']}, "
            f"OpenMP: {machine['tinygrad_edu_openmp']}, commit {machine['git_commit']}"
        ),
        (
            f"- Run: {results['started']}, {results['seconds']:.0f} s; load average before "
            f"{_load(machine['load_average_before'])}, after "
            f"{_load(machine.get('load_average_after'))} "
            "(1/5/15 min; above 0 means other processes shared the cores)"
        ),
        "",
        (
            "How to read it: every time is a median over interleaved repeats (the variants take "
            "turns, so a noisy neighbour slows them alike) and every ratio is taken within the "
            "same run. With 2 threads each sample starts after a short sleep, so another "
            "library's thread pool is not still spinning; on a shared 2-core machine the "
            "2-thread rows are the noisiest."
        ),
    ]
    busy = _busy_warning(machine)
    if busy:
        header += ["", busy]
    with open(path, "w") as results_file:
        results_file.write("\n".join(header) + "\n\n" + format_markdown(results) + "\n")


def _busy_warning(machine: dict) -> str | None:
    """A warning when other processes kept the cores busy during the run (load >= cores / 2)."""
    loads = [machine.get("load_average_before"), machine.get("load_average_after")]
    highest = max((values[0] for values in loads if values), default=0.0)
    if highest < machine["cores"] / 2:
        return None
    return (
        f"**Warning: the machine was busy** (1-minute load average up to {highest:.1f} on "
        f"{machine['cores']} cores). Absolute times are inflated and the multi-thread rows "
        "mostly measure threads waiting for a core; trust the 1-thread CPU-time ratios most, "
        "and regenerate on an idle machine before quoting numbers."
    )


def plot(results: dict, path: str) -> None:
    """A bar chart PNG: MLP step times and per-op overheads, one bar per library."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("--plot needs matplotlib: pip install matplotlib") from None
    panels = [(key, results[key]) for key in ("mlp", "overhead") if key in results]
    if not panels:
        raise ValueError("--plot needs the mlp or overhead section")
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for axis, (key, section) in zip(axes[0], panels):
        # Log scales: the libraries differ by 10x and more, and so do busy-machine outliers.
        if key == "mlp":
            labels = [f"b{row['batch']} t{row['threads']}" for row in section["rows"]]
            scale, unit = 1e3, "ms per step (log scale)"
        else:
            labels = [row["case"].replace("_", " ") for row in section["rows"]]
            scale, unit = 1e6, "us per call (log scale)"
        axis.set_yscale("log")
        names = _variants(section["rows"], "times")
        width = 0.8 / len(names)
        for index, name in enumerate(names):
            heights = [
                row["times"][name]["median_s"] * scale if name in row["times"] else 0
                for row in section["rows"]
            ]
            axis.bar([i + index * width for i in range(len(labels))], heights, width, label=name)
        axis.set_xticks([i + 0.4 - width / 2 for i in range(len(labels))], labels, fontsize=8)
        axis.set_ylabel(unit)
        axis.set_title("MLP training step" if key == "mlp" else "Per-op overhead")
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None, prog: str = "python -m benchmarks") -> int:
    """The command line; `tinygrad-edu bench` calls main(its arguments, prog="tinygrad-edu bench")."""
    parser = argparse.ArgumentParser(
        prog=prog, description="tinygrad_edu against NumPy and PyTorch, in one interleaved run."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run for CI (well under a minute; numbers not meaningful)",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="write the results as JSON to PATH, or to stdout (then without the tables)",
    )
    parser.add_argument("--plot", metavar="PATH", help="write a bar chart PNG (needs matplotlib)")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default: 1 2)"
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="which sections to run (default: all)",
    )
    parser.add_argument(
        "--write-results",
        action="store_true",
        help=f"also write {os.path.relpath(RESULTS_PATH)} (use without --quick)",
    )
    arguments = parser.parse_args(argv)
    if arguments.write_results and not os.path.isdir(os.path.dirname(RESULTS_PATH)):
        parser.error(
            "--write-results updates benchmarks/RESULTS.md: run it from the checkout's root"
        )
    if any(count < 1 for count in arguments.threads):
        parser.error(f"--threads must be >= 1, got {arguments.threads}")

    results = run(
        quick=arguments.quick,
        threads=tuple(sorted(set(arguments.threads))),
        sections=arguments.sections,
    )
    if arguments.json == "-":
        print(json.dumps(results, indent=1))
    else:
        print(format_markdown(results))
        if arguments.json:
            with open(arguments.json, "w") as json_file:
                json.dump(results, json_file, indent=1)
    if arguments.plot:
        plot(results, arguments.plot)
    if arguments.write_results:
        write_results_file(results)
    return 0
