"""from_torch: a PyTorch module or function, traced, translated, run by chainlens and by PyTorch.

Why torch.fx (symbolic_trace) and not torch.export: fx keeps each leaf module as one
`call_module` node with its path (`fc1`, `blocks.0.ln`), records every nn_module_stack, and keeps
function and method calls as the user wrote them (`F.softmax(x, dim=1)`, `h.sum(1,
keepdim=True)`), which map onto the PyTorch dialect by one table (chainlens/fx_table.py).
torch.export lowers everything to ATen (`aten.addmm`, `aten._softmax`, a Linear as a
`t` and an `addmm`), which would need a second dialect to read and loses what the user wrote.

Order of work: the module is copied and turned float64, traced, and translated; only when the
whole graph translates does anything run (an UnsupportedError is raised after tracing alone).
Then chainlens runs the program (chainlens.backward, with the server's limits) and PyTorch runs
the float64 copy and its backward with the same upstream gradient (ones, or the loss's own 1).
"""

from __future__ import annotations

import copy
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import fx, nn
from torch.fx.experimental import meta_tracer

from chainlens import UnsupportedError
from chainlens.compute import ProgramError, Result, run
from chainlens.fx_table import supported
from chainlens.groups import module_groups
from chainlens.translate import Program, Translator


class TorchResult(Result):
    """A Result (chainlens's graph, values, gradients, steps) plus PyTorch's side: `.torch_grads`
    (input name → PyTorch's float64 gradient), `.rel_errors` (input name → the gradient's relative
    error: max |chainlens − torch| over its elements / the larger of max |chainlens|, max |torch|
    and 1e-3 of the largest torch gradient element of the model) and `.max_rel_error`, the largest
    of them. `.parameters` maps input names to parameter paths."""

    def __init__(self, base: Result, program: Program, torch_grads: dict[str, np.ndarray | float]) -> None:
        self.__dict__.update(base.__dict__)
        self.parameters = dict(program.parameters)
        self.torch_grads = torch_grads
        mine = self.grads
        # A gradient that is zero by the math (a bias before a training-mode BatchNorm) is rounding
        # noise on both sides: errors are relative to at least 1e-3 of the largest gradient element
        # of the whole model, as gradcheck floors its own at 1e-3 of an input's largest.
        floor = 1e-3 * max((float(np.abs(g).max(initial=0.0)) for g in torch_grads.values()), default=0.0)
        self.rel_errors = {name: _relative_error(mine.get(name), theirs, floor) for name, theirs in torch_grads.items()}
        self.max_rel_error = max(self.rel_errors.values(), default=0.0)

    def __repr__(self) -> str:
        return (
            f"<chainlens from_torch result: {len(self.graph)} nodes, {len(self.torch_grads)} gradients, "
            f"max_rel_error {self.max_rel_error:.3g}>"
        )


def _relative_error(mine: Any, theirs: np.ndarray | float, floor: float) -> float:
    expected = np.asarray(theirs, dtype=np.float64)
    got = np.zeros_like(expected) if mine is None else np.asarray(mine, dtype=np.float64)
    if got.shape != expected.shape:
        return float("inf")
    scale = max(float(np.abs(expected).max(initial=0.0)), float(np.abs(got).max(initial=0.0)), floor)
    if scale == 0.0:
        return 0.0
    return float(np.abs(got - expected).max(initial=0.0)) / scale


