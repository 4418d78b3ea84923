"""A torch.fx graph → the text of a chainlens program and its inputs (the table: chainlens/fx_table.py).

Names:
- a forward argument is an input of the argument's own name (`x`); a float tensor takes a
  gradient, an integer or boolean tensor is an integer input without one, a Python int is an
  integer input (a number the program may also use as a size);
- a parameter or buffer is an input named after its path in the module, dots turned into
  underscores and a leading `_` where the path starts with a digit, as torch.fx names its nodes:
  `fc1.weight` → `fc1_weight`, `0.weight` → `_0_weight`, `blocks.1.ln.bias` → `blocks_1_ln_bias`.
  Buffers (BatchNorm's running statistics) take no gradient;
- every other line is named after its fx node (`fc1`, `relu`, `add_1`).
A name already taken (or one the language reserves, like `torch`) gets `_2`, `_3`, ... appended.

Each line remembers the module path it was called in, so that the modules can become groups of
the computed graph (chainlens/groups.py).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from chainlens import UnsupportedError
from chainlens.fx_table import DROPPED, FUNCTIONS, METHODS, MODULES, Call, Refused, number_text, supported

_RESERVED = frozenset(
    (
        "torch",
        "F",
        "nn",
        "np",
        "numpy",
        "math",
        "functional",
        "range",
        "len",
        "float",
        "int",
        "None",
        "True",
        "False",
        "and",
        "or",
        "not",
        "in",
        "is",
        "for",
        "if",
        "else",
        "lambda",
    )
)


def input_name(path: str) -> str:
    """The input name of a parameter path (the module docstring's rule)."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", path)
    return f"_{name}" if name[:1].isdigit() else name


@dataclass
class Line:
    name: str
    text: str
    module: tuple[str, ...]  # the module paths it was called in, outermost first
    types: tuple[str, ...]  # their types' names


@dataclass
class Program:
    lines: list[Line] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)  # input name → parameter path in the module
    paths: dict[str, str] = field(default_factory=dict)  # input name → path, parameters' and buffers' alike
    arguments: dict[str, int] = field(default_factory=dict)  # input name → position among the example args
    output: str = ""
    taken: set[str] = field(default_factory=set)

    @property
    def text(self) -> str:
        return "".join(f"{line.name} = {line.text}\n" for line in self.lines) + self.output

    def unique(self, wanted: str) -> str:
        name, count = wanted, 1
        while name in self.taken or name in _RESERVED:
            count += 1
            name = f"{wanted}_{count}"
        self.taken.add(name)
        return name


def tensor_input(value: torch.Tensor, grad: bool) -> Any:
    """A tensor as a chainlens input: float64 values, or integers for an integer or boolean tensor
    (a 0-d tensor as a number)."""
    data = value.detach().cpu()
    data = data.to(torch.float64) if data.is_floating_point() else data.to(torch.int64)
    values = data.item() if data.ndim == 0 else data.tolist()
    if grad and value.is_floating_point():
        return values
    return {"value": values, "requires_grad": False}


