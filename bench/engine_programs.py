"""Figure 1d on chains of 10,000 op-nodes, the engine on a mixed program, and the MLP in CPU time
(bench/run.py's figures 1d-r, 1d-n, 1d-c, 2m and 2c; alone: `python bench/engine_programs.py [--tiny]`).

Figure 1d times run() on `h = tanh(h * w + b)` repeated, in wall time beside PyTorch and micrograd;
users write lines that differ. The engine sees no difference between a repeated line and one with a
new name per line (the same graph), but constants that change per line are leaves of their own,
which take no gradient, so all three programs are timed here, in CPU time, each against a tape of
Python floats that computes the same thing:

- repeated: the chain of figure 1 (1d-r);
- names: `x1 = tanh(x0 * w + b)`, `x2 = tanh(x1 * w + b)`, ... (the chain's own tape; 1d-n);
- constants: `h = tanh(h * 0.5012 + 0.0996)`, ... a new pair per line; the tape multiplies and adds
  the constants and keeps no gradient for them, as the engine does (1d-c);
- mixed: a small regression network beside scalar lines, matrices and scalars in one program, vs
  PyTorch eager forward + backward of the same computation (no target: the engine's per-node cost
  on a program users write, where neither the scalar path nor BLAS is everything; wall time);
- the MLP of figure 2 (784-100-200-10, batch 32): run() and hand-written numpy
  (bench/baselines.numpy_mlp), one call of each per round (2c). Figure 2 times the same in wall
  time, which a shared machine's load moves by more than the difference it measures.

CPU times come from rounds that take one call of each case, the order reversed every other round
(bench/measure.rounds_cpu); a ratio is the median of the rounds' ratios, each round's pair measured
under the same load. Wall times are medians of rounds that take one call of each case in turn.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # (before numpy loads)
        os.environ.setdefault(_name, "1")

import baselines  # noqa: E402
import numpy as np  # noqa: E402
import workloads  # noqa: E402
from measure import interleaved, paired_ratio, rounds_cpu  # noqa: E402

from app.engine.limits import Limits  # noqa: E402
from app.engine.run import run  # noqa: E402
from app.lang import parse  # noqa: E402

H0, W0, B0 = workloads.CHAIN_INPUTS["h"], workloads.CHAIN_INPUTS["w"], workloads.CHAIN_INPUTS["b"]


def names_program(statements: int) -> str:
    """The chain with a new name per line: x1 = tanh(x0 * w + b), x2 = tanh(x1 * w + b), ..."""
    return "\n".join(f"x{i} = tanh(x{i - 1} * w + b)" for i in range(1, statements + 1))


def constants(statements: int) -> tuple[list[float], list[float]]:
    """A different (w, b) pair per line, near the chain's own, written with four decimals."""
    ws = [round(W0 + 0.0001 * (i % 97), 4) for i in range(statements)]
    bs = [round(B0 - 0.0001 * (i % 89), 4) for i in range(statements)]
    return ws, bs


def constants_program(statements: int) -> str:
    ws, bs = constants(statements)
    return "\n".join(f"h = tanh(h * {w} + {b})" for w, b in zip(ws, bs))


def float_tape_constants(h0: float, ws: list[float], bs: list[float]) -> float:
    """∂h_last/∂h0 on a minimal tape of Python floats, constants as the program's (no gradient)."""
    values = [float(h0)]
    tape = []
    record = tape.append
    h = 0
    for w, b in zip(ws, bs):
        m = len(values)
        values.append(values[h] * w)
        record((0, m, h, w))
        values.append(values[m] + b)
        record((1, m + 1, m, 0.0))
        values.append(math.tanh(values[m + 1]))
        record((2, m + 2, m + 1, 0.0))
        h = m + 2
    grads: list[Any] = [None] * len(values)
    grads[h] = 1.0
    for op, out, a, c in reversed(tape):
        g = grads[out]
        if op == 2:
            y = values[out]
            ga = g * (1 - y * y)
        elif op == 1:
            ga = g
        else:
            ga = g * c
        grads[a] = ga if grads[a] is None else grads[a] + ga
    return float(grads[0])


