"""Regenerate docs/figures/*.png and the output blocks of docs/failure-cases/*.md from the code.

Run `python scripts/make_figures.py` (about a minute; needs matplotlib). Each experiment is
run at full size; its figure goes to docs/figures/<name>.png and its text report replaces
the block between `<!-- output -->` and `<!-- /output -->` in docs/failure-cases/<name>.md,
so the pages always show what the code prints. The demo's health plot is drawn too.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

from tinygrad_edu.__main__ import main as cli
from tinygrad_edu.experiments import NAMES, run_experiment
from tinygrad_edu.experiments.runner import format_outcome

ROOT = Path(__file__).resolve().parent.parent
DOCS = Path("docs")  # relative to ROOT, so the pages show short paths
OUTPUT_BLOCK = re.compile(r"(<!-- output -->\n).*?(<!-- /output -->)", re.DOTALL)


def main() -> None:
    os.chdir(ROOT)
    (DOCS / "figures").mkdir(exist_ok=True)
    for name in NAMES:
        figure = DOCS / "figures" / f"{name}.png"
        outcome = run_experiment(name, plot_path=str(figure))
        print(f"wrote {figure}")
        update_output_block(DOCS / "failure-cases" / f"{name}.md", format_outcome(outcome))
    demo_plot = DOCS / "figures" / "demo-health.png"
    with contextlib.redirect_stdout(io.StringIO()) as demo_output:
        cli(["demo", "--no-progress", "--plot", str(demo_plot)])
    print(f"wrote {demo_plot}")
    update_output_block(DOCS / "failure-cases" / "README.md", demo_output.getvalue().strip())


def update_output_block(page: Path, text: str) -> None:
    """Put `text` (as a code block) between the page's output markers, if it has them."""
    if not page.exists():
        return
    content = page.read_text()
    block = f"```text\n$ {command_for(page)}\n{text}\n```\n"
    updated = OUTPUT_BLOCK.sub(lambda match: match.group(1) + block + match.group(2), content)
    page.write_text(updated)
    print(f"updated {page}")


def command_for(page: Path) -> str:
    if page.stem == "README":
        return "tinygrad-edu demo --plot docs/figures/demo-health.png"
    return f"tinygrad-edu experiment {page.stem} --plot docs/figures/{page.stem}.png"


if __name__ == "__main__":
    main()