class Translator:
    """Translates one fx GraphModule into `program`; a loss graph may follow, bound to its output."""

    def __init__(self, program: Program, root: nn.Module) -> None:
        self.program = program
        self.root = root  # the traced module: module paths, parameters and buffers are read from it
        self.env: dict[fx.Node, Any] = {}  # node → its name in the program, or a static value / tuple
        self.attributes: dict[int, str] = {}  # id of a tensor already an input → its name

    # --- inputs -----------------------------------------------------------------------------------

    def attribute(self, path: str, value: Any) -> str:
        """A parameter or buffer (or a tensor constant fx captured) as an input; the same tensor once."""
        known = self.attributes.get(id(value))
        if known is not None:
            return known
        name = self.program.unique(input_name(path))
        grad = isinstance(value, nn.Parameter) and value.requires_grad
        self.program.inputs[name] = tensor_input(value, grad)
        self.program.paths[name] = path
        if grad:
            self.program.parameters[name] = path
        self.attributes[id(value)] = name
        return name

    def argument(self, node: fx.Node, position: int, value: Any, names: list[str]) -> None:
        # forward's own parameter names (fx renames a placeholder it traced as a given value: n → n_1)
        name = self.program.unique(names[position] if position < len(names) else str(node.target).lstrip("*"))
        if isinstance(value, torch.Tensor):
            self.program.inputs[name] = tensor_input(value, True)
            if value.is_floating_point():
                self.program.arguments[name] = position
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UnsupportedError(
                f"from_torch takes tensors and numbers as forward's arguments; {name} is a {type(value).__name__}",
                f"argument {name}",
                "",
                supported(),
            )
        else:
            self.program.inputs[name] = value
        self.env[node] = name

    # --- text -------------------------------------------------------------------------------------

    def text(self, value: Any) -> str:
        """An fx argument as program text."""
        if isinstance(value, fx.Node):
            found = self.env[value]
            return found if isinstance(found, str) else self.text(found)
        if isinstance(value, bool) or value is None:
            return repr(value)
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return number_text(value)
        if value is Ellipsis:
            return "..."
        if isinstance(value, slice):  # only ever inside a subscript (fx_table's _subscript)
            ends = ["" if part is None else self.text(part) for part in (value.start, value.stop)]
            return ":".join(ends) + ("" if value.step is None else f":{self.text(value.step)}")
        if isinstance(value, (tuple, list, torch.Size)):
            items = [self.text(item) for item in value]
            if isinstance(value, list):
                return f"[{', '.join(items)}]"
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if isinstance(value, str) and re.fullmatch(r"[A-Za-z_]{1,32}", value):
            return repr(value)
        if isinstance(value, torch.dtype):
            return str(value)  # torch.float64: the dialect reads dtypes and changes nothing
        raise Refused(f"an argument of type {type(value).__name__}")

    # --- the graph ----------------------------------------------------------------------------------

    def translate(
        self, graph: fx.Graph, args: tuple[Any, ...], bound: Any = None, names: list[str] | None = None
    ) -> Any:
        """Every node of `graph` into lines; answers what the graph returns (a name or a tuple).
        `bound`: the value of the graph's only placeholder (a loss graph's: the model's output);
        `names`: forward's parameter names, in order."""
        position = 0
        guards = _guards(graph)
        for node in graph.nodes:
            if node in guards:
                continue
            if node.op == "placeholder":
                if bound is not None:
                    self.env[node] = bound
                else:
                    if position >= len(args):
                        raise UnsupportedError(
                            f"forward's argument {node.target} has no example value",
                            f"argument {node.target}",
                            "",
                            supported(),
                        )
                    self.argument(node, position, args[position], names or [])
                position += 1
            elif node.op == "get_attr":
                value = self._resolve(str(node.target))
                if isinstance(value, torch.Tensor):
                    self.env[node] = self.attribute(str(node.target), value)
                else:
                    self.env[node] = value
            elif node.op == "output":
                return self.env_value(node.args[0])
            else:
                self.call(node)
        raise AssertionError("an fx graph ends with its output")  # pragma: no cover

    def env_value(self, value: Any) -> Any:
        if isinstance(value, fx.Node):
            return self.env[value]
        if isinstance(value, (tuple, list)):
            return tuple(self.env_value(item) for item in value)
        return value

    def _resolve(self, path: str) -> Any:
        value: Any = self.root
        for part in path.split("."):
            value = getattr(value, part)
        return value

    def call(self, node: fx.Node) -> None:
        stack = node.meta.get("nn_module_stack") or {}
        paths = tuple(stack)
        types = tuple(_type_name(kind) for _, kind in stack.values())
        module = None
        if node.op == "call_module":
            module = self.root.get_submodule(str(node.target))
            if not paths or paths[-1] != node.target:
                paths, types = (*paths, str(node.target)), (*types, type(module).__name__)
        where = paths[-1] if paths else ""
        # A static tuple indexed by a number (a model's pair of outputs) is resolved here.
        if node.op == "call_function" and node.target is operator.getitem:
            held = self.env_value(node.args[0])
            if isinstance(held, tuple) and isinstance(node.args[1], int):
                self.env[node] = held[node.args[1]]
                return
        # x.device and x.dtype only ever feed keywords the dialect reads and ignores (every tensor is
        # float64 on the CPU): they are written as such.
        if node.op == "call_function" and node.target is getattr and node.args[1:] in (("device",), ("dtype",)):
            self.env[node] = "'cpu'" if node.args[1] == "device" else "torch.float64"
            return
        shown, row = self._row(node, module)
        if row is None:
            raise UnsupportedError(
                f"from_torch cannot translate {shown} "
                f"({f'in module {where!r}' if where else 'in the top-level forward'}); "
                f"supported: {'; '.join(supported())}",
                shown,
                where,
                supported(),
            )
        path = str(node.target) if node.op == "call_module" else ""
        try:
            call = Call(
                node,
                [self.text(arg) for arg in node.args],
                {
                    key: self.text(value)
                    for key, value in node.kwargs.items()
                    if key not in DROPPED and value is not None
                },
                node.kwargs,
                module,
                lambda name: self._parameter(module, path, name),
                self.text,
            )
            rhs = row(call)
        except Refused as refused:
            raise UnsupportedError(
                f"from_torch cannot translate {shown} "
                f"({f'in module {where!r}' if where else 'in the top-level forward'}): "
                f"{refused}",
                shown,
                where,
                supported(),
            ) from None
        if rhs in self.program.taken:  # an identity (Dropout in eval, Identity): no line of its own
            self.env[node] = rhs
            return
        name = self.program.unique(node.name)
        self.program.lines.append(Line(name, rhs, paths, types))
        self.env[node] = name

    def _row(self, node: fx.Node, module: nn.Module | None) -> tuple[str, Any]:
        if node.op == "call_module":
            kind = type(module)
            return f"nn.{kind.__name__}", MODULES.get(kind)
        if node.op == "call_method":
            return f"Tensor.{node.target}", METHODS.get(str(node.target))
        found = FUNCTIONS.get(node.target)
        if found is not None:
            return found
        return _function_name(node.target), None

    def _parameter(self, module: nn.Module | None, path: str, name: str) -> str | None:
        value = getattr(module, name, None)
        if not isinstance(value, torch.Tensor):
            return None
        return self.attribute(f"{path}.{name}" if path else name, value)


def _guards(graph: fx.Graph) -> set[fx.Node]:
    """The checks fx adds when integers are traced as given (`torch._assert(n == 3)`), and what only
    they use: the program is built for those very values, so they check nothing there."""
    guards: set[fx.Node] = set()
    for node in reversed(graph.nodes):
        if (node.op == "call_function" and node.target is torch._assert) or (
            node.op in ("call_function", "call_method") and node.users and all(u in guards for u in node.users)
        ):
            guards.add(node)
    return guards


def _type_name(kind: Any) -> str:
    return kind.__name__ if isinstance(kind, type) else str(kind).rsplit(".", 1)[-1].strip("'>")


def _function_name(target: Any) -> str:
    """A function as the user would have written it: torch.cumsum, F.unfold, math.floor."""
    name = getattr(target, "__name__", None) or repr(target)
    for prefix, namespace in (
        ("torch", torch),
        ("F", F),
        ("torch.linalg", torch.linalg),
        ("torch.fft", torch.fft),
        ("torch.special", torch.special),
    ):
        if getattr(namespace, name, None) is target:
            return f"{prefix}.{name}"
    module = getattr(target, "__module__", None)
    return f"{module}.{getattr(target, '__qualname__', name)}" if module else str(name)
