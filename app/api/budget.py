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

from itertools import chain, compress
from math import prod
from operator import not_

import numpy as np

from app.engine.costs import pass_seconds
from app.engine.graph import Graph
from app.engine.ops import Op

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


def _flows(op: Op | None, slot: int) -> bool:
    """Whether a gradient flows into operand `slot` of `op`; False for slots past the op's own
    (the table is as wide as the widest op) and for inputs and constants (op None)."""
    # (an op without local derivatives has vjps: `or ()` only tells the type checker so)
    return (
        op is not None and (op.local is not None or op.variadic or slot < len(op.vjp or ())) and op.differentiable(slot)
    )


# Graphs up to this many nodes are estimated by a loop over their nodes: numpy's arrays, built
# for the sums below, cost more than the sums for a small graph (38 µs of a chain rule's 40 µs).
SMALL_GRAPH_NODES = 64


def estimate(
    graph: Graph, backward: bool, max_full_elements: int, max_step_elements: int, *, layout: str = "objects"
) -> int:
    """Bytes that evaluating `graph` and writing its response in `layout` will hold at their peak."""
    if len(graph.shapes) <= SMALL_GRAPH_NODES:
        return _small_estimate(graph, backward, max_full_elements, max_step_elements, layout == "columns")
    columns = layout == "columns"
    node_text, step_text = (NODE_COLUMN_TEXT, STEP_COLUMN_TEXT) if columns else (NODE_TEXT, STEP_TEXT)
    shapes, ops, args, requires = graph.shapes, graph.ops, graph.args, graph.requires_grad
    count = len(shapes)
    # Per distinct shape (a scalar graph has one): the bytes of an array of it, its JSON text in
    # full and inside a step; then the sums over nodes and edges are numpy's, not a Python loop
    # per edge (which cost 10 ms on a 10,000-node graph, a sixth of its whole request).
    distinct = dict.fromkeys(shapes)
    table = np.array(
        [
            (
                _array_bytes(prod(shape), shape),
                _text(prod(shape), shape, max_full_elements),
                _text(prod(shape), shape, max_step_elements),
            )
            for shape in distinct
        ],
        dtype=np.int64,
    )
    if len(distinct) == 1:  # every node the same row: no lookup per node
        per_node = np.broadcast_to(table[0], (count, 3))
    else:
        position = dict(zip(distinct, range(len(distinct))))
        per_node = table[np.fromiter(map(position.__getitem__, shapes), dtype=np.intp, count=count)]
    held, value_text, step_value = per_node.T
    largest = int(table[:, 0].max(initial=0))
    engine = NODE_COST * count + int(held.sum())  # values: op results, and the inputs the program uses
    text = TEXT_PER_SOURCE_CHAR * len(graph.source) + node_text * count + int(value_text.sum())
    text += FORWARD_STEP_TEXT * (len(ops) - ops.count(None))
    edges = 0
    if backward:
        wanted = np.fromiter(requires, dtype=bool, count=count)
        engine += int(held[wanted].sum())  # the gradients
        text += int(value_text[wanted].sum())
        # A gradient flows along an edge (consumer, slot, operand) where both ends want one and the
        # consumer's op passes it to that slot (Op.differentiable, tabled per distinct op: each
        # node's op found by its id among the distinct ones, None for inputs and constants).
        arity = np.fromiter(map(len, args), dtype=np.intp, count=count)
        _, first, kind = np.unique(
            np.fromiter(map(id, ops), dtype=np.int64, count=count), return_index=True, return_inverse=True
        )
        distinct_ops = [ops[node] for node in first.tolist()]
        width = int(arity.max(initial=0))
        differentiable = np.array([[_flows(op, k) for k in range(width)] for op in distinct_ops], dtype=bool).reshape(
            len(distinct_ops), width
        )
        elementwise = np.array([op is not None and op.local is not None for op in distinct_ops], dtype=bool)
        if len(distinct) == 1 and wanted.all():
            # Every node of one shape and wanting a gradient (a scalar program's usual case): the
            # edges are counted per node, from its op and arity, and each costs the same.
            flowing = np.zeros((len(distinct_ops), width + 1), dtype=np.intp)  # [op, a]: of its first a slots
            flowing[:, 1:] = np.cumsum(differentiable, axis=1)
            per_node_edges = flowing[kind, arity]
            edges = int(per_node_edges.sum())
            local_edges = int(per_node_edges[elementwise[kind]].sum())  # local derivatives written in full
            node_held, _, node_step_value = (int(value) for value in table[0])
            engine += RECORD_COST * edges + 2 * node_held * edges + node_held * local_edges
            text += step_text * edges + 3 * node_step_value * edges + node_step_value * local_edges
            text += 4 * (edges - local_edges)
        else:
            # Every operand slot of every node as an edge ...
            consumer = np.repeat(np.arange(count), arity)
            operand = np.fromiter(chain.from_iterable(args), dtype=np.intp, count=int(arity.sum()))
            slot = np.arange(len(consumer)) - np.repeat(np.cumsum(arity) - arity, arity)
            # ... kept where a gradient flows along it.
            keep = wanted[consumer] & wanted[operand] & differentiable[kind[consumer], slot]
            consumer, operand = consumer[keep], operand[keep]
            local = elementwise[kind[consumer]]  # its local derivative is written in full, else as null
            edges = len(consumer)
            upstream = step_value[consumer]
            engine += RECORD_COST * edges + 2 * int(held[operand].sum()) + int(held[consumer][local].sum())
            text += (
                step_text * edges
                + int(upstream.sum())
                + int(np.where(local, upstream, 4).sum())
                + 2 * int(step_value[operand].sum())
            )
    # The nodes' column pieces and the steps' are not alive at once: each list is joined first.
    # Columns are written a block at a time, with no str per item.
    pieces = 0 if columns else max(NODE_PIECES * len(shapes), STEP_PIECES * edges)
    return engine + TRANSIENT_COPIES * largest + BODY_COPIES * text + PIECE_COST * pieces


