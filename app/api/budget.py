"""The memory one graph request will use, estimated from shapes alone, before anything is built.

Counted (bytes, each an upper bound for this engine and encoder):

- the inputs the program uses, as float64 arrays (they are leaves of the graph; unused inputs
  are never built, and their count and total size are limited by Limits);
- every node's value, and with the backward pass every gradient and the step record: per edge
  its local derivative (the consumer's shape), its contribution and the accumulated gradient
  (the operand's shape);
- the transient arrays of the largest op (a few times its result);
- the response: each value's JSON text (full, or a summary past the size limits), and the steps'
  texts; the body exists as pieces, as one str and as bytes at once while it is written. The
  column layout (`format=columns`) writes no field names per node or step and no text per item;
  gzip replaces the body's chunks one by one as it compresses them, so it needs no copy more
  than the encoding's own (app/api/compression.py).

The estimate is linear in the graph; `estimate` is called between parsing and building.
"""
from __future__ import annotations

from math import prod

from app.engine.graph import Graph

FLOAT = 8
ARRAY_OVERHEAD = 112  # a numpy array object
SCALAR_COST = 32  # a Python float, and its place in a list
NODE_COST = 400  # a node's entries in the graph's lists, and its objects
RECORD_COST = 200  # a backward step's tuple and its objects
# JSON text: the longest float ("-1.2345678901234567e-308") and its comma.
TEXT_PER_NUMBER = 25
SUMMARY_TEXT = 220
NODE_TEXT = 180  # a node's fixed fields and params; labels are counted with the source
STEP_TEXT = 160  # a backward step's fixed fields and its formula's template
# The same in the column layout: separators, brackets of shapes and operand lists, span numbers,
# a null for params; a step's ids, slot, formula index and summed axes (its formula's text is
# written once per distinct formula, counted within TEXT_PER_SOURCE_CHAR).
NODE_COLUMN_TEXT, STEP_COLUMN_TEXT = 100, 40
# Labels and formulas repeat names and source texts: each character of the program shows up a
# few times in the body, and as six in JSON's ASCII escapes where it is not ASCII.
TEXT_PER_SOURCE_CHAR = 4 * 6
FORWARD_STEP_TEXT = 40
PIECE_COST = 60  # a str object per column item while a list of objects is assembled
NODE_PIECES, STEP_PIECES = 12, 9  # column items per node and per backward step
# The pieces, the joined str and the encoded bytes exist together while a body is written.
BODY_COPIES = 3
# Temporaries inside one op (a softmax holds its shifted input, its exponentials, their sum...).
TRANSIENT_COPIES = 4


def _array_bytes(elements: int, shape: tuple) -> int:
    return FLOAT * elements + ARRAY_OVERHEAD if shape else SCALAR_COST


def _text(elements: int, shape: tuple, max_elements: int) -> int:
    if not shape:
        return TEXT_PER_NUMBER
    if elements > max_elements:
        return SUMMARY_TEXT
    return TEXT_PER_NUMBER * elements + 2 * len(shape)


def estimate(graph: Graph, backward: bool, max_full_elements: int, max_step_elements: int, *,
             layout: str = "objects") -> int:
    """Bytes that evaluating `graph` and writing its response in `layout` will hold at their peak."""
    columns = layout == "columns"
    node_text, step_text = (NODE_COLUMN_TEXT, STEP_COLUMN_TEXT) if columns else (NODE_TEXT, STEP_TEXT)
    shapes = graph.shapes
    ops, args, requires = graph.ops, graph.args, graph.requires_grad
    # Per distinct shape (a scalar graph has one): the bytes of an array of it, its JSON text in
    # full and inside a step. The loop below then only adds; it runs once per node and edge.
    per_shape = {}
    for shape in set(shapes):
        elements = prod(shape)
        per_shape[shape] = (_array_bytes(elements, shape), _text(elements, shape, max_full_elements),
                            _text(elements, shape, max_step_elements))
    largest = max((held for held, _, _ in per_shape.values()), default=0)
    engine = NODE_COST * len(shapes)
    text = TEXT_PER_SOURCE_CHAR * len(graph.source) + node_text * len(shapes)
    text += FORWARD_STEP_TEXT * (len(shapes) - ops.count(None))
    edges = 0
    for node, (held, value_text, step_value) in enumerate(map(per_shape.__getitem__, shapes)):
        engine += held  # the value: an op's result, or an input that the program uses
        text += value_text
        if not backward or not requires[node]:
            continue
        engine += held  # the gradient
        text += value_text
        op = ops[node]
        if op is None:
            continue
        elementwise = op.local is not None
        for slot, operand in enumerate(args[node]):
            if not requires[operand] or not (elementwise or op.vjp[slot] is not None):  # op.differentiable
                continue
            operand_bytes, _, operand_text = per_shape[shapes[operand]]
            engine += RECORD_COST + 2 * operand_bytes + (held if elementwise else 0)
            local_text = step_value if elementwise else 4
            text += step_text + step_value + local_text + 2 * operand_text
            edges += 1
    # The nodes' column pieces and the steps' are not alive at once: each list is joined first.
    # Columns are written a block at a time, with no str per item.
    pieces = 0 if columns else max(NODE_PIECES * len(shapes), STEP_PIECES * edges)
    return engine + TRANSIENT_COPIES * largest + BODY_COPIES * text + PIECE_COST * pieces
