"""The command line, `python -m tinygrad_edu` or `tinygrad-edu`: demo, experiment, bench.

`demo` trains a small MLP on the bundled digits and prints its health; `experiment NAME`
reproduces one training failure next to its remedy (experiments/); `bench` times the C
kernels against NumPy (the benchmarks/ suite when this is a source checkout).
Read experiments/runner.py for the training loop all of them share.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import kernels, nn, optim
from .diagnostics import HealthMonitor
from .experiments import NAMES, run_experiment
from .experiments.runner import SEED, accuracy, digits, fit, format_outcome, mlp
from .random import manual_seed
from .viz import pyplot

PROG = "tinygrad-edu"


def main(argv: list[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # bench hands all its options to the benchmark suite
        return bench(argv[1:])
    arguments = build_parser().parse_args(argv)
    if arguments.command is None:
        build_parser().print_help()
        return 0
    try:
        if getattr(arguments, "plot", None):
            pyplot()  # fail before training, not after, when matplotlib is missing
        return arguments.handler(arguments)
    except ImportError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="tinygrad_edu: train, watch and break small neural networks.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo_parser = commands.add_parser(
        "demo",
        help="train an MLP with BatchNorm and Dropout on the digits; print accuracy and health",
        description="Train an MLP (BatchNorm1d, ReLU, Dropout) on the bundled digits with a "
        "progress bar, then print the test accuracy and the HealthMonitor summary.",
    )
    demo_parser.add_argument("--epochs", type=int, default=15, help="epochs (default: 15)")
    demo_parser.add_argument("--plot", metavar="PATH", help="write the monitor's PNG to PATH")
    demo_parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo_parser.set_defaults(handler=demo)

    experiment_parser = commands.add_parser(
        "experiment",
        help="reproduce a training failure and its remedy side by side",
        description="Reproduce one training failure next to its remedy, on the digits data.",
    )
    experiment_parser.add_argument(
        "name",
        type=_experiment_name,
        choices=NAMES,
        metavar="NAME",
        help=f"one of: {', '.join(NAMES)}",
    )
    experiment_parser.add_argument(
        "--json", action="store_true", help="print the results as one JSON object"
    )
    experiment_parser.add_argument("--plot", metavar="PATH", help="write a PNG figure to PATH")
    experiment_parser.add_argument(
        "--quick", action="store_true", help="fewer epochs (a smoke run)"
    )
    experiment_parser.add_argument(
        "--no-progress", action="store_true", help="hide the progress bars"
    )
    experiment_parser.set_defaults(handler=experiment)

    commands.add_parser(
        "bench",
        help="the C kernels and a training step against NumPy (and PyTorch); see bench --help",
        add_help=False,
    )
    return parser


def _experiment_name(text: str) -> str:
    return text.replace("_", "-")  # dead_relu and dead-relu both work


def demo(arguments: argparse.Namespace) -> int:
    """An MLP with BatchNorm1d and Dropout on the digits, Adam, a HealthMonitor watching."""
    started = time.perf_counter()
    data = digits()
    manual_seed(SEED)
    model = mlp([64, 128, 64, 10], nn.ReLU, batch_norm=True, dropout=0.2)
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    monitor = HealthMonitor(model)
    print(model)
    fit(
        model,
        optimizer,
        data,
        arguments.epochs,
        monitor,
        progress=not arguments.no_progress,
        desc="demo",
    )
    monitor.remove()
    print(
        f"\ntest accuracy: {accuracy(model, data.X_test, data.y_test):.1%} on {len(data.y_test)} held-out digits"
    )
    print(
        f"train accuracy: {accuracy(model, data.X_train, data.y_train):.1%}, time: {time.perf_counter() - started:.1f} s\n"
    )
    print(monitor.summary())
    if arguments.plot:
        monitor.plot(arguments.plot)
        print(f"\nwrote {arguments.plot}")
    return 0


def experiment(arguments: argparse.Namespace) -> int:
    progress = not (arguments.no_progress or arguments.json)
    outcome = run_experiment(
        arguments.name, plot_path=arguments.plot, progress=progress, quick=arguments.quick
    )
    if arguments.json:
        print(json.dumps(outcome, allow_nan=False))
    else:
        print(format_outcome(outcome))
        if arguments.plot:
            print(f"\nwrote {arguments.plot}")
    return 0


# ---------------------------------------------------------------- bench


def bench(argv: list[str]) -> int:
    """The benchmark suite's command line (benchmarks/suite.py) when it can be imported, else
    the built-in kernel table. Delegation is this one call, so the suite can replace it all."""
    suite_main = _benchmark_suite()
    if suite_main is not None:
        return suite_main(argv, prog=f"{PROG} bench")
    return builtin_bench(argv)


def _benchmark_suite():
    """benchmarks.suite.main from the current directory or this source checkout, else None."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "benchmarks" / "suite.py").is_file() and str(checkout) not in sys.path:
        sys.path.append(str(checkout))
    try:
        from benchmarks.suite import main as suite_main
    except ImportError:
        return None
    return suite_main


