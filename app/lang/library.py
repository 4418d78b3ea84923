"""Calls of namespaced functions and tensor methods, bound by the namespace table.

`torch.sum(x, 0, keepdim=True)`, `x.sum(0, keepdim=True)` and `np.sum(x, axis=0, keepdims=True)`
all become the op `sum` with axis=0, keepdims=True: the table (app/engine/dialects.py) says how
each library passes its arguments, and this module turns a call into the op's operands and
parameters, then lets the parser build it as it builds a bare call. Forms (views, the pair of
torch.max, shapes, splits) are built here from ops and static values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from app.engine.dialects import FORMS, IGNORED, IMPLICIT_DIM, UNBIASED, Spelling
from app.engine.errors import ProgramError
from app.engine.ops import OPS
from app.lang.static import Dtype, Pair, Term, Terms, Word, is_int, is_number, plain

if TYPE_CHECKING:
    from app.lang.parser import _Parser


def call(
    parser: _Parser,
    spelling: Spelling,
    shown: str,
    self_term: Term | None,
    positional: list[Term],
    keywords: dict[str, Term],
    start: int,
    end: int,
) -> Term:
    """The call `shown` (`torch.sum`, `.sum`) of `spelling` with its arguments; `self_term` is the
    tensor a method is called on."""
    given: dict[str, Term] = {}
    names = spelling.args
    if self_term is not None:
        given[_first_name(spelling)] = self_term
    if len(positional) > len(names):
        if spelling.op in _SIZES and names and names[-1] in ("shape", "dims"):
            # x.view(B, T, -1), x.permute(0, 2, 1), torch.ones(3, 3): the sizes as separate arguments.
            first = len(names) - 1
            items = positional[first:]
            positional = [*positional[:first], (-1, Terms(items), items[0][2], items[-1][3])]
        elif _variadic(spelling) and len(names) >= 1 and names[0] == "tensors":
            positional = [(-1, Terms(positional), positional[0][2], positional[-1][3])]
        elif _variadic(spelling) and names[-1] == OPS[spelling.op].operands[-1]:
            # torch.einsum(equation, a, b): the arguments from the variadic one's place on are its operands.
            first = len(names) - 1
            items = positional[first:]
            positional = [*positional[:first], (-1, Terms(items), items[0][2], items[-1][3])]
        else:
            raise ProgramError(
                "bad_arguments",
                f"{shown} takes at most {len(names)} positional argument"
                f"{'s' if len(names) != 1 else ''} here ({', '.join(names) or 'none'}), got {len(positional)}",
                start=start,
                end=end,
            )
    given.update(zip(names, positional))
    for keyword, term in keywords.items():
        if keyword in IGNORED and keyword not in spelling.keywords:  # (x.to(dtype=torch.bool) reads it)
            _check_ignored(parser, shown, keyword, term)
            continue
        name = spelling.keywords.get(keyword)
        if name is None:
            known = ", ".join(spelling.keywords) or "none"
            raise ProgramError(
                "bad_arguments",
                f"{shown} has no keyword argument '{keyword}' here; its keywords are: {known}",
                start=term[2],
                end=term[3],
            )
        if name == UNBIASED:  # the legacy spelling: unbiased=False is correction=0
            value = term[1] if term[0] < 0 else None
            if not isinstance(value, bool):
                raise ProgramError(
                    "bad_arguments", f"{shown}'s unbiased must be True or False", start=term[2], end=term[3]
                )
            name, value_term = "correction", (-1, int(value), term[2], term[3])
        else:
            value_term = term
        if name in given:
            raise ProgramError("bad_arguments", f"{shown} got {keyword} twice", start=term[2], end=term[3])
        given[name] = value_term
    for name, value in spelling.defaults.items():
        given.setdefault(name, (-1, value, start, end))
    axis = given.get("axis")
    if axis is not None and axis[0] < 0 and axis[1] is IMPLICIT_DIM:  # PyTorch's _get_softmax_dim
        ndim = 2
        if "x" in given:
            x = given["x"]
            node = parser.operand(x)
            given["x"], ndim = (node, None, x[2], x[3]), len(parser.graph.shapes[node])
        given["axis"] = (-1, 0 if ndim in (0, 1, 3) else 1, start, end)
    form = _FORMS.get(spelling.op)
    if form is not None:
        return form(parser, shown, given, start, end)
    return build(parser, spelling.op, shown, given, start, end)


# Spellings that take sizes one by one as well as in one tuple (PyTorch's *size).
_SIZES = frozenset(("view", "permute", "ones", "zeros"))


def _check_ignored(parser: _Parser, shown: str, keyword: str, term: Term) -> None:
    """dtype=torch.long and the like change nothing (every tensor is float64); other values are refused."""
    node, literal, start, end = term
    if keyword == "dtype" and node < 0 and isinstance(literal, Dtype):
        return
    if keyword == "requires_grad" and node < 0 and isinstance(literal, bool):
        return
    if keyword == "inplace" and node < 0 and literal is False:  # F.relu(x, inplace=False): the result is the same
        return
    if keyword == "device" and node < 0 and isinstance(literal, Word) and literal == "cpu":
        return
    raise ProgramError(
        "bad_arguments",
        f"{shown}'s {keyword}= is accepted only as a dtype such as torch.float64 (every tensor "
        "is float64), device='cpu', requires_grad=True/False or inplace=False",
        start=start,
        end=end,
    )


def _first_name(spelling: Spelling) -> str:
    """The name of the operand a method's tensor stands for: the op's first operand."""
    op = OPS.get(spelling.op)
    if op is not None:
        return op.operands[0]
    return "a" if spelling.op in ("np_dot",) else "x"


def _variadic(spelling: Spelling) -> bool:
    op = OPS.get(spelling.op)
    return bool(op is not None and getattr(op, "variadic", False))


def build(parser: _Parser, name: str, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    """The op `name` with operands and parameters by name, built as a bare call would build it."""
    op = OPS[name]
    operands: list[Term] = []
    variadic = getattr(op, "variadic", False)
    for slot, operand in enumerate(op.operands):
        term = given.pop(operand, None)
        last = variadic and slot == len(op.operands) - 1
        if term is None:
            if last:
                continue
            if operand in op.optional:  # left out: the parser's bind puts "not given" in its place
                operands.append((-1, None, end - 1, end - 1))
                continue
            raise ProgramError(
                "bad_arguments", f"{shown} is missing an argument ({operand}): {op.signature()}", start=start, end=end
            )
        if last and isinstance(term[1], Terms) and term[0] < 0:
            operands.extend(term[1])  # torch.cat([a, b]): the list's tensors are the operands
        else:
            operands.append(term)
    params = {key: parser.static_term(term) for key, term in given.items()}
    return parser.build_call(op, operands, params, start, end)


def _static(
    parser: _Parser, given: dict[str, Term], name: str, shown: str, default: Any = None, kind: str = "an integer"
) -> Any:
    term = given.get(name)
    if term is None:
        return default
    return parser.static(term, f"{shown}'s {name}", kind)


def _axis(parser: _Parser, given: dict[str, Term], name: str, shown: str, ndim: int, default: Any = None) -> Any:
    """An axis argument as a non-negative axis of a tensor of `ndim` axes."""
    term = given.get(name)
    value = _static(parser, given, name, shown, default)
    if value is None:
        return None
    if not is_int(value) or not -max(ndim, 1) <= value < max(ndim, 1):
        raise ProgramError(
            "bad_arguments",
            f"{shown}'s {name} must be an axis from {-max(ndim, 1)} to {max(ndim, 1) - 1}"
            f" of a tensor with {ndim} axes, got {value!r}",
            start=term[2] if term else 0,
            end=term[3] if term else 0,
        )
    return value % max(ndim, 1)


def _tensor(
    parser: _Parser, given: dict[str, Term], name: str, shown: str, start: int, end: int
) -> tuple[int, tuple[int, ...]]:
    term = given.get(name)
    if term is None:
        raise ProgramError("bad_arguments", f"{shown} needs a tensor", start=start, end=end)
    node = parser.operand(term)
    return node, parser.graph.shapes[node]


def reshaped(parser: _Parser, node: int, shape: tuple[int, ...], start: int, end: int) -> Term:
    return parser.apply(OPS["reshape"], (node,), {"shape": tuple(shape)}, start, end)


def transposed(parser: _Parser, node: int, axes: tuple[int, ...] | None, start: int, end: int) -> Term:
    return parser.apply(OPS["transpose"], (node,), None if axes is None else {"axes": tuple(axes)}, start, end)


def _view(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    node, _ = _tensor(parser, given, "x", shown, start, end)
    shape = _static(parser, given, "shape", shown, kind="a shape")
    if is_int(shape):
        shape = (shape,)
    if not isinstance(shape, tuple) or not all(is_int(d) for d in shape):
        raise ProgramError("bad_arguments", f"{shown} takes sizes such as (3, -1)", start=start, end=end)
    return reshaped(parser, node, tuple(map(int, shape)), start, end)


def _flatten(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    node, shape = _tensor(parser, given, "x", shown, start, end)
    first = _axis(parser, given, "start_dim", shown, len(shape), 0)
    last = _axis(parser, given, "end_dim", shown, len(shape), -1)
    if not shape:
        return reshaped(parser, node, (1,), start, end)
    if first > last:
        raise ProgramError("bad_arguments", f"{shown}: start_dim comes after end_dim", start=start, end=end)
    merged = math.prod(shape[first : last + 1])
    return reshaped(parser, node, (*shape[:first], merged, *shape[last + 1 :]), start, end)


def _squeeze(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    node, shape = _tensor(parser, given, "x", shown, start, end)
    dims = _static(parser, given, "dim", shown)
    if dims is None:
        kept = tuple(d for d in shape if d != 1)
    else:
        axes = dims if isinstance(dims, tuple) else (dims,)
        picked = set()
        for axis in axes:
            picked.add(_axis(parser, {"dim": (-1, axis, start, end)}, "dim", shown, len(shape)))
        kept = tuple(d for k, d in enumerate(shape) if not (k in picked and d == 1))
    return reshaped(parser, node, kept, start, end)


def _unsqueeze(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    node, shape = _tensor(parser, given, "x", shown, start, end)
    if "dim" not in given:
        raise ProgramError("bad_arguments", f"{shown} needs dim", start=start, end=end)
    axis = _axis(parser, given, "dim", shown, len(shape) + 1)
    return reshaped(parser, node, (*shape[:axis], 1, *shape[axis:]), start, end)


def _permute(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    node, shape = _tensor(parser, given, "x", shown, start, end)
    dims = _static(parser, given, "dims", shown, kind="a tuple of axes")
    if is_int(dims):
        dims = (dims,)
    axes = sorted(d % max(len(shape), 1) for d in dims if is_int(d)) if isinstance(dims, tuple) else None
    if axes != list(range(len(shape))):
        raise ProgramError(
            "bad_arguments", f"{shown} needs each of the {len(shape)} axes once, got {dims!r}", start=start, end=end
        )
    return transposed(parser, node, tuple(d % len(shape) for d in dims), start, end)


def _swapdims(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    node, shape = _tensor(parser, given, "x", shown, start, end)
    for name in ("dim0", "dim1"):
        if name not in given:
            raise ProgramError("bad_arguments", f"{shown} needs two axes (dim0, dim1)", start=start, end=end)
    a = _axis(parser, given, "dim0", shown, len(shape))
    b = _axis(parser, given, "dim1", shown, len(shape))
    return swapped(parser, node, len(shape), a, b, start, end)


def swapped(parser: _Parser, node: int, ndim: int, a: int, b: int, start: int, end: int) -> Term:
    if ndim < 2 or a == b:
        return (node, None, start, end)
    perm = list(range(ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return transposed(parser, node, tuple(perm), start, end)


def _t(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    node, shape = _tensor(parser, given, "x", shown, start, end)
    if len(shape) > 2:
        raise ProgramError(
            "bad_arguments",
            f"{shown} transposes tensors of at most 2 axes; this one has {len(shape)}: "
            "use .transpose(a, b), .mT or .permute(...)",
            start=start,
            end=end,
        )
    return (node, None, start, end) if len(shape) < 2 else transposed(parser, node, None, start, end)


def _same(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    node, _ = _tensor(parser, given, "x", shown, start, end)
    if "dtype" in given:  # x.to(torch.float64)
        _check_ignored(parser, shown, "dtype", given["dtype"])
        if given["dtype"][1] == "torch.bool":  # x.to(torch.bool): a mask, as x.bool()
            return _bool(parser, shown, {"x": (node, None, start, end)}, start, end)
    return (node, None, start, end)


def _bool(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    """x.bool(): PyTorch's bool tensor, the op `bool` (1.0 where x is nonzero); a mask already (a
    comparison, ~, a logical op) is itself."""
    node, _ = _tensor(parser, given, "x", shown, start, end)
    op = parser.graph.ops[node]
    if op is not None and op.name in BOOLEAN:
        return (node, None, start, end)
    return parser.apply(OPS["bool"], (node,), None, start, end)


def _einsum(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    """torch.einsum / np.einsum: the equation is a quoted string, passed on as the op's parameter."""
    optimize = given.pop("optimize", None)  # np.einsum's contraction order: it changes no number
    if optimize is not None and (optimize[0] >= 0 or not isinstance(optimize[1], (bool, Word))):
        raise ProgramError(
            "bad_arguments", f"{shown}'s optimize is True, False or a quoted word", start=optimize[2], end=optimize[3]
        )
    equation = given.get("equation")
    if equation is None:
        raise ProgramError("bad_arguments", f"{shown} needs an equation such as 'ij,jk->ik'", start=start, end=end)
    if equation[0] < 0 and isinstance(equation[1], Word):  # a string, not a quoted option word: see the table's kind
        given["equation"] = (-1, str(equation[1]), equation[2], equation[3])
    return build(parser, "einsum", shown, given, start, end)


