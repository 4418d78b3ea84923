"""The viewer in a notebook: an anywidget (JupyterLab, Notebook 7, VS Code, Colab), no server.

`Viewer(result_or_program, height=..., **inputs)` is the widget; `chainlens.show` displays one.
Its front end is static/dist/widget.js (static/src/widget.js with the viewer bundled in, one ES
module with its styles, fonts and layout worker inlined), anywidget's `_esm`. The widget holds
the computed body (in the column layout, as the page asks for it), the request that produced
it, its height in pixels and, for a from_torch result, PyTorch's gradients; whatever the viewer
computes afterwards (the gradient check, dragged inputs, opened composites) it asks the kernel
through the widget's messages, answered by chainlens/messages.py as the HTTP API would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

try:
    import anywidget
    import traitlets
except ImportError as exc:  # the extra is optional: `pip install chainlens` serves the app without it
    raise ImportError("the notebook viewer needs anywidget: pip install 'chainlens[notebook]'") from exc

from app.api.meta import _OPS_BODY
from app.api.standalone import _written
from app.api.ui import STATIC_DIR
from chainlens.compute import Result, jsonable, run
from chainlens.messages import Groups, answer

DEFAULT_HEIGHT = 640


def _esm() -> Path:
    """The built front end (a wheel carries it; a clone builds it with `npm run build`)."""
    path = STATIC_DIR / "dist" / "widget.js"
    if not path.is_file():
        raise FileNotFoundError(f"the notebook viewer is not built ({path}): run `npm ci && npm run build`")
    return path


def _json(value: Any) -> str:
    """JSON text with NaN and the infinities as the API's strings ("NaN", "Infinity")."""
    return json.dumps(_written(jsonable(value)), allow_nan=False)


def _torch_grads(result: Result) -> str:
    grads = getattr(result, "torch_grads", None)
    return _json(grads) if grads else ""


def computed(result_or_program: Result | str, inputs: Mapping[str, Any] | None, named: Mapping[str, Any]) -> Result:
    """A Result as it is, or the program's backward pass over its inputs."""
    if isinstance(result_or_program, Result):
        if inputs or named:
            raise TypeError("inputs are given with a program; a result already holds its own")
        return result_or_program
    if not isinstance(result_or_program, str):
        raise TypeError(f"show takes a program (str) or a chainlens result, not {type(result_or_program).__name__}")
    return run(result_or_program, inputs, named, backward=True)


class Viewer(anywidget.AnyWidget):
    """The chainlens viewer of one computed graph, in a notebook cell (see the module docstring)."""

    _esm = _esm()
    body = traitlets.Unicode("").tag(sync=True)  # the graph body's JSON text, column layout
    request = traitlets.Dict().tag(sync=True)  # {expression, inputs, grad_output[, expand]}
    height = traitlets.Int(DEFAULT_HEIGHT).tag(sync=True)
    torch_grads = traitlets.Unicode("").tag(sync=True)  # input name → PyTorch's gradient, JSON text
    # GET /ops's body: the inspector's docs and local derivatives, which composites open.
    ops = traitlets.Unicode(_OPS_BODY.decode()).tag(sync=True)

    def __init__(
        self,
        result_or_program: Result | str,
        inputs: Mapping[str, Any] | None = None,
        *,
        height: int = DEFAULT_HEIGHT,
        **named_inputs: Any,
    ) -> None:
        if not isinstance(height, int) or isinstance(height, bool) or not 120 <= height <= 10_000:
            raise ValueError(f"height is the viewer's height in pixels, 120 to 10000, not {height!r}")
        super().__init__(height=height)
        self.on_msg(self._message)
        self.show(result_or_program, inputs, **named_inputs)

    def show(self, result_or_program: Result | str, inputs: Mapping[str, Any] | None = None, **named: Any) -> None:
        """Show another result (or program) in this viewer."""
        result = computed(result_or_program, inputs, named)
        self.result = result
        # A from_torch result's module groups (no request asks for them): its recomputed graphs get
        # them back from the kernel (chainlens/messages.py).
        expansion = result.graph.expansion
        self._groups: Groups | None = None
        if result.expand is None and expansion is not None:
            self._groups = (result.program, expansion)
        request = {"expression": result.program, "inputs": result.inputs, "grad_output": result.grad_output}
        if result.expand is not None:
            request["expand"] = result.expand
        body = result.to_json(format="columns")
        with self.hold_sync():
            self.request = json.loads(_json(request))
            self.torch_grads = _torch_grads(result)
            self.body = body

    def _message(self, widget: Any, content: Any, buffers: Any) -> None:
        """A compute message from the front end: answered whatever it holds (chainlens/messages.py)."""
        self.send(answer(content, groups=self._groups))

    def __repr__(self) -> str:
        return f"<chainlens Viewer: {self.result!r}>"


def show(
    result_or_program: Result | str,
    inputs: Mapping[str, Any] | None = None,
    *,
    height: int = DEFAULT_HEIGHT,
    **named_inputs: Any,
) -> None:
    """Display the viewer of a result or a program (computed here) in the cell's output. It answers
    nothing, so that a call on a cell's last line is not displayed twice; `Viewer(...)` is the
    widget itself, to keep and show another result in (`viewer.show(...)`)."""
    from IPython.display import display

    display(Viewer(result_or_program, inputs, height=height, **named_inputs))