def _double(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        copied = value.detach().clone()
        return copied.to(torch.float64) if copied.is_floating_point() else copied
    return value


def _traced(target: Any, what: str, args: tuple[Any, ...] = ()) -> fx.GraphModule:
    """The fx trace: fx's symbolic trace, where sizes and integer arguments are proxies (the
    program then computes them from shapes, `x.shape[0]`). Where Python needs them as numbers
    (`range(n)`, nanoGPT's `self.bias[:, :, :T, :T]`), fx cannot trace them as proxies: the trace
    is taken again with the integer arguments as given and the tensors' sizes known (_ValueTracer,
    which runs the ops on the example values); the program then holds those numbers."""
    try:
        return fx.symbolic_trace(target)
    except Exception as exc:  # fx's own refusals: data-dependent control flow, untraceable calls
        retried = _traced_with_sizes(target, args)
        if retried is not None:
            return retried
        raise UnsupportedError(
            f"torch.fx could not trace {what}: {type(exc).__name__}: {exc}", f"tracing {what}", "", supported()
        ) from exc


def _traced_with_sizes(target: Any, args: tuple[Any, ...]) -> fx.GraphModule | None:
    names = _parameter_names(target)
    given = {name: value for name, value in zip(names, args) if not isinstance(value, torch.Tensor)}
    # The trace runs the ops on copies of the examples, and puts back the buffers the forward updates
    # (a training-mode BatchNorm's running statistics), so PyTorch's own run later sees what it was given.
    values = {name: value.clone() for name, value in zip(names, args) if isinstance(value, torch.Tensor)}
    buffers = [(buffer, buffer.clone()) for buffer in target.buffers()] if isinstance(target, nn.Module) else []
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # fx's notes on the trace
        try:
            if not values:
                return fx.symbolic_trace(target, concrete_args=given)
            tracer = _ValueTracer()
            graph = tracer.trace(target, values, given or None)
            return fx.GraphModule(tracer.root, graph, type(target).__name__ if isinstance(target, nn.Module) else "fn")
        except Exception:  # noqa: BLE001  (the first trace's error is the one reported)
            return None
        finally:
            for buffer, saved in buffers:
                buffer.copy_(saved)


class _ValueTracer(meta_tracer.MetaTracer):
    """fx's MetaTracer, with the example tensors themselves where it puts meta tensors: every proxy
    carries the value its op gives on the example arguments, so `x.size(1)` and `x.shape` are numbers
    during the trace. Why not meta tensors: PyTorch computes them through its Python decompositions,
    whose first use imports torch._dynamo and sympy (about 1 s of a fresh process's first from_torch);
    the real ops on the example (one forward's work, which from_torch runs anyway) need neither."""

    def create_proxy(
        self,
        kind: str,
        target: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        name: str | None = None,
        type_expr: Any = None,
        proxy_factory_fn: Callable[[fx.Node], fx.Proxy] | None = None,
    ) -> Any:
        proxy = fx.Tracer.create_proxy(self, kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
        try:
            values = fx.node.map_aggregate(args, _value), fx.node.map_aggregate(kwargs, _value)
            value = self._value_of(kind, target, *values)
        except Exception:  # noqa: BLE001  (no value: the proxy stays symbolic, as MetaTracer leaves it)
            return proxy
        if value is not _NO_VALUE:
            proxy.install_tensor_meta(value)
        return proxy

    def proxy(self, node: fx.Node) -> _ValueProxy:
        return _ValueProxy(node, self)

    def _value_of(self, kind: str, target: Any, args: Any, kwargs: Any) -> Any:
        if kind == "placeholder":
            return self.meta_args.get(target, _NO_VALUE)
        if kind == "call_function":
            return target(*args, **kwargs)
        if kind == "call_method":
            return getattr(args[0], target)(*args[1:], **kwargs)
        if kind not in ("call_module", "get_attr"):
            return _NO_VALUE
        self._disable_module_getattr = True  # MetaTracer's switch: the module's own attributes, not proxies
        try:
            if kind == "call_module":
                return self.orig_forward(*args, **kwargs)
            return _attribute(self.root, target)
        finally:
            self._disable_module_getattr = False


class _ValueProxy(meta_tracer.MetaProxy):
    def size(self, dim: int | None = None) -> Any:
        """The size, or one (MetaProxy's own answers the whole size for `x.size(0)`)."""
        if "_tensor_meta" in self.__dict__ and dim is not None:
            return self.__dict__["_tensor_meta"].size(dim)
        return super().size(dim)


_NO_VALUE = object()


def _attribute(root: Any, path: str) -> Any:
    for part in path.split("."):
        root = getattr(root, part)
    return root


def _value(item: Any) -> Any:
    """A trace argument's example value: a proxy's recorded value, an attribute of one, or the item."""
    if isinstance(item, meta_tracer.MetaAttribute) and "_tensor_meta" not in item.__dict__:
        return getattr(_value(item.root), item.attr)
    if isinstance(item, fx.Proxy):
        return item.__dict__["_tensor_meta"]
    return item


def _parameter_names(target: Any) -> list[str]:
    """forward's (or the function's) parameter names, in order; [] where Python cannot tell."""
    try:
        return list(inspect.signature(target.forward if isinstance(target, nn.Module) else target).parameters)
    except (TypeError, ValueError):
        return []


def translate(target: Any, args: tuple[Any, ...], loss: Callable[[Any], Any] | None) -> Program:
    """The program for `target` (already float64) called on `args`, then `loss` of its output."""
    program = Program()
    root = _traced(target, "the model" if isinstance(target, nn.Module) else "the function", args)
    output = Translator(program, root).translate(root.graph, args, names=_parameter_names(target))
    if loss is not None:
        traced_loss = _traced(loss, "the loss")
        first = len(program.lines)
        output = Translator(program, traced_loss).translate(traced_loss.graph, (), bound=output)
        for line in program.lines[first:]:
            line.module = ("loss", *(f"loss.{path}" for path in line.module))
            line.types = ("loss", *line.types)
    if not isinstance(output, str):
        raise UnsupportedError(
            "the model's output is not one tensor: pass loss= a function of the output that returns one",
            "output",
            "",
            supported(),
        )
    program.output = output
    return program


def torch_gradients(
    model: Any, args: tuple[Any, ...], loss: Callable[[Any], Any] | None, program: Program
) -> dict[str, np.ndarray | float]:
    """PyTorch's own float64 forward and backward; every gradient the program's inputs take."""
    leaves = {name: args[position].requires_grad_() for name, position in program.arguments.items()}
    with torch.enable_grad():
        out = model(*args)
        if loss is not None:
            out = loss(out)
        # the upstream gradient is ones, given as sum()'s: backward(ones_like(out)) would import sympy
        # (torch.autograd checks a given gradient's size with it): 0.2 s of a fresh process's first call
        out.sum().backward()
    tensors: dict[str, torch.Tensor] = dict(leaves)
    for name, path in program.parameters.items():
        tensors[name] = _attribute(model, path)
    grads: dict[str, np.ndarray | float] = {}
    for name, tensor in tensors.items():
        grad = tensor.grad if tensor.grad is not None else torch.zeros_like(tensor)
        grads[name] = grad.item() if grad.ndim == 0 else grad.detach().numpy().copy()
    return grads


def _refused(program: Program, exc: ProgramError) -> Exception:
    """The translated program refused by chainlens: an UnsupportedError naming its line and module
    (a limit, or a shape the engine refuses, stays the ProgramError it is)."""
    if exc.kind == "limit_exceeded" or exc.line is None or exc.line > len(program.lines):
        return exc
    line = program.lines[exc.line - 1]
    where = line.module[-1] if line.module else ""
    return UnsupportedError(
        f"from_torch translated {where or 'the top-level forward'!r} into `{line.name} = {line.text}`, which "
        f"chainlens refused: {exc.message}",
        line.text.split("(")[0],
        where,
        supported(),
    )


def from_torch(fn_or_module: Any, *example_args: Any, loss: Callable[[Any], Any] | None = None) -> TorchResult:
    """See chainlens.from_torch."""
    model = copy.deepcopy(fn_or_module).double() if isinstance(fn_or_module, nn.Module) else fn_or_module
    args = tuple(_double(arg) for arg in example_args)
    program = translate(model, args, loss)
    try:
        result = run(program.text, program.inputs, {}, backward=True)
    except ProgramError as exc:
        raise _refused(program, exc) from exc
    module_groups(result, program)
    return TorchResult(result, program, torch_gradients(model, args, loss, program))
