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
    sizes = [prod(shape) for shape in shapes]
    ops, args, requires = graph.ops, graph.args, graph.requires_grad
    engine = NODE_COST * len(shapes)
    text = TEXT_PER_SOURCE_CHAR * len(graph.source)
    edges = 0
    largest = 0
    for node, shape in enumerate(shapes):
        elements = sizes[node]
        held = _array_bytes(elements, shape)
        engine += held  # the value: an op's result, or an input that the program uses
        largest = max(largest, held)
        value_text = _text(elements, shape, max_full_elements)
        text += node_text + value_text
        if ops[node] is not None:
            text += FORWARD_STEP_TEXT
        if not backward or not requires[node]:
            continue
        engine += held  # the gradient
        text += value_text
        op = ops[node]
        if op is None:
            continue
        step_upstream = _text(elements, shape, max_step_elements)
        for slot, operand in enumerate(args[node]):
            if not requires[operand] or not op.differentiable(slot):
                continue
            operand_shape, operand_elements = shapes[operand], sizes[operand]
            operand_bytes = _array_bytes(operand_elements, operand_shape)
            engine += RECORD_COST + 2 * operand_bytes + (held if op.local is not None else 0)
            operand_text = _text(operand_elements, operand_shape, max_step_elements)
            local_text = step_upstream if op.local is not None else 4
            text += step_text + step_upstream + local_text + 2 * operand_text
            edges += 1
    # The nodes' column pieces and the steps' are not alive at once: each list is joined first.
    # Columns are written a block at a time, with no str per item.
    pieces = 0 if columns else max(NODE_PIECES * len(shapes), STEP_PIECES * edges)
    return engine + TRANSIENT_COPIES * largest + BODY_COPIES * text + PIECE_COST * pieces
