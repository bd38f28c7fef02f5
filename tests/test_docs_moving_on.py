"""docs/moving-on.md: its example moves a trained model to PyTorch and back, outputs agreeing."""

import re
import runpy
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "moving-on.md"


def test_moving_on_example_runs_both_ways(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) == 1, "the page's runnable example is its one python block"
    (tmp_path / "moving_on.py").write_text(blocks[0])
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(tmp_path / "moving_on.py"), run_name="__main__")
    output = capsys.readouterr().out
    assert "tinygrad_edu -> PyTorch: outputs agree" in output
    assert "PyTorch -> tinygrad_edu: outputs agree" in output
