"""A computed graph as a Graphviz DOT file, drawn the way micrograd's `draw_dot` draws one.

Left to right; every node is a record `{ label | data … | grad … }`; every op node also gets a
small oval with the op's symbol, wired into its record, and each operand's record is wired into
that oval (one edge per operand slot, so `x * x` shows two). Tensors show their shape and a
summary (mean of the data, norm of the gradient) instead of every element.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.engine.graph import Graph
from app.engine.ops import BINARY_OPERATORS
from app.export.text import cut, visible

_SYMBOLS = {name: symbol for symbol, name in BINARY_OPERATORS.items()} | {"neg": "−"}


# Characters of one node's label text: graphviz refuses a label past 16,384 characters. The
# record's other parts (data, grad) take well under a hundred, and escaping makes a character at
# most seven (a control character's \\u0000).
LABEL_CHARS = 2_000


def _escape(text: str) -> str:
    """Text inside a record label: the record syntax's own characters and quotes escaped, control
    characters written as escapes (app/export/text.py)."""
    text = visible(text.replace("\n", " "))
    for char in '\\{}|<>"':
        text = text.replace(char, "\\" + char)
    return text


def _number(x: float) -> str:
    return f"{x:.4f}" if np.isfinite(x) and (x == 0 or 1e-4 <= abs(x) < 1e6) else f"{x:.4g}"


def _describe(value: Any, kind: str) -> str:
    if value is None:
        return f"{kind} —"
    if np.ndim(value) == 0:
        return f"{kind} {_number(float(value))}"
    array = np.asarray(value, dtype=np.float64)
    shape = "×".join(map(str, array.shape))
    if kind == "grad":
        return f"grad [{shape}] norm {_number(float(np.linalg.norm(array.ravel())))}"
    return f"data [{shape}] mean {_number(float(array.mean())) if array.size else '—'}"


def graph_dot(graph: Graph, grads: list[Any] | None) -> str:
    labels = graph.labels()
    lines = [
        "// chainlens graph: render with `dot -Tsvg graph.dot -o graph.svg`",
        f"// {visible(cut(' ; '.join(graph.source.splitlines()), 200))}",
        "digraph chainlens {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
    ]
    for node, op in enumerate(graph.ops):
        grad = None if grads is None else grads[node]
        record = " | ".join(
            _escape(part)
            for part in (cut(labels[node], LABEL_CHARS), _describe(graph.values[node], "data"), _describe(grad, "grad"))
        )
        lines.append(f'  n{node} [shape=record, label="{{ {record} }}"];')
        if op is None:
            continue
        lines.append(f'  n{node}_op [label="{_escape(_SYMBOLS.get(op.name, op.name))}"];')
        lines.append(f"  n{node}_op -> n{node};")
        lines.extend(f"  n{operand} -> n{node}_op;" for operand in graph.args[node])
    lines.append("}")
    return "\n".join(lines) + "\n"