MIXED_PROGRAM = """z1 = x @ W1 + b1
h1 = tanh(z1)
z2 = h1 @ W2 + b2
err = z2 - y
mse = mean(err * err)
reg = 0.001 * (sum(W1 * W1) + sum(W2 * W2))
gate = sigmoid(a * 0.3 + c)
scale = exp(-0.5 * gate) + 1.5
loss = scale * mse + reg + gate * gate"""


def mixed_inputs(batch: int, d_in: int, hidden: int) -> dict[str, Any]:
    rng = np.random.default_rng(3)
    return {
        "x": rng.standard_normal((batch, d_in)),
        "y": rng.standard_normal((batch, 1)),
        "W1": rng.standard_normal((d_in, hidden)) / math.sqrt(d_in),
        "b1": rng.uniform(-0.1, 0.1, hidden),
        "W2": rng.standard_normal((hidden, 1)) / math.sqrt(hidden),
        "b2": rng.uniform(-0.1, 0.1, 1),
        "a": 0.7,
        "c": -0.2,
    }


def torch_mixed(t: dict[str, Any]) -> float:
    """PyTorch eager, float64: MIXED_PROGRAM's forward and backward into every leaf."""
    import torch

    for name in ("x", "W1", "b1", "W2", "b2", "a", "c"):
        t[name].grad = None
    h1 = torch.tanh(t["x"] @ t["W1"] + t["b1"])
    err = h1 @ t["W2"] + t["b2"] - t["y"]
    mse = torch.mean(err * err)
    reg = 0.001 * (torch.sum(t["W1"] * t["W1"]) + torch.sum(t["W2"] * t["W2"]))
    gate = torch.sigmoid(t["a"] * 0.3 + t["c"])
    loss = (torch.exp(-0.5 * gate) + 1.5) * mse + reg + gate * gate
    loss.backward()
    return float(loss.detach())


def _mixed_json(arrays: dict[str, Any]) -> dict[str, Any]:
    """The inputs as a request gives them (y takes no gradient, as in the PyTorch baseline)."""
    raw: dict[str, Any] = {name: {"value": np.asarray(v).tolist()} for name, v in arrays.items()}
    raw["y"]["requires_grad"] = False
    return raw


def measure(tiny: bool) -> dict[str, dict[str, float]]:
    """{case: {"run": seconds, baseline name: seconds, "nodes": op-nodes}} of every case; the chains'
    in CPU time (measure.rounds_cpu) with "ratio", the median of the rounds' ratios."""
    limits = Limits()
    op_nodes = 50 if tiny else 10_000
    statements = workloads.chain_statements(op_nodes)
    repeat = 3 if tiny else 15
    chain_inputs = workloads.decoded(dict(workloads.CHAIN_INPUTS), limits)
    names_inputs = workloads.decoded({"x0": H0, "w": W0, "b": B0}, limits)
    h_input = workloads.decoded({"h": H0}, limits)
    ws, bs = constants(statements)
    programs = {
        "repeated line": (workloads.chain_program(op_nodes), chain_inputs),
        "names differ": (names_program(statements), names_inputs),
        "constants differ": (constants_program(statements), h_input),
    }
    tapes = {
        "repeated line": lambda: baselines.float_tape_chain(statements, H0, W0, B0),
        "names differ": lambda: baselines.float_tape_chain(statements, H0, W0, B0),
        "constants differ": lambda: float_tape_constants(H0, ws, bs),
    }
    chains: dict[str, Any] = {}
    for name, (program, inputs) in programs.items():
        graph = parse(program, inputs, limits)
        result = run(graph)
        ours = result.grads[0]  # the first leaf: h, x0
        theirs = tapes[name]()
        theirs = theirs if isinstance(theirs, float) else theirs[0]
        if not math.isclose(ours, theirs, rel_tol=1e-12):
            raise AssertionError(f"{name}: run() gives ∂/∂h0 = {ours}, the tape {theirs}")
        # a fresh graph per call, parsed untimed (as figure 1 does)
        chains[name] = (run, lambda program=program, inputs=inputs: parse(program, inputs, limits))
        chains[name + " tape"] = (tapes[name], None)
    times = rounds_cpu(chains, repeat)
    batch, d_in, hidden = (4, 3, 5) if tiny else (32, 16, 32)
    arrays = mixed_inputs(batch, d_in, hidden)
    mixed_graph = parse(MIXED_PROGRAM, workloads.decoded(_mixed_json(arrays), limits), limits)
    import torch

    tensors = {name: torch.tensor(v, dtype=torch.float64, requires_grad=name != "y") for name, v in arrays.items()}
    loss = run(mixed_graph).values[mixed_graph.output]
    if not math.isclose(loss, torch_mixed(tensors), rel_tol=1e-12):
        raise AssertionError("mixed: run() and PyTorch give different losses")
    calls = 20 if tiny else 200  # one call is tens of microseconds: time a batch of them
    cases = {
        "mixed": (lambda: [run(mixed_graph) for _ in range(calls)], None),
        "mixed torch": (lambda: [torch_mixed(tensors) for _ in range(calls)], None),
    }
    seconds = interleaved(cases, repeat)
    rows: dict[str, dict[str, float]] = {}
    for name in programs:
        ours, theirs = times[name], times[name + " tape"]
        rows[name] = {
            "run": statistics.median(ours),
            "Python floats": statistics.median(theirs),
            "ratio": paired_ratio(ours, theirs),
            "nodes": len(parse(programs[name][0], programs[name][1], limits).computed()),
        }
    rows["mixed"] = {
        "run": seconds["mixed"] / calls,
        "PyTorch eager": seconds["mixed torch"] / calls,
        "nodes": len(mixed_graph.computed()),
    }
    return rows


