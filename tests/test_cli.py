"""The command line: demo, experiment (--json, --plot, bad names), bench, --help; progress bars."""

import io
import json
import re
import subprocess
import sys

import pytest

from tinygrad_edu import progress
from tinygrad_edu import __version__
from tinygrad_edu.__main__ import CLOSED_PIPE_STATUS, main
from tinygrad_edu.experiments import NAMES



def run_cli(*args):
    """The installed command in a child process (from the current directory, not the sources)."""
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_edu", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_help_lists_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("demo", "experiment", "bench"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["demo", "experiment"])
def test_each_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"tinygrad-edu {command}" in capsys.readouterr().out


def test_bad_experiment_name_lists_the_valid_ones():
    result = run_cli("experiment", "gradient-fairies")
    assert result.returncode == 2
    assert "invalid choice: 'gradient-fairies'" in result.stderr
    for name in NAMES:
        assert name in result.stderr


def test_experiment_json_parses_and_accepts_underscores(capsys):
    assert main(["experiment", "dead_relu", "--json", "--quick"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["experiment"] == "dead-relu"
    roles = [run["role"] for run in result["runs"]]
    assert roles == ["failure", "remedy"]
    assert all(isinstance(run["findings"], list) for run in result["runs"])


def test_experiment_table_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "vanishing.png"
    assert main(["experiment", "vanishing", "--quick", "--no-progress", "--plot", str(path)]) == 0
    out = capsys.readouterr().out
    assert "8 sigmoid layers" in out and "vanishing_gradient" in out and "test acc" in out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_fails_early_with_install_advice(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["experiment", "vanishing", "--plot", "never.png"]) == 1
    assert "pip install matplotlib" in capsys.readouterr().err


def test_demo_reaches_95_percent_and_prints_health(capsys):
    assert main(["demo", "--no-progress"]) == 0
    out = capsys.readouterr().out
    accuracy = float(re.search(r"test accuracy: ([\d.]+)%", out).group(1))
    assert accuracy >= 95.0
    assert "HealthMonitor:" in out and "BatchNorm1d" in out and "Dropout" in out


def test_version_is_the_package_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"tinygrad-edu {__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


@pytest.mark.parametrize("epochs", ["0", "-1", "two"])
def test_demo_rejects_epochs_below_one(epochs):
    result = run_cli("demo", "--epochs", epochs)
    assert result.returncode == 2
    assert "argument --epochs: must be" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_closed_pipe_ends_quietly():
    """`tinygrad-edu experiment vanishing --json | head -1`, with the reader gone before the
    command writes: no traceback, and the status a shell gives a program stopped by SIGPIPE."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tinygrad_edu", "experiment", "vanishing", "--json", "--quick"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    child.stdout.close()  # the reader leaves before anything is written
    _, stderr = child.communicate(timeout=300)
    assert stderr.decode() == ""
    assert child.returncode == CLOSED_PIPE_STATUS


def test_bench_help_is_answered(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: tinygrad-edu bench")
    assert "--sections" in help_text  # the whole suite, not a kernel-only stand-in


def test_plain_progress_bar_when_tqdm_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    stream = io.StringIO()
    with progress.progress_bar(4, desc="train", file=stream) as bar:
        assert isinstance(bar, progress.PlainBar)
        for _ in range(4):
            bar.update()
        bar.set_postfix(loss=0.123456)
    last = stream.getvalue().split("\r")[-1]
    assert last.startswith("train 100% |" + "#" * progress.PlainBar.WIDTH + "| 4/4 loss=0.1235")
    assert last.endswith("\n")


def test_disabled_progress_writes_nothing():
    stream = io.StringIO()
    with progress.progress_bar(3, file=stream, enabled=False) as bar:
        bar.update()
    assert stream.getvalue() == ""


def _cie_lab(rgb) -> tuple:
    """sRGB in [0, 1] to CIE L*a*b* (D65): distances there follow what the eye tells apart."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    x = (0.4124 * linear[0] + 0.3576 * linear[1] + 0.1805 * linear[2]) / 0.95047
    y = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    z = (0.0193 * linear[0] + 0.1192 * linear[1] + 0.9505 * linear[2]) / 1.08883
    f = lambda t: t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116  # noqa: E731
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_sweep_colours_are_far_apart():
    """The lr-sweep figure's lines are told apart: every pair of its colours is at least 30
    apart in CIE L*a*b* (the plasma ramp it replaced put 0.001 and 0.01 at 23)."""
    pytest.importorskip("matplotlib")
    import math

    from matplotlib.colors import to_rgb

    from tinygrad_edu.experiments import figures, lr_sweep

    runs = [{"role": "sweep"} for _ in lr_sweep.RATES]
    lab = [_cie_lab(to_rgb(colour)) for colour in figures.colours(runs)]
    for i in range(len(lab)):
        for j in range(i + 1, len(lab)):
            assert math.dist(lab[i], lab[j]) >= 30, (i, j)
