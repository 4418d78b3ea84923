"""Engine results → response bodies.

FastAPI's default encoder walks every value in Python; for a 10,000-node graph that took most of
the request's time. Graph bodies are written column by column instead (app/api/jsontext.py): one
list per field of the nodes and of the steps, each written in one orjson call where it holds
plain finite floats, the common case.

Two things orjson will not do for us: it writes NaN and infinities as null (the contract wants
the strings "NaN", "Infinity", "-Infinity"), and it refuses 0-d and non-contiguous arrays (a
transposed or broadcast gradient). A column that is not all finite Python floats (one sum tells)
goes through _value, item by item, which fixes both and summarizes tensors past a size.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import orjson
from starlette.responses import Response

from app.api.formulas import formula_texts, shown_labels
from app.api.jsontext import BLOCK, int_lists, int_texts, items, joined_list, json_list, objects, strings, text_list
from app.api.outbox import send_chunks
from app.engine.inputs import number
from app.engine.run import Result

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
_SCALARS = {float, type(None)}

# The contract's objects (docs/api.md), one `@` per column. A node's last `@` is its parameters,
# ',"params":{...}' on ops that take them and nothing on the others, then ',"group":k' on the
# nodes of an expanded composite.
_NODE = (
    '{"id":@,"op":@,"name":@,"label":@,"shape":[@],"value":@,"grad":@,"inputs":[@],'
    '"span":{"line":@,"column":@,"end_line":@,"end_column":@}@}'
)
_FORWARD_STEP = '{"phase":"forward","node":@}'
_BACKWARD_STEP = (
    '{"phase":"backward","node":@,"input":@,"slot":@,"upstream":@,"local":{"formula":@,"value":@},'
    '"contribution":@,"accumulated":@,"summed_axes":[@]}'
)


def _value(value: Any, max_elements: int) -> Any:
    """A float, tensor or None made ready for orjson: non-finite numbers as their strings,
    tensors past max_elements as a summary, other arrays contiguous."""
    if type(value) is float:
        return value if math.isfinite(value) else number(value)
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.ndim:
        if value.size > max_elements:
            return _summary(value)
        if not np.isfinite(value).all():
            return _replace_non_finite(value.tolist())
        return value if value.flags.c_contiguous else np.ascontiguousarray(value)
    return _value(float(value), max_elements)  # numpy scalars and 0-d arrays


def _ready(values: Any, max_elements: int) -> list:
    """A column of values (floats, tensors, None) made ready for orjson by _value, item by item
    only where it is not all finite Python floats and None (all of a scalar graph's, the common
    case: None, a constant's gradient, is orjson's null as the contract has it)."""
    values = list(values)
    return values if _plain(values) else [_value(value, max_elements) for value in values]


def _plain(values: list) -> bool:
    """Whether a column is all finite Python floats and None: what orjson writes as the contract has it."""
    return set(map(type, values)) <= _SCALARS and math.isfinite(sum(filter(None, values)))


def _values(values: Any, max_elements: int) -> list[str]:
    """The JSON text of each value of a column."""
    return items(_ready(values, max_elements))


def _summary(value: np.ndarray) -> dict:
    return {
        "truncated": True,
        "shape": list(value.shape),
        "min": number(float(value.min())),
        "max": number(float(value.max())),
        "mean": number(float(value.mean())),
        "norm": number(float(np.linalg.norm(value.ravel()))),
    }


def _replace_non_finite(data: list) -> list:
    """Replaces the non-finite floats of nested lists (iteratively) by their strings."""
    stack = [data]
    while stack:
        container = stack.pop()
        for index, item in enumerate(container):
            if type(item) is float:
                if not math.isfinite(item):
                    container[index] = number(item)
            elif type(item) is list:
                stack.append(item)
    return data


def _json_params(params: dict) -> dict:
    """A node's parameters ready for orjson, which writes non-finite floats as null: a fill value
    of -inf (masked_fill, full) as the contract's "-Infinity"."""
    if any(type(value) is float and not math.isfinite(value) for value in params.values()):
        return {
            name: number(value) if type(value) is float and not math.isfinite(value) else value
            for name, value in params.items()
        }
    return params