def _small_estimate(graph: Graph, backward: bool, max_full_elements: int, max_step_elements: int, columns: bool) -> int:
    """`estimate` of a small graph, node by node: the same sums, as Python ints."""
    node_text, step_text = (NODE_COLUMN_TEXT, STEP_COLUMN_TEXT) if columns else (NODE_TEXT, STEP_TEXT)
    shapes, ops, args, requires = graph.shapes, graph.ops, graph.args, graph.requires_grad
    count = len(shapes)
    rows: dict[tuple, tuple[int, int, int]] = {}
    per_node = []
    for shape in shapes:
        row = rows.get(shape)
        if row is None:
            elements = prod(shape)
            row = rows[shape] = (
                _array_bytes(elements, shape),
                _text(elements, shape, max_full_elements),
                _text(elements, shape, max_step_elements),
            )
        per_node.append(row)
    largest = max((row[0] for row in rows.values()), default=0)
    engine = NODE_COST * count + sum(row[0] for row in per_node)
    text = TEXT_PER_SOURCE_CHAR * len(graph.source) + node_text * count + sum(row[1] for row in per_node)
    text += FORWARD_STEP_TEXT * (len(ops) - ops.count(None))
    edges = 0
    if backward:
        for node, row in enumerate(per_node):
            if requires[node]:
                engine += row[0]
                text += row[1]
        for consumer, (op, operands) in enumerate(zip(ops, args)):
            if not requires[consumer] or op is None:
                continue
            held, _, upstream = per_node[consumer]
            local = op.local is not None  # its local derivative is written in full, else as null
            for slot, operand in enumerate(operands):
                if requires[operand] and _flows(op, slot):
                    edges += 1
                    operand_held, _, operand_text = per_node[operand]
                    engine += 2 * operand_held + (held if local else 0)
                    text += upstream + (upstream if local else 4) + 2 * operand_text
        engine += RECORD_COST * edges
        text += step_text * edges
    pieces = 0 if columns else max(NODE_PIECES * count, STEP_PIECES * edges)
    return engine + TRANSIENT_COPIES * largest + BODY_COPIES * text + PIECE_COST * pieces


# Seconds per node of a graph request besides its passes: parsing, the step record and the
# answer's text (the 10,000-node recurrence: about 15 µs a node on the reference machine).
REQUEST_NODE_SECONDS = 20e-6
# A graph request's backward pass records every edge's local derivative and contribution in full
# (a training step's lean pass does not): measured at about twice the lean passes' time.
RECORDED_PASSES = 2
# Per element of every tensor node: building the inputs (initializers draw random numbers), and
# the summaries of values, gradients and step records in the answer (measured 30-60 ns).
ELEMENT_SECONDS = 40e-9


def seconds(graph: Graph, backward: bool = True) -> float:
    """The time one graph request will take, estimated from the graph alone (app/api/lanes.py
    decides from it where the request runs): its passes op by op (app/engine/costs.py) as the
    recording backward runs them, REQUEST_NODE_SECONDS per node and ELEMENT_SECONDS per element
    of a tensor node. A forward-only request is counted as a full one."""
    # (a graph of scalars, the common large one, has no tensor: `in` tells in C, at once)
    elements = sum(map(prod, compress(graph.shapes, map(not_, graph.scalar)))) if False in graph.scalar else 0
    return RECORDED_PASSES * pass_seconds(graph) + REQUEST_NODE_SECONDS * len(graph) + ELEMENT_SECONDS * elements
