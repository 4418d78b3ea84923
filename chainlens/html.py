"""save_html: one file with the viewer, its styles and a computed graph, that needs no server.

The page is app/api/standalone.py's, the one POST /graph/html (the page's Export → HTML) writes:
static/dist/viewer.js inlined (the viewer, its CSS and fonts, ELK's layout worker), the graph
body, its request, the op table and, for a from_torch result, PyTorch's gradients beside
chainlens's in the inspector. Opened from disk it shows the graph and steps through the whole
timeline; the tools that would need a computation say they need chainlens running. Nothing in
the file asks the network for anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.api.standalone import standalone_page
from chainlens.compute import Result, jsonable, run


def page(result: Result) -> str:
    """The standalone page for a computed result (see the module docstring)."""
    request = {"expression": result.program, "inputs": result.inputs, "grad_output": result.grad_output}
    if result.expand is not None:
        request["expand"] = result.expand
    torch_grads = getattr(result, "torch_grads", None)
    return standalone_page(result.to_json(format="columns"), jsonable(request), jsonable(torch_grads))


def save_html(
    result_or_program: Any, path: str | Path, inputs: dict[str, Any] | None = None, **named_inputs: Any
) -> Path:
    """Write one standalone HTML file for a Result (or a program and its inputs, computed first)."""
    result = (
        result_or_program
        if isinstance(result_or_program, Result)
        else run(result_or_program, inputs, named_inputs, backward=True)
    )
    target = Path(path)
    target.write_text(page(result), encoding="utf-8")
    return target
