"""Run the parity programs of tests/parity_programs.py in PyTorch and write tests/fixtures/torch_parity.json.

    .venv/bin/python scripts/make_parity_fixtures.py           # rewrite the fixture file
    .venv/bin/python scripts/make_parity_fixtures.py --check   # exit 1 if the file is out of date

PyTorch sees each program through its own small interpreter here: the program is parsed with
Python's `ast` (never evaluated) and each call is mapped onto torch, float64 throughout, with
the semantics DESIGN.md fixes: `linear(x, W, b) = x @ W + b` with W of shape (in, out), `mse`
= F.mse_loss (mean), `softmax_cross_entropy` = F.cross_entropy with integer labels, `max`/`min`
= torch.amax/amin, `transpose` = permute. It shares no code with the engine's parser or op table;
the only engine code used is `app.engine.inputs.decode`, so that `{"init": ...}` inputs are the
very numbers the engine sees.

For every case the fixture holds the materialized inputs, the output's value, and the value and
gradient of every named node (inputs and assigned names, in the order the program creates them;
a name assigned again appears once per assignment, as in the engine).
"""

from __future__ import annotations

import ast
import json
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "torch_parity.json"
for path in (str(ROOT), str(ROOT / "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

from parity_programs import CASES  # noqa: E402

from app.engine.inputs import decode  # noqa: E402
from app.engine.limits import Limits  # noqa: E402

DTYPE = torch.float64
MAX_ELEMENTS = Limits().max_tensor_elements


def _dims(x: torch.Tensor, axis: int | list[int] | None) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(x.ndim))
    return (axis,) if isinstance(axis, int) else tuple(axis)


def _cross_entropy(
    logits: torch.Tensor,
    labels: torch.Tensor,
    weight: list[float] | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    # chainlens' ignore_index=None ignores nothing; PyTorch's default -100 is never a label here.
    return F.cross_entropy(
        logits,
        labels.detach().to(torch.long),
        weight=None if weight is None else torch.tensor(weight, dtype=DTYPE),
        ignore_index=-100 if ignore_index is None else ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
    )


def _mse(pred: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    with warnings.catch_warnings():  # PyTorch warns when it broadcasts pred against target
        warnings.simplefilter("ignore", UserWarning)
        return F.mse_loss(pred, target, reduction=reduction)


def _onehot(labels: torch.Tensor, classes: int, ignore_index: int | None = None) -> torch.Tensor:
    indices = labels.detach().to(torch.long)
    ignored = indices == ignore_index if ignore_index is not None else torch.zeros_like(indices, dtype=torch.bool)
    rows = F.one_hot(torch.where(ignored, 0, indices), classes).to(DTYPE)
    return rows * (~ignored).unsqueeze(-1)


def _transpose(x: torch.Tensor, axes: list[int] | None = None) -> torch.Tensor:
    return x.permute(tuple(reversed(range(x.ndim))) if axes is None else tuple(axes))


def _reshape(x: torch.Tensor, shape: int | list[int]) -> torch.Tensor:
    return torch.reshape(x, (shape,) if isinstance(shape, int) else tuple(shape))


def _index(x: torch.Tensor, *indices: torch.Tensor, key: Sequence[Any]) -> torch.Tensor:
    """x[key] in PyTorch's own indexing: the key's items as a subscript would hold them."""
    tensors = iter(indices)
    items = []
    for item in key:
        if item == "tensor":
            items.append(next(tensors).detach().to(torch.long))
        elif item == "...":
            items.append(Ellipsis)
        elif isinstance(item, tuple):
            items.append(slice(*item))
        else:
            items.append(item)
    return x[tuple(items)]


def _mask(m: torch.Tensor) -> torch.Tensor:
    return m.detach() != 0


def _compare(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Callable[..., torch.Tensor]:
    return lambda a, b: fn(a, b).to(DTYPE)


def _reduce_dims(x: torch.Tensor, axis: int | list[int] | None) -> list[int]:
    return list(_dims(x, axis))


def _arg(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    def arg(x: torch.Tensor, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        return fn(x, dim=axis, keepdim=keepdims).to(DTYPE)

    return arg


def _linear_t(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if W.ndim == 1:  # F.linear with a 1-D weight is x @ W + b, as the engine's shape rule has it
        return torch.matmul(x, W) + b
    return F.linear(x, W, b)


# name -> (number of tensor operands, function of the operands and the literal parameters)
TORCH_OPS: dict[str, tuple[int, Any]] = {
    "add": (2, torch.add),
    "sub": (2, torch.sub),
    "mul": (2, torch.mul),
    "div": (2, torch.div),
    "pow": (2, torch.pow),
    "maximum": (2, torch.maximum),
    "minimum": (2, torch.minimum),
    "neg": (1, torch.neg),
    "exp": (1, torch.exp),
    "log": (1, torch.log),
    "sqrt": (1, torch.sqrt),
    "abs": (1, torch.abs),
    "sin": (1, torch.sin),
    "cos": (1, torch.cos),
    "tanh": (1, torch.tanh),
    "sigmoid": (1, torch.sigmoid),
    "relu": (1, torch.relu),
    "matmul": (2, torch.matmul),
    "sum": (1, lambda x, axis=None, keepdims=False: torch.sum(x, dim=_dims(x, axis), keepdim=keepdims)),
    "mean": (1, lambda x, axis=None, keepdims=False: torch.mean(x, dim=_dims(x, axis), keepdim=keepdims)),
    "max": (1, lambda x, axis=None, keepdims=False: torch.amax(x, dim=_dims(x, axis), keepdim=keepdims)),
    "min": (1, lambda x, axis=None, keepdims=False: torch.amin(x, dim=_dims(x, axis), keepdim=keepdims)),
    "softmax": (1, lambda x, axis=-1: torch.softmax(x, dim=axis)),
    "log_softmax": (1, lambda x, axis=-1: torch.log_softmax(x, dim=axis)),
    "mse": (2, _mse),
    "softmax_cross_entropy": (2, _cross_entropy),
    "linear": (3, lambda x, W, b: torch.matmul(x, W) + b),
    "transpose": (1, _transpose),
    "reshape": (1, _reshape),
    "onehot": (1, _onehot),
    "detach": (1, torch.Tensor.detach),
    # -1: every positional argument is an operand (the engine's variadic last operand)
    "index": (-1, _index),
    "gather": (2, lambda x, index, axis: torch.gather(x, axis, index.detach().to(torch.long))),
    "cat": (-1, lambda *tensors, axis=0: torch.cat(tensors, dim=axis)),
    "stack": (-1, lambda *tensors, axis=0: torch.stack(tensors, dim=axis)),
    "where": (3, lambda cond, a, b: torch.where(_mask(cond), a, b)),
    "masked_fill": (2, lambda x, mask, value: torch.masked_fill(x, _mask(mask), value)),
    "gt": (2, _compare(torch.gt)),
    "lt": (2, _compare(torch.lt)),
    "ge": (2, _compare(torch.ge)),
    "le": (2, _compare(torch.le)),
    "eq": (2, _compare(torch.eq)),
    "ne": (2, _compare(torch.ne)),
    # PyTorch's bool tensors, as the engine's 0.0/1.0 masks (x.bool(), ~m, torch.logical_and, ...)
    "bool": (1, lambda x: _mask(x).to(DTYPE)),
    "logical_not": (1, lambda x: torch.logical_not(_mask(x)).to(DTYPE)),
    "logical_and": (2, lambda a, b: torch.logical_and(_mask(a), _mask(b)).to(DTYPE)),
    "logical_or": (2, lambda a, b: torch.logical_or(_mask(a), _mask(b)).to(DTYPE)),
    "logical_xor": (2, lambda a, b: torch.logical_xor(_mask(a), _mask(b)).to(DTYPE)),
    "einsum": (-1, torch.einsum),  # einsum("ij,jk->ik", a, b): the equation passes as it is (see expr)
    "argmax": (1, _arg(torch.argmax)),
    "argmin": (1, _arg(torch.argmin)),
    "tril": (1, lambda x, diagonal=0: torch.tril(x, diagonal)),
    "triu": (1, lambda x, diagonal=0: torch.triu(x, diagonal)),
    "clamp": (1, lambda x, min=None, max=None: torch.clamp(x, min, max)),
    "logsumexp": (
        1,
        lambda x, axis=None, keepdims=False: torch.logsumexp(x, dim=_reduce_dims(x, axis), keepdim=keepdims),
    ),
    "var": (
        1,
        lambda x, axis=None, correction=1, keepdims=False: torch.var(
            x, dim=_reduce_dims(x, axis), correction=correction, keepdim=keepdims
        ),
    ),
    "std": (
        1,
        lambda x, axis=None, correction=1, keepdims=False: torch.std(
            x, dim=_reduce_dims(x, axis), correction=correction, keepdim=keepdims
        ),
    ),
    "linear_t": (3, _linear_t),
    "ones": (0, lambda shape: torch.ones(shape, dtype=DTYPE)),
    "zeros": (0, lambda shape: torch.zeros(shape, dtype=DTYPE)),
    "full": (0, lambda shape, fill_value: torch.full(shape, fill_value, dtype=DTYPE)),
    "arange": (
        0,
        lambda start=0, end=None, step=1: (
            torch.arange(start, dtype=DTYPE) if end is None else torch.arange(start, end, step, dtype=DTYPE)
        ),
    ),
    "eye": (0, lambda n, m=None: torch.eye(n, n if m is None else m, dtype=DTYPE)),
    "ones_like": (1, lambda x: torch.ones_like(x).detach()),
    "zeros_like": (1, lambda x: torch.zeros_like(x).detach()),
    "full_like": (1, lambda x, fill_value: torch.full_like(x, fill_value).detach()),
}
_BINARY = {
    ast.Add: torch.add,
    ast.Sub: torch.sub,
    ast.Mult: torch.mul,
    ast.Div: torch.div,
    ast.Pow: torch.pow,
    ast.MatMult: torch.matmul,
}
CONSTANTS = {"pi": math.pi, "e": math.e}


class TorchRun:
    """One program in PyTorch: forward, then backward from the output with grad_output."""

    def __init__(self, program: str, inputs: dict[str, Any], call: dict | None = None) -> None:
        self.decoded = {name: decode(name, raw, MAX_ELEMENTS) for name, raw in inputs.items()}
        self.env: dict[str, torch.Tensor] = {}
        self.leaves: dict[str, torch.Tensor] = {}
        self.named: list[tuple[str, torch.Tensor]] = []  # named nodes in creation order
        self._named_ids: set[int] = set()
        if call is not None:  # one op on the inputs in their order (see tests/parity_programs.py)
            operands = [self.resolve(name) for name in self.decoded]
            self.output = TORCH_OPS[call["op"]][1](*operands, **call["params"])
            return
        output = None
        for statement in ast.parse(program).body:
            if isinstance(statement, ast.Assign):
                (target,) = statement.targets
                value = self.expr(statement.value)
                self._name(target.id, value)
                self.env[target.id] = value
                output = value
            elif isinstance(statement, ast.Expr):
                output = self.expr(statement.value)
            else:
                raise ValueError(f"not a parity program statement: {ast.dump(statement)}")
        self.output = output

    def _name(self, name: str, tensor: torch.Tensor) -> None:
        if id(tensor) not in self._named_ids:  # the engine names a node once, by its first name
            self._named_ids.add(id(tensor))
            self.named.append((name, tensor))

    def _tensor(self, number: float) -> torch.Tensor:
        return torch.tensor(float(number), dtype=DTYPE)

    def resolve(self, name: str) -> torch.Tensor:
        if name in self.env:
            return self.env[name]
        if name in self.leaves:
            return self.leaves[name]
        if name in self.decoded:
            given = self.decoded[name]
            leaf = torch.tensor(given.value, dtype=DTYPE).reshape(given.shape).requires_grad_(given.requires_grad)
            self.leaves[name] = leaf
            self._name(name, leaf)
            return leaf
        return self._tensor(CONSTANTS[name])

    def expr(self, node: ast.expr) -> torch.Tensor:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return self._tensor(node.value)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value  # type: ignore[return-value]  (an einsum's equation, its first argument)
        if isinstance(node, ast.Name):
            return self.resolve(node.id)
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](self.expr(node.left), self.expr(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            if isinstance(node.operand, ast.Constant):
                return self._tensor(-node.operand.value)  # -2 is a constant, as in the engine
            return torch.neg(self.expr(node.operand))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return self.expr(node.operand)
        if isinstance(node, ast.Attribute) and node.attr == "T":
            return _transpose(self.expr(node.value))
        if isinstance(node, ast.Subscript):
            return self.expr(node.value)[self._key(node.slice)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            arity, fn = TORCH_OPS[node.func.id]
            arity = len(node.args) if arity < 0 else arity
            operands = [self.expr(arg) for arg in node.args[:arity]]
            params = [self.param(arg) for arg in node.args[arity:]]
            keywords = {kw.arg: self.param(kw.value) for kw in node.keywords}
            return fn(*operands, *params, **keywords)
        raise ValueError(f"not a parity program expression: {ast.dump(node)}")

    def param(self, node: ast.expr) -> Any:
        """A literal parameter, or the few spellings of one that are not Python literals:
        float('nan') / float('-inf'), a tensor's shape `x.shape` and its length `len(x)`."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("float", "len"):
            (arg,) = node.args
            return float(ast.literal_eval(arg)) if node.func.id == "float" else len(self.expr(arg))
        if isinstance(node, ast.Attribute) and node.attr == "shape":
            return tuple(self.expr(node.value).shape)
        return ast.literal_eval(node)

    def _key(self, node: ast.expr) -> Any:
        """A subscript's key in PyTorch's terms: literal ints, slices, None and ..., and names of
        integer tensors (as long tensors, which take no gradient)."""
        if isinstance(node, ast.Tuple):
            return tuple(self._key(item) for item in node.elts)
        if isinstance(node, ast.Slice):
            parts = (node.lower, node.upper, node.step)
            return slice(*(None if part is None else ast.literal_eval(part) for part in parts))
        if isinstance(node, ast.Name):
            return self.resolve(node.id).detach().to(torch.long)
        return ast.literal_eval(node)

    def backward(self, grad_output: Any) -> None:
        for _, tensor in self.named:
            if tensor.requires_grad and not tensor.is_leaf:
                tensor.retain_grad()
        if not self.output.requires_grad:
            return
        if grad_output is None:
            seed = torch.ones_like(self.output)
        else:
            seed = torch.tensor(grad_output, dtype=DTYPE).reshape(self.output.shape)
        self.output.backward(gradient=seed)


def plain(tensor: torch.Tensor | None) -> float | list | None:
    """A tensor as JSON: a float for 0-d, nested lists otherwise, None for no gradient."""
    if tensor is None:
        return None
    return tensor.detach().tolist() if tensor.ndim else float(tensor.detach())


def run_case(case: dict) -> dict:
    """The fixture entry of one case, computed in PyTorch."""
    run = TorchRun(case["program"], case["inputs"], case.get("call"))
    run.backward(case["grad_output"])
    return {
        "program": case["program"],
        "grad_output": case["grad_output"],
        "inputs": {
            name: {
                "value": plain(torch.tensor(given.value, dtype=DTYPE)),
                "shape": list(given.shape),
                "requires_grad": given.requires_grad,
            }
            for name, given in run.decoded.items()
        },
        "output": plain(run.output),
        "nodes": [{"name": name, "value": plain(t), "grad": plain(t.grad)} for name, t in run.named],
    }


def build() -> dict:
    return {
        "generator": "scripts/make_parity_fixtures.py",
        "torch": torch.__version__.split("+")[0],
        "dtype": "float64",
        "cases": {case["id"]: run_case(case) for case in CASES},
    }


def encode(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    text = encode(build())
    if "--check" in argv:
        current = FIXTURE.read_text() if FIXTURE.exists() else ""
        if current != text:
            print(f"{FIXTURE.relative_to(ROOT)} is out of date: run scripts/make_parity_fixtures.py", file=sys.stderr)
            return 1
        return 0
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(text)
    print(f"wrote {len(CASES)} cases to {FIXTURE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
