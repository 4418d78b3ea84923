"""Each backward step's local-derivative formula as JSON text, written a template at a time.

A formula is its op's template for the operand's slot with node labels put in: ∂{out}/∂{a} = {b}
with the consumer's and its operands' labels. A program whose lines all differ (a new name per
line) has as many distinct formulas as steps, so nothing is gained by caching texts; filling them
one str.format at a time, then escaping each, took 40 ms of a 10,000-node body.

Here the steps are grouped by (op, slot): every step of a group has the same template. The
template's literal text is JSON-escaped once, the labels once per node (the label column needs
them escaped anyway), and a group's formulas are interleaved from those pieces by slice
assignment and one join, as jsontext.objects writes rows. Escaping is character by character, so
the escaped template filled with escaped labels is the escaped formula, byte for byte. A group
whose labels are the same on every row (a repeated line: h = tanh(h * w + b)) is filled once.
On the 10,000-node program of a new name per line: 9 ms instead of 41 (CPU, the same run).

Variadic ops (cat, stack, index: the last operand's name stands for all the rest) and operands
an op may leave out are filled one node at a time with Op.filled_formulas, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress
from json.encoder import encode_basestring_ascii
from operator import itemgetter, not_
from string import Formatter
from typing import Any, cast

import numpy as np

from app.api.jsontext import interleaved, same_on_every_row
from app.engine.ops import Op

_OUT = -1  # the place of the consumer's own label among a template's fields
ID_CODES_SLOTS = 1 << 15


def formula_label(label: str) -> str:
    """Labels that are expressions get parentheses inside formulas: ∂y/∂(x * a + b)."""
    return label if _plain(label) else f"({label})"


def _plain(label: str) -> bool:
    """A name or a number: shown in formulas without parentheses."""
    return label.isidentifier() or label.replace(".", "", 1).isdigit()


def shown_labels(labels: Sequence[str], quoted: Sequence[str]) -> list[str]:
    """Each node's label as formulas show it (formula_label), JSON-escaped without its quotes;
    `quoted` is each label's JSON text."""
    if 2 * len(set(labels)) < len(labels):  # a program that repeats itself: once per distinct label
        shown = {
            label: text[1:-1] if _plain(label) else f"({text[1:-1]})"
            for label, text in dict(zip(labels, quoted)).items()
        }
        return list(map(shown.__getitem__, labels))
    # Otherwise node by node, C loops doing what they can: the identifiers (_plain's first test) are
    # passed over, and only the others are tested for a number.
    # Escaping only ever lengthens a text: where the lengths add up, every label is its own JSON text.
    escaped = sum(map(len, quoted)) != sum(map(len, labels)) + 2 * len(labels)
    inner = list(map(_UNQUOTED, quoted)) if escaped else list(labels)
    for node in compress(range(len(labels)), map(not_, map(str.isidentifier, labels))):
        if not labels[node].replace(".", "", 1).isdigit():
            inner[node] = f"({inner[node]})"
    return inner


_UNQUOTED = itemgetter(slice(1, -1))
_templates: dict[tuple[str, int], tuple[list[str], list[int]] | None] = {}


def _template(op: Op, slot: int) -> tuple[list[str], list[int]] | None:
    """The formula of op's operand at `slot` as its literal pieces (JSON-escaped, the first and
    last with the string's quotes) and each field's place: _OUT or the operand's index. None for
    a variadic op, whose fields do not map one to one onto operands."""
    key = (op.name, slot)
    if key not in _templates:
        _templates[key] = None if op.variadic or slot >= len(op.formulas) else _compiled(op, op.formulas[slot])
    return _templates[key]


def _compiled(op: Op, template: str) -> tuple[list[str], list[int]]:
    pieces, fields = [""], []
    for literal, field, _spec, _conversion in Formatter().parse(template):
        pieces[-1] += encode_basestring_ascii(literal)[1:-1]
        if field is not None:
            fields.append(_OUT if field == "out" else op.operands.index(field))
            pieces.append("")
    pieces[0] = '"' + pieces[0]
    pieces[-1] += '"'
    return pieces, fields


def formula_texts(
    graph: Any, step_nodes: Sequence[int], slots: Sequence[int], labels: Sequence[str], shown: list[str]
) -> list[str]:
    """Each backward step's formula as a JSON string (quoted, ASCII-escaped), from every node's
    label and its text in formulas (shown_labels)."""
    count = len(step_nodes)
    if not count:
        return []
    ops, args = graph.ops, graph.args
    # One code per (op, slot) for every step: the op's id (an address, under 2**48) times the slots,
    # or where that could pass 2**63 (a variadic op of ID_CODES_SLOTS operands), its place among the ops.
    nodes = np.fromiter(step_nodes, dtype=np.intp, count=count)
    slot_array = np.fromiter(slots, dtype=np.intp, count=count)
    ids = np.fromiter(map(id, ops), dtype=np.int64, count=len(ops))
    width = int(slot_array.max()) + 1
    if width > ID_CODES_SLOTS:
        ids = np.unique(ids, return_inverse=True)[1].reshape(-1)
    codes = ids[nodes] * width + slot_array
    distinct, first = np.unique(codes, return_index=True)
    # Each group's texts go to its steps' places (a group is found by one comparison over the codes:
    # there are few); a numpy array of objects takes them there, in C.
    texts = np.empty(count, dtype=object)
    # The groups of one op's slots follow each other, and mostly have the same nodes (both
    # operands of a * b take a gradient): their columns of labels are looked up once.
    group: list[int] = []
    columns_of: dict[int, list[str]] = {}
    for code, at in zip(distinct.tolist(), first.tolist()):
        places = np.flatnonzero(codes == code) if len(distinct) > 1 else slice(None)
        nodes_of_group = nodes[places].tolist()
        if nodes_of_group != group:
            group, columns_of = nodes_of_group, {}
            operands = list(map(args.__getitem__, group))
        op, slot = ops[group[0]], slots[at]
        template = _template(op, slot)
        # every field names an operand each node of the group has (an op may leave some out)
        if template is not None and (not op.optional or max(template[1], default=-1) < min(map(len, operands))):
            pieces, fields = template
            for field in fields:
                if field not in columns_of:
                    rows = group if field == _OUT else map(itemgetter(field), operands)
                    columns_of[field] = list(map(shown.__getitem__, rows))
            columns = list(map(columns_of.__getitem__, fields))
            if all(map(same_on_every_row, columns)):  # one text for the whole group: a repeated line's
                texts[places] = interleaved(pieces, [column[:1] for column in columns], "") if fields else pieces[0]
            else:
                # Escaped text holds no raw line break, so the split gives one text per step.
                texts[places] = interleaved(pieces, columns, "\n").split("\n")
        else:
            texts[places] = _filled_one_by_one(op, group, slot, operands, labels)
    return cast("list[str]", texts.tolist())


def _filled_one_by_one(op: Op, group: list[int], slot: int, args: list, labels: Sequence[str]) -> list[str]:
    """The formulas of one (op, slot) group filled node by node (variadic ops, left-out operands)."""
    return [
        encode_basestring_ascii(
            op.filled_formulas(formula_label(labels[node]), [formula_label(labels[j]) for j in operands])[slot]
        )
        for node, operands in zip(group, args)
    ]
