"""The command line, `python -m tinygrad_edu` or `tinygrad-edu`: demo, experiment, bench.

`demo` trains a small MLP on the bundled digits and prints its health; `experiment NAME`
reproduces one training failure next to its remedy (experiments/); `bench` runs the
benchmark suite (bench/): the C kernels and a training step against NumPy and PyTorch.
Read experiments/runner.py for the training loop all of them share.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from . import __version__, nn, optim
from .diagnostics import HealthMonitor
from .experiments import NAMES, run_experiment
from .experiments.runner import SEED, accuracy, digits, fit, format_outcome, mlp
from .random import manual_seed
from .viz import pyplot

PROG = "tinygrad-edu"
CLOSED_PIPE_STATUS = 141  # what a shell reports for a program stopped by SIGPIPE


def main(argv: list[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        status = run_command(argv)
        sys.stdout.flush()  # a closed pipe shows here, not as a traceback at exit
    except BrokenPipeError:
        # The reader left (`... | head -1`): stop quietly, and keep the interpreter's last
        # flush of stdout from failing again on the way out.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return CLOSED_PIPE_STATUS
    return status


def run_command(argv: list[str]) -> int:
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
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo_parser = commands.add_parser(
        "demo",
        help="train an MLP with BatchNorm and Dropout on the digits; print accuracy and health",
        description="Train an MLP (BatchNorm1d, ReLU, Dropout) on the bundled digits with a "
        "progress bar, then print the test accuracy and the HealthMonitor summary.",
    )
    demo_parser.add_argument(
        "--epochs", type=positive_int, default=15, help="epochs, at least 1 (default: 15)"
    )
    demo_parser.add_argument("--plot", metavar="PATH", help="write the monitor's PNG to PATH")
    demo_parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo_parser.add_argument(
        "--model",
        choices=("mlp", "cnn"),
        default="mlp",
        help="mlp (default) or cnn: a conv-relu-pool network on the 8x8 digits",
    )
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
        help="the C kernels, a training step, per-op cost and memory against NumPy and "
        "PyTorch; see bench --help",
        add_help=False,
    )
    return parser


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (argparse reports the error with the usage line)."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _experiment_name(text: str) -> str:
    return text.replace("_", "-")  # dead_relu and dead-relu both work


def demo(arguments: argparse.Namespace) -> int:
    """An MLP with BatchNorm1d and Dropout on the digits, Adam, a HealthMonitor watching."""
    if arguments.model == "cnn":
        from .experiments.cnn_demo import demo as cnn_demo

        return cnn_demo(arguments)
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
    """The benchmark suite (bench/suite.py): the same tables from a wheel or a checkout."""
    from .bench.suite import main as suite_main

    return suite_main(argv, prog=f"{PROG} bench")


if __name__ == "__main__":
    sys.exit(main())