def _extremum(name: str, pairwise: str, arg: str) -> Callable[..., Term]:
    def form(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
        other = given.pop("b", None)
        axis = given.get("axis")
        if other is None and axis is not None and axis[0] >= 0 and parser.static_or_none(axis) is None:
            other = given.pop("axis")  # torch.max(a, b): elementwise
        if other is not None:
            return build(parser, pairwise, shown, {"a": given["x"], "b": other}, start, end)
        if given.get("axis") is None:
            given.pop("keepdims", None)
            return build(parser, name, shown, given, start, end)
        # PyTorch's pair sends the whole gradient to the index it returns (the first maximum), not
        # shared among ties as the bare max does: the values are read by that index (gather).
        node, shape = _tensor(parser, given, "x", shown, start, end)
        axis = _axis(parser, given, "axis", shown, len(shape))
        keepdims = _static(parser, given, "keepdims", shown, False, "True or False")
        if not shape:  # a 0-d tensor: its one value, at index 0
            indices = build(parser, arg, shown, {"x": given["x"]}, start, end)
            return (-1, Pair(((node, None, start, end), indices)), start, end)
        kept = build(
            parser,
            arg,
            shown,
            {"x": given["x"], "axis": (-1, axis, start, end), "keepdims": (-1, True, start, end)},
            start,
            end,
        )
        values = parser.apply(OPS["gather"], (node, kept[0]), {"axis": axis}, start, end)
        if keepdims:
            return (-1, Pair((values, kept)), start, end)
        reduced = shape[:axis] + shape[axis + 1 :]
        return (
            -1,
            Pair((reshaped(parser, values[0], reduced, start, end), reshaped(parser, kept[0], reduced, start, end))),
            start,
            end,
        )

    return form


def _f_linear(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    """F.linear(x, W, b) = x @ W.T + b; without a bias (nanoGPT's tied weights), x @ W.T."""
    if given.get("b") is not None:
        return build(parser, "linear_t", shown, given, start, end)
    x, _ = _tensor(parser, given, "x", shown, start, end)
    W, shape = _tensor(parser, given, "W", shown, start, end)
    weight_t = transposed(parser, W, None, start, end) if len(shape) == 2 else (W, None, start, end)
    return parser.apply(OPS["matmul"], (x, weight_t[0]), None, start, end)


def _dropout(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    """F.dropout: off (p=0 or training=False) it is the tensor itself; on, it draws random numbers,
    which a program here never does."""
    p = _static(parser, given, "p", shown, 0.5, "a number")
    training = _static(parser, given, "training", shown, True, "True or False")
    if training is not False and p != 0:
        raise ProgramError(
            "forbidden",
            f"{shown} with p={plain(p)!r} in training mode is random; write p=0.0 or training=False "
            "to compute the network without it",
            start=start,
            end=end,
        )
    return _same(parser, shown, {"x": given["x"]}, start, end)


def _cross_entropy(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    """F.cross_entropy: a target of the logits' shape holds class probabilities (PyTorch tells them
    apart the same way), any other class indices."""
    logits, shape = _tensor(parser, given, "logits", shown, start, end)
    target, target_shape = _tensor(parser, given, "labels", shown, start, end)
    given["logits"], given["labels"] = (logits, None, start, end), (target, None, start, end)
    if target_shape != shape or not shape:
        return build(parser, "softmax_cross_entropy", shown, given, start, end)
    ignore = given.pop("ignore_index", None)
    # The table's default (-100) stands at the call's own span; one written in the program does not.
    if ignore is not None and (ignore[2], ignore[3]) != (start, end):
        raise ProgramError(
            "bad_arguments",
            f"{shown}'s ignore_index applies to class indices, not to a target "
            "of class probabilities (PyTorch refuses it too)",
            start=ignore[2],
            end=ignore[3],
        )
    renamed = {"logits": "input", "labels": "target"}
    return build(parser, "cross_entropy_probs", shown, {renamed.get(k, k): v for k, v in given.items()}, start, end)


# Comparisons and logical ops make PyTorch's boolean tensors (here 0.0/1.0): an attention mask made by
# one is boolean.
BOOLEAN = frozenset(
    ("gt", "lt", "ge", "le", "eq", "ne", "bool", "logical_not", "logical_and", "logical_or", "logical_xor")
)


def _attention(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    """F.scaled_dot_product_attention: PyTorch reads a boolean attn_mask as "True keeps the score"
    and a float one as added to the scores; a mask made by a comparison here is the boolean one."""
    mask = given.get("attn_mask")
    if mask is not None and mask[0] >= 0 and parser.graph.ops[mask[0]] is not None:
        op = parser.graph.ops[mask[0]]
        if op is not None and op.name in BOOLEAN:
            given["bool_mask"] = (-1, True, start, end)
    return build(parser, "scaled_dot_product_attention", shown, given, start, end)


def _np_dot(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    a, b = given.get("a"), given.get("b")
    if a is None or b is None:
        raise ProgramError("bad_arguments", f"{shown} needs two arrays", start=start, end=end)
    if a[0] < 0 or b[0] < 0:
        return build(parser, "mul", shown, {"a": a, "b": b}, start, end)
    for term in (a, b):
        if len(parser.graph.shapes[term[0]]) > 2:
            raise ProgramError(
                "bad_arguments",
                f"{shown} of arrays with more than 2 axes sums over other axes than matmul "
                "does and is not supported: use @ or np.matmul",
                start=term[2],
                end=term[3],
            )
    if not parser.graph.shapes[a[0]] or not parser.graph.shapes[b[0]]:
        return build(parser, "mul", shown, {"a": a, "b": b}, start, end)
    return build(parser, "matmul", shown, {"a": a, "b": b}, start, end)


def _size(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    _, shape = _tensor(parser, given, "x", shown, start, end)
    if given.get("dim") is None:
        return (-1, tuple(shape), start, end)
    return (-1, shape[_axis(parser, given, "dim", shown, len(shape))], start, end)


def _numel(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    _, shape = _tensor(parser, given, "x", shown, start, end)
    return (-1, math.prod(shape), start, end)


def _ndim(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    _, shape = _tensor(parser, given, "x", shown, start, end)
    return (-1, len(shape), start, end)


def pieces(
    parser: _Parser, node: int, shape: tuple[int, ...], axis: int, sizes: list[int], start: int, end: int
) -> Term:
    """The slices of `node` along `axis`, `sizes` long each, as a tuple of index nodes."""
    if "index" not in OPS:
        raise ProgramError("forbidden", "splitting is not available yet", start=start, end=end)
    items = []
    offset = 0
    for length in sizes:
        key = (*([(None, None, None)] * axis), (offset, offset + length, None))
        items.append(parser.apply(OPS["index"], (node,), {"key": key}, start, end))
        offset += length
    return (-1, Terms(items), start, end)


def _split(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    node, shape = _tensor(parser, given, "x", shown, start, end)
    axis = _axis(parser, given, "dim", shown, len(shape), 0)
    size = _static(parser, given, "split_size", shown, kind="a size or a list of sizes")
    length = shape[axis] if shape else 1
    if is_int(size) and size > 0:
        sizes = [min(size, length - k) for k in range(0, length, size)] or [0]
    elif isinstance(size, tuple) and all(is_int(s) and s >= 0 for s in size) and sum(size) == length:
        sizes = list(size)
    else:
        raise ProgramError(
            "bad_arguments",
            f"{shown} takes a positive size, or sizes that add up to {length}, got {size!r}",
            start=start,
            end=end,
        )
    check_count(len(sizes), parser, start, end)
    return pieces(parser, node, shape, axis, sizes, start, end)


def _chunk(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    node, shape = _tensor(parser, given, "x", shown, start, end)
    axis = _axis(parser, given, "dim", shown, len(shape), 0)
    count = _static(parser, given, "chunks", shown)
    if not is_int(count) or count < 1:
        raise ProgramError("bad_arguments", f"{shown} takes a positive number of chunks", start=start, end=end)
    length = shape[axis] if shape else 1
    size = -(-length // count) if length else 1
    sizes = [min(size, length - k) for k in range(0, length, size)] or [0]
    check_count(len(sizes), parser, start, end)
    return pieces(parser, node, shape, axis, sizes, start, end)


def _np_split(parser: _Parser, shown: str, given: dict[str, Term], start: int, end: int) -> Term:
    node, shape = _tensor(parser, given, "x", shown, start, end)
    axis = _axis(parser, given, "dim", shown, len(shape), 0)
    sections = _static(parser, given, "sections", shown, kind="a count or a list of split points")
    length = shape[axis] if shape else 1
    if is_int(sections) and sections > 0:
        if length % sections:
            raise ProgramError(
                "bad_arguments",
                f"{shown}: {length} does not split into {sections} equal sections",
                start=start,
                end=end,
            )
        sizes = [length // sections] * sections
    elif isinstance(sections, tuple) and all(is_int(s) for s in sections):
        points = [min(max(p if p >= 0 else p + length, 0), length) for p in sections]
        bounds = [0, *points, length]
        sizes = [max(b - a, 0) for a, b in pairwise(bounds)]
    else:
        raise ProgramError("bad_arguments", f"{shown} takes a count or split points", start=start, end=end)
    check_count(len(sizes), parser, start, end)
    return pieces(parser, node, shape, axis, sizes, start, end)


def check_count(count: int, parser: _Parser, start: int, end: int) -> None:
    limit = parser.graph.limits.max_nodes
    if len(parser.graph) + count > limit:
        raise ProgramError(
            "limit_exceeded", f"the program needs more than {limit} nodes (the limit)", start=start, end=end
        )


_MATH: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "log2": math.log2,
    "log10": math.log10,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "tanh": math.tanh,
    "fabs": math.fabs,
    "floor": math.floor,
    "ceil": math.ceil,
    "pow": math.pow,
    "isqrt": math.isqrt,
}


def math_call(
    parser: _Parser, name: str, positional: list[Term], keywords: dict[str, Term], start: int, end: int
) -> Term:
    """math.<name>(numbers...): computed now, on numbers known before the program runs."""
    shown = f"math.{name}"
    count = 2 if name == "pow" else 1
    if keywords or len(positional) != count:
        raise ProgramError(
            "bad_arguments", f"{shown} takes {count} number{'s' if count > 1 else ''}", start=start, end=end
        )
    values = []
    for term in positional:
        if term[0] >= 0 and parser.static_or_none(term) is None:
            torch_name = {"fabs": "abs"}.get(name, name)
            raise ProgramError(
                "bad_arguments",
                f"{shown} works on numbers, and {parser.label(term)} is a tensor: "
                f"use torch.{torch_name} (or np.{torch_name}) for a tensor",
                start=term[2],
                end=term[3],
            )
        value = parser.static(term, f"{shown}'s argument", "a number")
        if not is_number(value):
            raise ProgramError("bad_arguments", f"{shown} takes numbers", start=term[2], end=term[3])
        values.append(plain(value))
    try:
        result = _MATH[name](*values)
    except (ValueError, OverflowError, TypeError) as exc:
        raise ProgramError("bad_arguments", f"{shown}{tuple(values)!r}: {exc}", start=start, end=end) from None
    return (-1, result, start, end)


_FORMS: dict[str, Callable[..., Term]] = {
    "view": _view,
    "flatten": _flatten,
    "squeeze": _squeeze,
    "unsqueeze": _unsqueeze,
    "permute": _permute,
    "swapdims": _swapdims,
    "t": _t,
    "same": _same,
    "max_pair": _extremum("max", "maximum", "argmax"),
    "min_pair": _extremum("min", "minimum", "argmin"),
    "np_dot": _np_dot,
    "size": _size,
    "numel": _numel,
    "ndim": _ndim,
    "split": _split,
    "chunk": _chunk,
    "np_split": _np_split,
    "f_linear": _f_linear,
    "dropout": _dropout,
    "cross_entropy": _cross_entropy,
    "attention": _attention,
    "bool": _bool,
    "einsum": _einsum,
}
if set(_FORMS) | {"number"} != set(FORMS):  # every form the table names is built here, and no other
    raise RuntimeError(f"forms out of step with app/engine/dialects.py: {set(_FORMS) ^ set(FORMS)}")