def mlp_cpu(sizes: tuple[int, int, int, int], batch: int, rounds: int) -> dict[str, float]:
    """Figure 2c: CPU seconds per call of run() on workloads.MLP_PROGRAM (a graph parsed untimed
    before each call, as figure 2 does) and of baselines.numpy_mlp, medians over rounds that take
    one call of each (measure.rounds_cpu); "ratio" is the median of the rounds' ratios."""
    limits = Limits()
    raw = workloads.mlp_inputs(sizes, batch)
    arrays = workloads.mlp_arrays(raw)
    inputs = workloads.decoded(raw, limits)
    checked = run(parse(workloads.MLP_PROGRAM, inputs, limits))
    loss = checked.values[checked.output]
    if not math.isclose(loss, baselines.numpy_mlp(arrays)[0], rel_tol=1e-12):
        raise AssertionError("MLP: run() and numpy give different losses")
    times = rounds_cpu(
        {
            "run": (run, lambda: parse(workloads.MLP_PROGRAM, inputs, limits)),
            "numpy": (lambda: baselines.numpy_mlp(arrays), None),
        },
        rounds,
    )
    return {
        "run": statistics.median(times["run"]),
        "numpy": statistics.median(times["numpy"]),
        "ratio": paired_ratio(times["run"], times["numpy"]),
        "rounds": rounds,
    }


def report(rows: dict[str, dict[str, float]]) -> str:
    lines = []
    for name, row in rows.items():
        baseline = next(key for key in row if key not in ("run", "nodes", "ratio"))
        per = row["run"] / row["nodes"] * 1e6
        lines.append(
            f"{name:17} {int(row['nodes']):6} op-nodes: run() {per:6.3f} us/node, {baseline} "
            f"{row[baseline] / row['nodes'] * 1e6:6.3f} us/node: {row.get('ratio', row['run'] / row[baseline]):5.2f}x"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    # alone, as bench/run.py measures it: one BLAS thread, freed memory kept (app/memory.py)
    from app.memory import keep_freed_memory

    keep_freed_memory()
    tiny = "--tiny" in sys.argv[1:]
    print(report(measure(tiny)))
    mlp = mlp_cpu((8, 4, 4, 3), 2, 20) if tiny else mlp_cpu((784, 100, 200, 10), 32, 200)
    print(
        f"MLP, CPU time: run() {mlp['run'] * 1e3:.3f} ms, numpy {mlp['numpy'] * 1e3:.3f} ms: {mlp['ratio']:.3f}x "
        f"(median of {mlp['rounds']} rounds' ratios)"
    )
