"""docs/training.md: its training script runs as printed and reaches the accuracy it claims."""

import re
import runpy
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "training.md"


def test_training_script_in_the_docs_runs_and_learns(tmp_path, monkeypatch, capsys):
    script = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL).group(1)
    (tmp_path / "train.py").write_text(script)
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(tmp_path / "train.py"), run_name="__main__")
    output = capsys.readouterr().out
    accuracies = [float(value) for value in re.findall(r"test accuracy (\d\.\d+)", output)]
    assert len(accuracies) == 5, output
    assert min(accuracies[1:]) >= 0.95, output
    assert accuracies[-1] == accuracies[-2], "the restored model must score as the trained one"
    assert (tmp_path / "digits_mlp.npz").exists()
