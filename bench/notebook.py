"""Issue 21's figure: `from_torch` + `show` of the tiny transformer block (target: under 2 s).

    .venv/bin/python bench/notebook.py               # in this process and in a real kernel, 5 runs each
    .venv/bin/python bench/notebook.py --runs 3

The block is tests/test_from_torch.py's TransformerBlock (LayerNorm, nanoGPT's causal multi-head
attention, a GELU MLP, residuals) on a (2, 5, 8) input with loss (out**2).mean(): the one the parity
test and docs/notebook.ipynb show.

- in-process: from_torch (trace, translate, run chainlens, PyTorch's float64 backward, compare),
  then the Viewer the widget is (its graph body written) and the state anywidget sends the front
  end (`get_state()`); the first run is reported apart (imports, torch.fx's first trace).
- kernel: the same cell run by an ipykernel through nbclient: `chainlens.show` for real, its widget
  opened over the comm with its state; timed inside the cell, after a warm-up cell that imports.

Printed: the first run, then the min and the median of the others, in seconds. The browser's
drawing of the graph is not in these figures (tests/browser/test_jupyterlab.py draws it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

SETUP = """
import sys, time, torch
sys.path[:0] = [{root!r}]
import chainlens
from tests.test_from_torch import TransformerBlock
"""

CELL = """
torch.manual_seed(17)
started = time.perf_counter()
result = chainlens.from_torch(TransformerBlock(), torch.randn(2, 5, 8), loss=lambda out: (out**2).mean())
chainlens.show(result, height=640)
print(f"elapsed {time.perf_counter() - started:.4f} max_rel_error {result.max_rel_error:.3g}")
"""


def in_process(runs: int) -> list[float]:
    import torch

    import chainlens
    from chainlens.widget import Viewer
    from tests.test_from_torch import TransformerBlock

    times = []
    for _ in range(runs + 1):
        torch.manual_seed(17)
        started = time.perf_counter()
        result = chainlens.from_torch(TransformerBlock(), torch.randn(2, 5, 8), loss=lambda out: (out**2).mean())
        state = Viewer(result, height=640).get_state()
        times.append(time.perf_counter() - started)
        assert result.max_rel_error < 1e-9 and state["body"]
    return times


def in_kernel(runs: int) -> list[float]:
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [new_code_cell(SETUP.format(root=str(ROOT)))] + [new_code_cell(CELL) for _ in range(runs + 1)]
    notebook = new_notebook(cells=cells)
    NotebookClient(notebook, timeout=600, kernel_name="python3").execute()
    times = []
    for cell in notebook.cells[1:]:
        text = "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")
        times.append(float(text.split()[1]))
        assert any("application/vnd.jupyter.widget-view+json" in out.get("data", {}) for out in cell.outputs)
    nbformat.validate(notebook)
    return times


def report(where: str, times: list[float]) -> None:
    first, rest = times[0], times[1:]
    print(
        f"{where:>10}: first {first:.3f} s; then min {min(rest):.3f} s, median {statistics.median(rest):.3f} s "
        f"({len(rest)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs after the first (1 to 20)")
    args = parser.parse_args()
    runs = max(1, min(args.runs, 20))
    report("in-process", in_process(runs))
    report("kernel", in_kernel(runs))


if __name__ == "__main__":
    main()