def _line_columns(graph: Any) -> tuple[list[np.ndarray], int]:
    """Lines and columns of every node's span start and end, found for all nodes at once (numpy
    arrays: the column layout writes them as they are, the object layout as lists), and a bound
    they are all under."""
    # The line starts as SourceMap finds them, in character offsets (UTF-32: one code unit a character).
    characters = np.frombuffer(graph.source.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    line_starts = np.concatenate(([0], np.flatnonzero(characters == ord("\n")) + 1))
    columns: list[np.ndarray] = []
    bound = 1
    for offsets in (np.frombuffer(graph.starts, np.intc), np.frombuffer(graph.ends, np.intc)):
        lines = np.searchsorted(line_starts, offsets, side="right")
        places = offsets - line_starts[lines - 1] + 1
        bound = max(bound, int(lines.max(initial=0)) + 1, int(places.max(initial=0)) + 1)
        columns += [lines, places]
    return columns, bound


def graph_body(result: Result, max_full_elements: int, max_step_elements: int, **options: Any) -> bytes:
    """The JSON body of POST /graph/backward (and /graph/forward, where grads is None)."""
    return b"".join(graph_chunks(result, max_full_elements, max_step_elements, **options))


def graph_chunks(
    result: Result,
    max_full_elements: int,
    max_step_elements: int,
    *,
    layout: str = "objects",
    upstreams: list | None = None,
    extra: dict | None = None,
) -> list[bytes]:
    """graph_body in pieces of a few hundred kB, each encoded by itself: a route sends them one
    by one (BodyChunks), so that no single join or encode of a 60 MB body holds the GIL while the
    event loop waits to answer other requests.

    `layout` "columns" writes the same content column by column (docs/api.md, Large responses).
    `upstreams`: each backward step's upstream, where it is not the sending node's final gradient
    (a replay sends different gradients on different steps); `extra`: top-level fields added last.
    """
    fields = _Fields(result, upstreams)
    write = _column_chunks if layout == "columns" else _object_chunks
    pieces = write(fields, max_full_elements, max_step_elements)
    pieces += [f',"truncated_elements":{max_full_elements}']
    if fields.expansion is not None:
        pieces.append(',"groups":' + orjson.dumps(fields.expansion.records(fields.labels)).decode())
    if extra:
        pieces.append("," + dumps(extra).decode()[1:-1])
    pieces.append("}")
    return list(map(str.encode, _coalesced(pieces)))


class _Fields:
    """What both layouts write, gathered once: per-node lists, and the backward steps transposed
    from their records (laid out as Step) into one tuple per field."""

    def __init__(self, result: Result, upstreams: list | None) -> None:
        graph = self.graph = result.graph
        self.result = result
        self.count = len(graph)
        self.kinds = [
            op.name if op is not None else ("constant" if constant else "input")
            for op, constant in zip(graph.ops, graph.constant)
        ]
        labels = graph.labels()
        self.expansion = graph.expansion
        self.groups = None
        if self.expansion is not None:  # expanded composites: inner labels, each node's group, the groups
            labels = self.expansion.node_labels(labels)
            self.groups = self.expansion.node_groups(self.count)
        self.labels = labels
        self.quoted_labels = strings(labels)  # the label column's texts, and in every formula
        self.spans, self.span_bound = _line_columns(graph)
        self.steps = None
        self.upstreams_are_grads = upstreams is None  # each step's upstream is its node's gradient
        if result.records:
            nodes, inputs, slots, locals_, contributions, accumulated, summed = zip(*result.records)
            self.steps = (
                nodes,
                inputs,
                slots,
                upstreams,  # None: the nodes' gradients (upstreams_of), which the object layout writes as their texts
                formula_texts(graph, nodes, slots, labels, shown_labels(labels, self.quoted_labels)),
                locals_,
                contributions,
                accumulated,
                summed,
            )


def _upstreams_of(fields: _Fields) -> list:
    """Each backward step's upstream: as given, else its node's gradient."""
    steps = cast("tuple", fields.steps)
    step_nodes, upstreams = steps[0], steps[3]
    if upstreams is not None:
        return upstreams
    # (records exist only where the backward pass ran: grads is a list)
    return list(map(cast("list[Any]", fields.result.grads).__getitem__, step_nodes))


def _object_chunks(fields: _Fields, max_full_elements: int, max_step_elements: int) -> list[str]:
    """The object layout: a list of objects for the nodes and for the steps, as the contract has them."""
    graph, grads, count = fields.graph, fields.result.grads, fields.count
    params = (
        ["" if not params else ',"params":' + orjson.dumps(_json_params(params)).decode() for params in graph.params]
        if any(graph.params)
        else [""] * count
    )
    if fields.groups is not None:
        params = [p if g is None else f'{p},"group":{g}' for p, g in zip(params, fields.groups)]
    grad_texts = _values(grads, max_full_elements) if grads is not None else ["null"] * count
    nodes = objects(
        _NODE,
        [
            int_texts(range(count)),
            strings(fields.kinds),
            strings(graph.names),
            fields.quoted_labels,
            int_lists(graph.shapes),
            _values(graph.values, max_full_elements),
            grad_texts,
            int_lists(graph.args),
            *[int_texts(column.tolist(), below=fields.span_bound) for column in fields.spans],
            params,
        ],
    )

    forward = int_texts(fields.result.forward, below=count)
    steps = objects(_FORWARD_STEP, [forward])
    if fields.steps is not None:
        step_nodes, step_inputs, slots, _, formulas, locals_, contributions, accumulated, summed = fields.steps
        # An upstream that is its node's gradient has that gradient's text, when no tensor could be
        # summarized differently in a step (max_step_elements) than in the node (max_full_elements).
        same = fields.upstreams_are_grads and grads is not None and set(map(type, grads)) <= _SCALARS
        steps += objects(
            _BACKWARD_STEP,
            [
                int_texts(step_nodes, below=count),
                int_texts(step_inputs, below=count),
                int_texts(slots),
                list(map(grad_texts.__getitem__, step_nodes))
                if same
                else _values(_upstreams_of(fields), max_step_elements),
                formulas,
                _values(locals_, max_step_elements),
                _values(contributions, max_step_elements),
                _values(accumulated, max_step_elements),
                int_lists(summed),
            ],
        )

    head = ['{"nodes":[', *_separated(nodes), '],"output":', str(graph.output), ',"forward":[']
    head += _separated([",".join(forward[start : start + BLOCK]) for start in range(0, len(forward), BLOCK)])
    head += ['],"steps":[', *_separated(steps), "]"]
    return head


def _column_chunks(fields: _Fields, max_full_elements: int, max_step_elements: int) -> list[str]:
    """The column layout: each field of the nodes and of the backward steps as one list, and the
    formulas as indices into a table of their distinct texts (a repeated line repeats them)."""
    graph, grads, count = fields.graph, fields.result.grads, fields.count
    grads = [None] * count if grads is None else grads  # (/graph/forward: a list of nulls)
    # A scalar graph's gradients need no item by item look, nor its steps' upstreams where they are
    # those gradients (tensors could be summarized differently in a step: they are looked at).
    grads_plain = _plain(grads)
    line, column, end_line, end_column = fields.spans
    nodes = [
        '"op":',
        *text_list(fields.kinds),
        ',"name":',
        *text_list(graph.names),
        ',"label":',
        *joined_list(fields.quoted_labels),
        ',"shape":',
        *json_list(graph.shapes),
        ',"value":',
        *_value_list(graph.values, max_full_elements),
        ',"grad":',
        *(json_list(grads) if grads_plain else _value_list(grads, max_full_elements)),
        ',"inputs":',
        *json_list(graph.args),
        ',"span":{"line":',
        *json_list(line),
        ',"column":',
        *json_list(column),
        ',"end_line":',
        *json_list(end_line),
        ',"end_column":',
        *json_list(end_column),
        '},"params":',
        *json_list(
            [_json_params(params) if params else None for params in graph.params]
            if any(graph.params)
            else [None] * count
        ),
    ]
    if fields.groups is not None:
        nodes += [',"group":', *json_list(fields.groups)]
    upstreams = _upstreams_of(fields) if fields.steps is not None else ()
    step_nodes, step_inputs, slots, _, texts, locals_, contributions, accumulated, summed = fields.steps or (((),) * 9)
    table, formulas = _numbered(list(texts))
    steps = [
        '"node":',
        *json_list(step_nodes),
        ',"input":',
        *json_list(step_inputs),
        ',"slot":',
        *json_list(slots),
        ',"upstream":',
        *(
            json_list(upstreams)
            if grads_plain and fields.upstreams_are_grads
            else _value_list(upstreams, max_step_elements)
        ),
        ',"local":{"formula":',
        *json_list(formulas),
        ',"value":',
        *_value_list(locals_, max_step_elements),
        '},"contribution":',
        *_value_list(contributions, max_step_elements),
        ',"accumulated":',
        *_value_list(accumulated, max_step_elements),
        ',"summed_axes":',
        *json_list(summed),
    ]
    return [
        '{"format":"columns","nodes":{',
        *nodes,
        '},"output":',
        str(graph.output),
        ',"forward":',
        *json_list(fields.result.forward),
        ',"steps":{',
        *steps,
        '},"formulas":',
        *joined_list(table),
    ]


def _numbered(texts: list[str]) -> tuple[list[str], list[int]]:
    """Each distinct text once, in the order of first use, and each text's index among them."""
    index = dict.fromkeys(texts, 0)
    if len(index) == len(texts):  # all different (a new name on every line): the texts are their own table
        return texts, list(range(len(texts)))
    index.update(zip(index, range(len(index))))
    return list(index), list(map(index.__getitem__, texts))


def _value_list(values: Any, max_elements: int) -> list[str]:
    """A column of values as one JSON list, in blocks."""
    return json_list(_ready(values, max_elements))


def _separated(blocks: list[str]) -> list[str]:
    """Blocks of a JSON list's items, with the commas between blocks."""
    out = blocks[:1]
    for block in blocks[1:]:
        out += (",", block)
    return out


def _coalesced(pieces: list[str], size: int = 1 << 18) -> list[str]:
    """Small pieces joined into chunks of about `size` characters, so that a body is sent in a few
    hundred writes rather than one per piece. A piece of `size` or more (a block of objects) is a
    chunk by itself, never copied into a join: the small pieces before it go as one chunk of their own."""
    chunks: list[str] = []
    pending: list[str] = []
    length = 0
    for piece in pieces:
        if len(piece) >= size:
            if pending:
                chunks.append("".join(pending))
                pending, length = [], 0
            chunks.append(piece)
            continue
        pending.append(piece)
        length += len(piece)
        if length >= size:
            chunks.append("".join(pending))
            pending, length = [], 0
    if pending:
        chunks.append("".join(pending))
    return chunks


class BodyChunks(Response):
    """A JSON response whose body is sent as the given chunks, in order, with its full length.
    `gzipped`: the chunks are a gzip stream (app/api/compression.py); the answer varies with the
    request's Accept-Encoding either way, which caches are told."""

    media_type = "application/json"

    def __init__(self, chunks: list[bytes], status_code: int = 200, gzipped: bool = False) -> None:
        super().__init__(b"", status_code=status_code)
        self.chunks = chunks
        self.headers["content-length"] = str(sum(map(len, chunks)))
        self.headers["vary"] = "Accept-Encoding"
        if gzipped:
            self.headers["content-encoding"] = "gzip"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Each chunk is freed once sent; a client that does not read is cut (app/api/outbox.py).
        start = {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        await send_chunks(scope, send, start, self.chunks)


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, option=_OPTIONS)
