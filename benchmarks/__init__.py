"""Benchmarks: tinygrad_edu against NumPy and PyTorch, measured in one interleaved run.

`python -m benchmarks` (or `tinygrad-edu bench`) runs them all; suite.py lists the
sections. Start with timing.py (how everything is timed), then mlp_step.py.
"""
