"""chainlens in Python: the graph, values, gradients and chain-rule steps of a program, in-process.

    import chainlens
    r = chainlens.backward("q = x + y\\nf = q * z", x=-2, y=5, z=-4)
    r.value, r.grads            # -12.0, {'x': -4.0, 'y': -4.0, 'z': 3.0}
    r.to_json()                 # the body POST /graph/backward answers

    r = chainlens.from_torch(model, x, loss=lambda out: out.pow(2).mean())   # needs chainlens[torch]
    r.grads, r.torch_grads, r.max_rel_error
    chainlens.show(r, height=600)   # the viewer in the notebook cell; needs chainlens[notebook]

The app itself lives in the `app` package; this package is its Python face (README, "In Python
and notebooks"). It imports numpy and the app, never torch nor anywidget: `from_torch` imports torch when it
is called, `show` imports anywidget when it is called, and each says which extra to install when
its package is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chainlens.compute import GradcheckResult, ProgramError, Result, check, run

if TYPE_CHECKING:
    from chainlens.torch_api import TorchResult

__all__ = [
    "GradcheckResult",
    "ProgramError",
    "Result",
    "UnsupportedError",
    "Viewer",
    "backward",
    "forward",
    "from_torch",
    "gradcheck",
    "save_html",
    "show",
]


class UnsupportedError(Exception):
    """from_torch met something it cannot translate: `.op` names it, `.module` is the module path
    where it was called ("" for the top level), `.supported` lists what is."""

    def __init__(self, message: str, op: str, module: str, supported: list[str]) -> None:
        super().__init__(message)
        self.op = op
        self.module = module
        self.supported = supported


def backward(
    program: str,
    inputs: Mapping[str, Any] | None = None,
    *,
    grad_output: Any = None,
    expand: Any = None,
    **named_inputs: Any,
) -> Result:
    """Forward and backward passes of `program`, as POST /graph/backward computes them.

    Inputs are given as a mapping, as keywords, or both (keywords win): numbers, nested lists,
    numpy arrays, or the API's input objects ({"init": "randn", "shape": [3, 4], "seed": 0}).
    Raises ProgramError with the HTTP answer's kind, message, line and column."""
    return run(program, inputs, named_inputs, backward=True, grad_output=grad_output, expand=expand)


def forward(
    program: str, inputs: Mapping[str, Any] | None = None, *, expand: Any = None, **named_inputs: Any
) -> Result:
    """The forward pass only, as POST /graph/forward computes it (`.grads` is empty)."""
    return run(program, inputs, named_inputs, backward=False, expand=expand)


def gradcheck(
    program: str,
    inputs: Mapping[str, Any] | None = None,
    *,
    grad_output: Any = None,
    expand: Any = None,
    **named_inputs: Any,
) -> GradcheckResult:
    """Every gradient checked against central finite differences, as POST /graph/gradcheck does."""
    return check(program, inputs, named_inputs, grad_output=grad_output, expand=expand)


def from_torch(fn_or_module: Any, *example_args: Any, loss: Any = None) -> TorchResult:
    """Trace a PyTorch module or function with torch.fx, translate it into a chainlens program in
    the PyTorch dialect, run it, run PyTorch's own backward in float64, and compare the gradients
    (chainlens/torch_api.py). Needs the `torch` extra."""
    try:
        import torch  # noqa: F401  (only to say which extra is missing)
    except ImportError as exc:
        raise ImportError("chainlens.from_torch needs PyTorch: pip install 'chainlens[torch]'") from exc
    from chainlens.torch_api import from_torch as traced

    return traced(fn_or_module, *example_args, loss=loss)


def save_html(
    result_or_program: Result | str, path: str, inputs: Mapping[str, Any] | None = None, **named_inputs: Any
) -> Any:
    """One standalone HTML file: the page, its built assets and the computed graph inlined, stepping
    through the whole timeline with no server and no network (chainlens/html.py). Answers the path."""
    from chainlens.html import save_html as write

    return write(result_or_program, path, dict(inputs) if inputs is not None else None, **named_inputs)


def show(result_or_program: Result | str, inputs: Mapping[str, Any] | None = None, **named_inputs: Any) -> None:
    """The viewer inline in a notebook cell (JupyterLab, Notebook 7, VS Code, Colab): graph, stepper,
    explanations, inspector, gradient check, computed by this kernel with no server
    (chainlens/widget.py). `height=` its height in pixels. Needs the `notebook` extra; a from_torch
    result shows PyTorch's gradient beside chainlens's in the inspector."""
    from chainlens.widget import show as display

    display(result_or_program, inputs, **named_inputs)


def __getattr__(name: str) -> Any:
    """`chainlens.Viewer`, the notebook widget, imported (with anywidget) only when asked for."""
    if name == "Viewer":
        from chainlens.widget import Viewer

        return Viewer
    raise AttributeError(f"module 'chainlens' has no attribute {name!r}")
