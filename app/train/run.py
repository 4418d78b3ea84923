"""A training run: checked and prepared from the request, then streamed line by line.

`prepare` does everything that can fail on a bad request (decoding, parsing the program once for
training and once for evaluation, finding the parameters, fitting the batch to the data, the
limits), so that bad requests are 4xx answers before anything streams. `TrainingRun.stream` then
runs the steps and calls `emit` per line; `TrainingRun.graph_at(k)` replays the run up to step k
and answers step k's graph with its step record.

Step s (1 ≤ s ≤ steps) runs the program on batch s with the parameters θ(s−1) (θ(0) the inputs
as given), gets the loss L(s) and the gradients g(s), and the optimizer makes θ(s). The run is a
pure function of the request: every random choice is seeded by it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from math import isfinite, prod
from typing import Any

import numpy as np

from app import datasets
from app.core import declare_inputs
from app.engine.costs import forward_seconds, limit_seconds, optimizer_seconds, pass_seconds, seconds_in_words
from app.engine.errors import LimitExceeded, ProgramError
from app.engine.graph import Graph
from app.engine.inputs import Input, decode, number
from app.engine.lean import LeanPass
from app.engine.limits import Limits
from app.engine.run import Result, forward, output_of, run
from app.lang import parse
from app.train.batches import Batches
from app.train.config import TrainConfig
from app.train.health import health, norm
from app.train.optimizers import OPTIMIZERS, SGD, Adam

Emit = Callable[[dict], None]


@dataclass(frozen=True)
class TrainLimits:
    max_steps: int = 100_000
    # Estimated units of work of the whole run (the engine's units: elements produced, multiply-adds
    # for matmul), forward, backward and optimizer of every step plus every evaluation.
    max_work: int = 100_000_000_000
    max_seconds: float = 120.0


# A data input's rows up to this size are converted to float64 once per run, not once per batch.
CONVERTED_BYTES = 16 << 20


class TrainingError(ProgramError):
    def __init__(self, message: str, **where: Any) -> None:
        super().__init__("invalid_train", message, **where)


def _bad(message: str) -> TrainingError:
    return TrainingError(message)


@dataclass
class _DataInput:
    name: str
    rows: datasets.DatasetRows


class TrainingRun:
    def __init__(
        self, expression: str, inputs: Mapping[str, Any], config: TrainConfig, limits: Limits, train_limits: TrainLimits
    ) -> None:
        if not isinstance(inputs, Mapping):
            raise ProgramError("invalid_input", "inputs must be an object mapping names to values")
        self.config = config
        self.record_every = config.records_every()
        max_elements = limits.max_tensor_elements
        # With batches, a dataset input holds one batch at a time: the batch is checked against
        # the per-tensor limit, not the whole split (MNIST's training images are 47 million numbers).
        self.data = [
            _DataInput(name, datasets.resolve(name, raw, max_elements, all_rows_at_once=config.batch is None))
            for name, raw in inputs.items()
            if datasets.is_dataset(raw)
        ]
        self.batches = self._batches(max_elements)
        first = self.batches.positions(1) if self.batches else None
        decoded = declare_inputs({name: raw for name, raw in inputs.items() if not datasets.is_dataset(raw)}, limits)
        for given in decoded.values():
            given.built()
        for data in self.data:
            value = data.rows.take(first)
            decoded[data.name] = Input(value, value.shape, False)
        self.graph = parse(expression, decoded, limits)
        _check_scalar_loss(self.graph)
        self.leaves = _leaves(self.graph)
        self.params = self._params(decoded)
        self.initial = {name: decoded[name].value for name in self.params}
        # Batches of a small split are taken from a float64 copy made once, held for the run.
        self.data_nodes = [
            (self.leaves[d.name], d.rows.in_float64() if self._converts_once(d.rows) else d.rows)
            for d in self.data
            if d.name in self.leaves
        ]
        self.eval_graph = self._eval_graph(expression, inputs, decoded, limits) if config.eval else None
        self.estimate = self._estimate(train_limits)
        self.param_nodes = [self.leaves[name] for name in self.params]  # in the order of self.params
        self.lean = LeanPass(self.graph, self.param_nodes)

    # --- preparing ---------------------------------------------------------------------------

    def _converts_once(self, rows: datasets.DatasetRows) -> bool:
        """A run that draws batches keeps a float64 copy of a data input's rows up to
        CONVERTED_BYTES (the digits: 0.7 MB; MNIST's 376 MB stay bytes, converted a batch at a time)."""
        return self.batches is not None and rows.float64_bytes() <= CONVERTED_BYTES

    def _batches(self, max_elements: int) -> Batches | None:
        batch = self.config.batch
        if batch is None:
            return None
        if not self.data:
            raise _bad("train.batch needs dataset inputs to draw rows from; without batch every step sees all inputs")
        counts = {d.name: len(d.rows.rows) for d in self.data}
        if len(set(counts.values())) > 1:
            raise _bad(f"dataset inputs must have the same number of rows to be drawn together, got {counts}")
        rows = next(iter(counts.values()))
        if batch.size > rows:
            raise _bad(f"train.batch.size is {batch.size} but the dataset inputs have {rows} rows")
        for d in self.data:
            elements = batch.size * prod(d.rows.row_shape)
            if elements > max_elements:
                raise LimitExceeded(
                    f"a batch of {batch.size} rows of input '{d.name}' has {elements} elements; "
                    f"the limit is {max_elements} per tensor",
                    input=d.name,
                )
        return Batches(rows, batch.size, batch.seed)

    def _params(self, decoded: dict[str, Input]) -> list[str]:
        data_names = {d.name for d in self.data}
        if self.config.params is None:
            names = [
                name
                for name, given in decoded.items()
                if given.requires_grad and name not in data_names and name in self.leaves
            ]
            if not names:
                raise _bad("nothing to train: no input of the program takes a gradient (give train.params)")
            return names
        for name in self.config.params:
            if name in data_names:
                raise _bad(f"train.params: '{name}' is a dataset input; data is not trained")
            if name not in decoded:
                raise _bad(f"train.params: '{name}' is not among the inputs")
            if name not in self.leaves:
                raise _bad(f"train.params: the program does not use '{name}'")
            if not decoded[name].requires_grad:
                raise _bad(f"train.params: '{name}' is marked requires_grad: false")
        if len(set(self.config.params)) != len(self.config.params):
            raise _bad("train.params names a parameter twice")
        if not self.config.params:
            raise _bad("train.params is empty: nothing to train")
        return list(self.config.params)

    def _eval_graph(
        self, expression: str, inputs: Mapping[str, Any], decoded: dict[str, Input], limits: Limits
    ) -> Graph:
        replaced = dict(decoded)
        for name, raw in (self.config.eval or {}).items():
            if name not in inputs:
                raise _bad(f"train.eval: '{name}' is not among the inputs")
            if name in self.params:
                raise _bad(f"train.eval: '{name}' is a parameter being trained; eval replaces data inputs")
            given = decode(name, raw, limits.max_tensor_elements)
            replaced[name] = Input(given.value, given.shape, False)
        try:
            return parse(expression, replaced, limits)
        except ProgramError as exc:
            raise TrainingError(
                f"train.eval: with the eval inputs, {exc.message}", start=exc.start, end=exc.end
            ) from None

    def _estimate(self, limits: TrainLimits) -> dict:
        steps = self.config.steps
        param_elements = sum(max(1, prod(self.graph.shapes[self.leaves[n]])) for n in self.params)
        # backward costs about twice forward; an optimizer step about ten operations per element
        step_work = 3 * self.graph.work + 10 * param_elements
        records = -(-steps // self.record_every)
        eval_work = self.eval_graph.work if self.eval_graph is not None else 0
        work = steps * step_work + records * eval_work
        # The time: each step's forward and backward op by op and its optimizer update, each
        # evaluation's forward pass (app/engine/costs.py, the estimate the lanes and the gradient
        # check's refusal use too).
        self.step_seconds = pass_seconds(self.graph) + optimizer_seconds(param_elements)
        eval_seconds = forward_seconds(self.eval_graph) if self.eval_graph is not None else 0.0
        seconds = steps * self.step_seconds + records * eval_seconds
        if steps > limits.max_steps:
            raise LimitExceeded(f"train.steps is {steps}; the limit is {limits.max_steps} steps")
        if work > limits.max_work:  # said as the time the arithmetic takes, not in work units
            evaluations = f" and {records:,} evaluations" if eval_work else ""
            raise LimitExceeded(
                f"the run's arithmetic would take about {seconds_in_words(seconds)} "
                f"({steps:,} steps{evaluations}); the limit is about "
                f"{seconds_in_words(limit_seconds(limits.max_work, work, seconds))} (fewer steps, a smaller batch "
                f"or a smaller network)"
            )
        if seconds > limits.max_seconds:
            raise LimitExceeded(
                f"the run would take about {seconds:.0f} s; the limit is {limits.max_seconds:g} s "
                f"(fewer steps, a smaller batch or a smaller network)"
            )
        return {
            "work": work,
            "max_work": limits.max_work,
            "estimated_seconds": round(seconds, 3),
            "max_seconds": limits.max_seconds,
            "max_steps": limits.max_steps,
        }

    def memory_bytes(self) -> int:
        """Bytes the run holds at once, from shapes: values and gradients of both graphs, the
        parameters with their optimizer state (up to four copies each), and the float64 copies
        of the data splits converted once (_converts_once)."""
        elements = sum(max(1, prod(shape)) for shape in self.graph.shapes) * 2
        elements += sum(max(1, prod(self.graph.shapes[self.leaves[n]])) for n in self.params) * 4
        if self.eval_graph is not None:
            elements += sum(max(1, prod(shape)) for shape in self.eval_graph.shapes)
        converted = sum(d.rows.float64_bytes() for d in self.data if self._converts_once(d.rows))
        return 8 * elements + converted

    def done_bytes(self, full_elements: int) -> int:
        """Bytes of the done line's text, from shapes: every parameter (and the eval output) written
        out up to `full_elements` elements, at most 32 characters a number."""
        shapes = [self.graph.shapes[self.leaves[name]] for name in self.params]
        if self.eval_graph is not None and self.eval_graph.output is not None:
            shapes.append(self.eval_graph.shapes[self.eval_graph.output])
        return 32 * sum(min(max(1, prod(shape)), full_elements) for shape in shapes)

    # --- running -----------------------------------------------------------------------------

    def start_line(self) -> dict:
        shapes = self.graph.shapes
        return {
            "type": "start",
            "steps": self.config.steps,
            "record_every": self.record_every,
            "params": {
                name: {"node": self.leaves[name], "shape": list(shapes[self.leaves[name]])} for name in self.params
            },
            "data": {
                d.name: {
                    "dataset": d.rows.dataset.name,
                    "field": d.rows.field.name,
                    "split": d.rows.split,
                    "rows": len(d.rows.rows),
                }
                for d in self.data
            },
            "batch": None
            if self.batches is None
            else {"size": self.batches.size, "seed": self.batches.seed, "per_epoch": self.batches.per_epoch},
            "optimizer": self.config.optimizer.model_dump(),
            "output": self.graph.output,
            "nodes": len(self.graph),
            "eval": sorted(self.config.eval) if self.config.eval else None,
            "limits": self.estimate,
        }

    def _optimizer(self) -> SGD | Adam:
        options = self.config.optimizer.model_dump()
        return OPTIMIZERS[options.pop("name")](**options)

    def _set_batch(self, step: int) -> np.ndarray | None:
        """Put step `step`'s rows into the data leaves; answers their positions (None without batch)."""
        if self.batches is None:
            return None
        positions = self.batches.positions(step)
        values = self.graph.values
        for node, rows in self.data_nodes:
            values[node] = rows.take(positions)
        return positions

    def steps(
        self, until: int, check: Callable[[], None] = lambda: None
    ) -> Iterator[tuple[int, float, dict[str, Any], np.ndarray | None, dict[str, Any], dict[str, Any]]]:
        """Run steps 1..until, yielding (step, loss, grads by name, batch positions, params before,
        params after). Step s: batch s into the data leaves, θ(s−1) into the parameter leaves,
        forward and backward (app.engine.lean), then the optimizer makes θ(s).

        The whole loop runs under np.errstate(all="ignore") (inf and nan are answers, as in
        app.engine.run; entering it costs microseconds, so once, not per step); the state holds
        for the consumer's code between steps too, which only ever reads the results. The loop's
        names are bound once, outside it: a small network's step is mostly such overhead."""
        optimizer = self._optimizer()
        params = dict(self.initial)
        scalars = [name for name in self.params if not self.graph.shapes[self.leaves[name]]]
        values, nodes, lean, set_batch = self.graph.values, self.param_nodes, self.lean, self._set_batch
        with np.errstate(all="ignore"):
            for step in range(1, until + 1):
                check()
                positions = set_batch(step)
                for node, value in zip(nodes, params.values()):
                    values[node] = value
                loss = lean.forward()
                node_grads = lean.backward()
                if not isfinite(loss):
                    raise Diverged(step, loss)
                grads = {}
                for (name, value), node in zip(params.items(), nodes):
                    grad = node_grads[node]
                    grads[name] = grad if grad is not None else 0.0 * value  # a parameter the loss ignores
                updated = optimizer.step(params, grads)
                for name in scalars:  # scalar nodes compute on Python floats
                    updated[name] = float(updated[name])
                yield step, loss, grads, positions, params, updated
                params = updated

    def stream(
        self, emit: Emit, check: Callable[[], None] = lambda: None, tensor: Callable[[Any], Any] = lambda value: value
    ) -> None:
        """Run every step, emitting the start line, the records and the done (or error) line.
        `tensor` encodes a parameter's or a prediction's value for the done line."""
        emit(self.start_line())
        losses: list[float] = []
        final: dict[str, Any] = dict(self.initial)
        try:
            for step, loss, grads, positions, before, after in self.steps(self.config.steps, check):
                losses.append(loss)
                final = after
                if step % self.record_every == 0 or step == self.config.steps:
                    emit(self._record(step, losses, grads, positions, before, after))
                    losses = []
            bad = [name for name, value in final.items() if not np.all(np.isfinite(value))]
            if bad:
                raise Diverged(self.config.steps, None, bad)
        except Diverged as exc:
            emit(
                {
                    "type": "error",
                    "kind": "diverged",
                    "step": exc.step,
                    "message": exc.message(self),
                    "losses": [_number(x) for x in losses + ([exc.loss] if exc.loss is not None else [])],
                }
            )
            return
        done = {
            "type": "done",
            "step": self.config.steps,
            "params": {name: tensor(value) for name, value in final.items()},
        }
        if self.eval_graph is not None:
            done["eval"] = self._evaluate(final, predictions=tensor)
        emit(done)

    def _record(
        self, step: int, losses: list[float], grads: dict, positions: np.ndarray | None, before: dict, after: dict
    ) -> dict:
        stats = {}
        for name in self.params:
            size_before = norm(before[name])
            change = norm(np.subtract(after[name], before[name]))
            stats[name] = {
                "norm": _number(norm(after[name])),
                "grad_norm": _number(norm(grads[name])),
                "update_ratio": _number(change / size_before) if size_before else None,
            }
        return {
            "type": "record",
            "step": step,
            "losses": losses,
            "rows": None if positions is None else self.data[0].rows.rows[positions].tolist(),
            "eval": self._evaluate(after) if self.eval_graph is not None else None,
            "params": stats,
            "health": {
                node: {key: _number(x) for key, x in entry.items()}
                for node, entry in health(self.graph, self.lean.grads).items()
            },
        }

    def _evaluate(self, params: dict[str, Any], predictions: Callable[[Any], Any] | None = None) -> dict:
        """The program on the eval inputs with `params`: loss, accuracy (for cross-entropy), and
        with `predictions` (the tensor encoder) the predicted classes or values."""
        graph = self.eval_graph
        if graph is None or graph.output is None:  # callers check eval_graph first; parsing set its output
            raise ValueError("no evaluation graph to evaluate")
        leaves = _leaves(graph)
        for name, value in params.items():
            graph.values[leaves[name]] = value
        with np.errstate(all="ignore"):
            forward(graph)
        out = graph.output
        result: dict[str, Any] = {
            "loss": _number(float(np.sum(graph.values[out]))) if not graph.shapes[out] else None,
            "accuracy": None,
        }
        op = graph.ops[out]
        if op is not None and op.name == "softmax_cross_entropy":
            logits, labels = (graph.values[j] for j in graph.args[out])
            predicted = np.argmax(np.atleast_2d(logits), axis=-1)
            result["accuracy"] = float(np.mean(predicted == np.atleast_1d(labels)))
            if predictions:
                result["predictions"] = predicted.tolist()
        elif predictions and op is not None and op.name == "mse":
            result["predictions"] = predictions(graph.values[graph.args[out][0]])
        return result

    def seconds_through(self, step: int) -> float:
        """Estimated seconds of graph_at(step): the steps before it, and step `step`'s own graph."""
        return step * self.step_seconds

    def check_step(self, step: int) -> None:
        """Refuses (422) a step that is not one of the run's, before any work for it."""
        if not 1 <= step <= self.config.steps:
            raise _bad(f"at must be a step of the run, 1 to {self.config.steps}; got {step}")

    def rows_per_step(self) -> int | None:
        """The rows of data one step's program runs on (its batch, or every row without batches);
        None for a program without dataset inputs."""
        return max((self.graph.shapes[leaf][0] for leaf, _ in self.data_nodes if self.graph.shapes[leaf]), default=None)

    def graph_at(self, step: int, check: Callable[[], None] = lambda: None) -> Result:
        """Step `step`'s graph: θ(step − 1) and batch `step`, with values, gradients and step record."""
        self.check_step(step)
        params = dict(self.initial)
        try:
            for _, _, _, _, _, after in self.steps(step - 1, check):
                params = after
        except Diverged as exc:
            raise _bad(f"the run diverged at step {exc.step}, before step {step}") from None
        self._set_batch(step)
        for name, value in params.items():
            self.graph.values[self.leaves[name]] = value
        return run(self.graph)


class Diverged(Exception):
    def __init__(self, step: int, loss: float | None, params: list[str] | None = None) -> None:
        self.step, self.loss, self.params = step, loss, params

    def message(self, run: TrainingRun) -> str:
        lr = run.config.optimizer.lr
        what = (
            f"the loss is {_number(self.loss)}"
            if self.params is None
            else f"{', '.join(self.params)} stopped being finite numbers"
        )
        return f"diverged at step {self.step}: {what}; try a lower lr (now {lr:g})"


def _check_scalar_loss(graph: Graph) -> None:
    """Training follows the gradient of one number, as torch's loss.backward() does: a tensor
    output is refused before anything streams (it would fail in the first step)."""
    output = output_of(graph)
    shape = graph.shapes[output]
    if shape:
        raise TrainingError(
            f"the loss (the program's last line) has shape {list(shape)}; training needs a single "
            f"number (shape []): sum or mean it, e.g. loss = mean(...)",
            start=graph.starts[output],
            end=graph.ends[output],
        )


def _leaves(graph: Graph) -> dict[str, int]:
    """Input name → its leaf node (an input used several times is one node)."""
    return {
        name: node
        for node, (op, name, constant) in enumerate(zip(graph.ops, graph.names, graph.constant))
        if op is None and not constant and name is not None
    }


def _number(x: Any) -> float | str | None:
    return None if x is None else number(float(x))