def builtin_bench(argv: list[str]) -> int:
    """The C kernels against NumPy (medians, each with its default threads): matmul and relu."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG} bench",
        description="Time the C kernels against NumPy (the full suite lives in benchmarks/ of a source checkout).",
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    arguments = parser.parse_args(argv)
    rows = kernel_rows(arguments.quick)
    if arguments.json:
        print(json.dumps({"threads": kernels.get_num_threads(), "rows": rows}))
        return 0
    print(f"{'kernel':<28} {'tinygrad_edu':>14} {'numpy':>12} {'speed-up':>9}")
    for row in rows:
        print(
            f"{row['case']:<28} {row['ours_us']:>11.1f} us {row['numpy_us']:>9.1f} us {row['speedup']:>8.2f}x"
        )
    print(
        f"(medians; tinygrad_edu on {kernels.get_num_threads()} threads, NumPy with its BLAS's "
        "own; speed-up > 1: tinygrad_edu is faster)"
    )
    return 0


def kernel_rows(quick: bool) -> list[dict]:
    """One row per case: median microseconds of our kernel and of NumPy, writing into `out`."""
    rng = np.random.default_rng(SEED)
    repeats = 5 if quick else 21
    rows = []
    for size in (64, 256) if quick else (64, 256, 512, 1024):
        a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
        out = np.empty((size, size), np.float32)
        rows.append(
            _row(
                f"matmul {size}x{size} f32",
                repeats,
                lambda a=a, b=b, out=out: kernels.matmul(a, b, out=out),
                lambda a=a, b=b, out=out: np.matmul(a, b, out=out),
            )
        )
    for size in (100_000,) if quick else (100_000, 4_000_000):
        x = rng.standard_normal(size, dtype=np.float32)
        out = np.empty_like(x)
        rows.append(
            _row(
                f"relu {size:,} f32",
                repeats,
                lambda x=x, out=out: kernels.relu(x, out=out),
                lambda x=x, out=out: np.maximum(x, 0, out=out),
            )
        )
    return rows


def _row(case: str, repeats: int, ours, theirs) -> dict:
    ours_us, numpy_us = _median_us(ours, repeats), _median_us(theirs, repeats)
    return {"case": case, "ours_us": ours_us, "numpy_us": numpy_us, "speedup": numpy_us / ours_us}


def _median_us(call, repeats: int) -> float:
    """Median over `repeats` samples of the time per call; each sample loops for about 5 ms."""
    call()
    loops = max(1, int(0.005 / max(_seconds(call, 1), 1e-7)))
    return float(np.median([_seconds(call, loops) / loops for _ in range(repeats)]) * 1e6)


def _seconds(call, loops: int) -> float:
    started = time.perf_counter()
    for _ in range(loops):
        call()
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
