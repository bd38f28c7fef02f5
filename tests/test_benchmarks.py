"""The benchmark suite works (no timing assertions): the --quick run prints its tables and
valid JSON, every variant of the MLP step computes the same thing, and the timing and
memory helpers measure what they claim. Read tinygrad_edu/bench/suite.py for the suite itself.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_edu.bench import memory, mlp_step, suite, timing
from tinygrad_edu.bench.numpy_mlp import softmax_cross_entropy

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[str, dict]:
    """`tinygrad-edu bench --quick --json PATH` once, away from any checkout: stdout and JSON."""
    folder = tmp_path_factory.mktemp("bench")
    json_path = folder / "results.json"
    command = [sys.executable, "-m", "tinygrad_edu", "bench", "--quick", "--json", str(json_path)]
    finished = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=300, check=False
    )
    assert finished.returncode == 0, finished.stderr
    with open(json_path) as json_file:
        return finished.stdout, json.load(json_file)


def test_quick_run_prints_every_table(quick_run):
    stdout, _ = quick_run
    for heading in (
        "### MLP training step",
        "### Per-op overhead",
        "### Peak memory",
        "### C kernels",
        "### Targets for step time, per-op time and peak memory",
    ):
        assert heading in stdout
    assert "| batch | threads | tinygrad_edu ms | numpy ms |" in stdout


def test_quick_run_json_has_every_configuration(quick_run):
    _, results = quick_run
    configurations = {(row["batch"], row["threads"]) for row in results["mlp"]["rows"]}
    assert configurations == {(32, 1), (128, 1), (32, 2), (128, 2)}
    for row in results["mlp"]["rows"]:
        times = {name: t["median_s"] for name, t in row["times"].items()}
        assert {"tinygrad_edu", "numpy"} <= set(times)
        assert all(seconds > 0 for seconds in times.values())
        # Ratios are same-run ratios of the reported medians.
        assert row["ratios"]["tinygrad_edu/numpy"] == pytest.approx(
            times["tinygrad_edu"] / times["numpy"]
        )
        assert ("cpu_ratios" in row) == (row["threads"] == 1)
    cases = [row["case"] for row in results["overhead"]["rows"]]
    assert cases == ["add", "add_requires_grad", "tiny_forward_backward", "tiny_mlp_step"]
    assert all(row["peak_bytes"]["tinygrad_edu"] > 0 for row in results["memory"]["rows"])
    assert results["machine"]["numpy"] == np.__version__
    # A target per MLP ratio, the two overhead targets, a memory target per batch with torch.
    expected = sum(len(row["ratios"]) for row in results["mlp"]["rows"]) + 2
    expected += sum("ratios" in row for row in results["memory"]["rows"])
    assert len(results["targets"]) == expected


def test_targets_are_named_by_what_they_measure(quick_run):
    _, results = quick_run
    for row in results["targets"]:  # what is measured, then its bound: "MLP step b32 ... <= 0.8"
        assert "<=" in row["target"] and "issue" not in row["target"].lower()
    assert "issue" not in quick_run[0].lower()


def test_checkout_entry_point_runs_the_same_suite(monkeypatch, capsys):
    """`python -m benchmarks` (the checkout's shim) is the package's suite under another name."""
    monkeypatch.syspath_prepend(REPO_ROOT)
    monkeypatch.setattr(sys, "argv", ["benchmarks", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("benchmarks", run_name="__main__")
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: python -m benchmarks")
    assert "--write-results" in help_text and "--sections" in help_text


def test_write_results_outside_a_checkout_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        suite.main(["--quick", "--sections", "overhead", "--write-results"])
    assert exit_info.value.code == 2
    assert "run it from the checkout's root" in capsys.readouterr().err
    assert not (tmp_path / "benchmarks").exists()


def test_json_to_stdout_is_the_only_output(capsys):
    assert suite.main(["--quick", "--sections", "overhead", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["overhead"]["rows"][0]["case"] == "add"
    assert "mlp" not in results


def test_results_file_shows_its_command_and_tables(quick_run, tmp_path):
    _, results = quick_run
    path = tmp_path / "RESULTS.md"
    suite.write_results_file(results, str(path))
    text = path.read_text()
    assert suite.RESULTS_COMMAND in text
    assert f"numpy {np.__version__}" in text
    assert "### MLP training step" in text


def test_plot_writes_a_png(quick_run, tmp_path):
    pytest.importorskip("matplotlib")
    _, results = quick_run
    path = tmp_path / "bench.png"
    suite.plot(results, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("batch", [8, 32])
def test_every_variant_computes_the_same_losses(batch):
    """Same start, same batch: the losses of the first steps agree to float32 rounding,
    so the forward, the gradients and the update are the same in every variant."""
    losses = mlp_step.first_losses(batch, steps=3)
    assert {"tinygrad_edu", "numpy"} <= set(losses)
    assert losses["numpy"][0] != losses["numpy"][2]  # the steps did change the weights
    for name, values in losses.items():
        np.testing.assert_allclose(values, losses["numpy"], rtol=2e-5, err_msg=name)


def test_torch_variant_agrees():
    pytest.importorskip("torch")
    losses = mlp_step.first_losses(16, steps=3, variants=["numpy", "torch"])
    np.testing.assert_allclose(losses["torch"], losses["numpy"], rtol=2e-5)


def test_numpy_baseline_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    logits, target = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    _, grad = softmax_cross_entropy(logits, target)
    eps, numerical = 1e-6, np.zeros_like(logits)
    for index in np.ndindex(logits.shape):
        shifted = logits.copy()
        shifted[index] += eps
        plus = softmax_cross_entropy(shifted, target)[0]
        shifted[index] -= 2 * eps
        numerical[index] = (plus - softmax_cross_entropy(shifted, target)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, numerical, atol=1e-8)


def test_time_interleaved_rotates_and_counts_calls():
    order: list[str] = []
    candidates = {name: (lambda name=name: order.append(name)) for name in "abc"}
    timings = timing.time_interleaved(candidates, repeats=3, min_sample_seconds=0, warmup_calls=0)
    assert order[-9:] == list("abcbcacab")  # min_sample_seconds=0: one call per sample
    for result in timings.values():
        assert result.samples == 3 and result.calls_per_sample == 1
        assert result.low <= result.median <= result.high
        assert result.cpu_median >= 0


def test_tracemalloc_peak_sees_a_temporary_array():
    peak = memory.tracemalloc_peak(lambda: np.ones(1_000_000).sum())
    assert 8_000_000 <= peak < 9_000_000


def test_torch_profiler_peak_sees_a_temporary_tensor():
    torch = pytest.importorskip("torch")
    kept = torch.ones(1_000_000)  # allocated before: freeing it inside the step is not counted
    peak = memory.torch_profiler_peak(lambda: (torch.ones(1_000_000) * 2).sum())
    assert 8_000_000 <= peak < 9_000_000
    del kept


def test_results_file_warns_when_the_machine_was_busy(quick_run, tmp_path):
    _, results = quick_run
    path = tmp_path / "RESULTS.md"
    cores = results["machine"]["cores"]
    for load, warned in ((0.0, False), (float(cores), True)):
        machine = {**results["machine"], "load_average_before": [load] * 3}
        machine["load_average_after"] = [load] * 3
        suite.write_results_file({**results, "machine": machine}, str(path))
        assert ("the machine was busy" in path.read_text()) == warned
