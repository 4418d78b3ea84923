"""Seconds a graph's forward and backward passes take, estimated from the graph alone (before any
tensor exists), op by op.

The graph's `work` counts units (Op.work: elements of the result, or the operand's elements for a
reduction, multiply-adds for matmul). A unit does not cost the same in every op: a sine of a
huge argument reduces it modulo 2π first (about 100 ns), `x ** y` calls pow per element, a sum
costs an add. `NS_PER_UNIT` holds each op's nanoseconds per unit for one forward and one
backward pass together, allocation of the value, local derivative and gradient included,
measured on large tensors (10⁶ to 4·10⁶ elements, where memory traffic costs most) on the
project's reference machine (2 shared cores; bench/stress.py compares the estimate with the time
taken), rounded up: the estimate decides where a request runs and whether it is refused, and
an op that runs faster than estimated only leaves a thread idle sooner.

Measured (ns per unit, forward + backward, `sum(op(x))` less `sum(x)`, 4·10⁶ elements, median of
three): add 12, mul 1-4, div 12, exp 0.1-20 (20 for huge arguments), log 7, sqrt 11, tanh 2,
sigmoid 7-13, relu 2-7, abs 5-19, maximum 40, sin and cos 18-36 (91-111 for arguments near
10¹⁵), pow 15-27 (x ** y), softmax 4 and log_softmax 7 (per unit, a unit being a quarter of an
element), mse 10; the reduction itself 6-12 per element.

The ops added since (issue 19's indexing, comparisons and constant makers, issue 20's layers)
were measured by bench/calibrate.py (`python bench/calibrate.py --scale 1 4`): each op's program
built from its finite-difference case scaled to 10⁶ and 4·10⁶ units (10⁸ and, where the scaled
case fits, 4·10⁸ multiply-adds for matmul, linear, convolutions and attention; small layers too),
its forward and backward less those of `out = o` with `o` of the result's shape, CPU time,
median of three, one BLAS thread. The table takes the largest rate of an op's programs over every
run made (two to five), rounded up; one reading was left out: triu's 38, once in seven readings
(the next 6; tril, the same code, at most 10). The machine was shared with other engineers'
builds and tests while measuring, which makes the figures larger rather than smaller: that errs
on the safe side (the estimate is meant as an upper bound). Every run finds each older op at or
under its rate above; those rates are kept.

Scalar nodes (every operand and the result a Python float) cost their overhead only: `NODE_NS`
per node, which every op node pays once per pass pair (Python calls, numpy dispatch).
"""

from __future__ import annotations

from itertools import compress
from math import prod
from operator import not_
from typing import Any

# An op node's fixed cost for forward and backward together (Python and numpy call overhead).
NODE_NS = 4_000
# An op without an entry below.
DEFAULT_NS_PER_UNIT = 15.0
NS_PER_UNIT: dict[str, float] = {
    "add": 15.0,
    "sub": 15.0,
    "mul": 15.0,
    "div": 15.0,
    "neg": 12.0,
    "exp": 25.0,
    "log": 15.0,
    "sqrt": 15.0,
    "tanh": 15.0,
    "sigmoid": 20.0,
    "relu": 15.0,
    "abs": 25.0,
    "maximum": 50.0,
    "minimum": 50.0,
    # Arguments past about 10⁸ take the slow path of argument reduction: estimated as if all did.
    "sin": 140.0,
    "cos": 140.0,
    "pow": 40.0,
    "sum": 15.0,
    "mean": 15.0,
    "max": 15.0,
    "min": 15.0,
    "softmax": 10.0,
    "log_softmax": 10.0,
    "mse": 15.0,
    "softmax_cross_entropy": 15.0,
    # Per multiply-add: BLAS, forward and the two products of the backward pass (measured 0.3
    # for 1000² by 1000², 0.5 for 360×200 by 200², 0.9 for 100² by 100²). linear_t is linear's
    # code with W read transposed (bench/calibrate.py: 0.2-0.4).
    "matmul": 0.8,
    "linear": 0.8,
    "linear_t": 0.8,
    "onehot": 10.0,
    "detach": 2.0,
    "transpose": 2.0,
    "reshape": 2.0,
    # Issue 19's ops and issue 20's layers: bench/calibrate.py's largest rate, rounded up.
    # Indexing and joining (per element of the result).
    "index": 11.0,
    "gather": 27.0,
    "cat": 3.0,
    "stack": 4.0,
    "where": 29.0,
    "masked_fill": 27.0,
    "clamp": 5.0,
    "tril": 10.0,
    "triu": 10.0,
    # Comparisons and arg-reductions: no gradient, the forward pass only.
    "gt": 3.0,
    "lt": 2.0,
    "ge": 2.0,
    "le": 2.0,
    "eq": 2.0,
    "ne": 2.0,
    "bool": 2.0,
    "logical_not": 2.0,
    "logical_and": 3.0,
    "logical_or": 3.0,
    "logical_xor": 3.0,
    # Per combination of the letters' sizes, per operand (Op.budget's work): numpy's einsum, forward and
    # one einsum per operand's gradient (`sum(einsum(...))` forward and backward, CPU time, best of three,
    # one BLAS thread, load 6: 0.2 for 200² by 200², 0.5 for bid,bjd->bij at 8×64×64, both matmuls; 1.3 for
    # three 30² operands, numpy's einsum).
    "einsum": 2.0,
    "argmax": 2.0,
    "argmin": 2.0,
    "logsumexp": 4.0,
    "var": 5.0,
    "std": 5.0,
    # Constant makers (a fill, nothing flows back); zeros_like and its kin pass a zero gradient back.
    "ones": 0.5,
    "zeros": 0.1,
    "full": 0.4,
    "arange": 5.0,
    "eye": 0.5,
    "ones_like": 0.7,
    "zeros_like": 21.0,
    "full_like": 0.3,
    # Activations: erf and the exact gelu (the default; tanh's 34) evaluate rational approximations
    # piecewise (a branch per element's |x|), elu and softplus an exp.
    "erf": 62.0,
    "gelu": 94.0,
    "silu": 15.0,
    "softplus": 32.0,
    "elu": 44.0,
    "leaky_relu": 7.0,
    "hardtanh": 7.0,
    "dropout": 8.0,
    # Norms and losses (per Op.work's unit: elements, several passes counted for some).
    "layer_norm": 5.0,
    "group_norm": 3.0,
    "batch_norm": 3.0,
    "normalize": 4.0,
    "cosine_similarity": 7.0,
    "l1_loss": 6.0,
    "smooth_l1_loss": 6.0,
    "huber_loss": 6.0,
    "kl_div": 7.0,
    "nll_loss": 2.0,
    "binary_cross_entropy": 6.0,
    "binary_cross_entropy_with_logits": 10.0,
    "cross_entropy_probs": 6.0,
    "embedding": 6.0,
    # Op.budget's work: a convolution's multiply-adds plus its im2col matrix and padded copy, a
    # pool's window elements plus its padded copy, attention's scores times (head sizes + 4). Small
    # layers cost more per unit than large ones (at 10⁸ units: conv1d 0.6, conv2d 1.1, attention
    # 0.7); the rate is the small ones'.
    "conv1d": 2.0,
    "conv2d": 2.0,
    "max_pool2d": 17.0,
    "avg_pool2d": 5.0,
    "scaled_dot_product_attention": 4.0,
}


def node_units(graph: Any, node: int) -> int:
    """The units of work of op node `node`, as the graph counted them when it was built."""
    op, shapes = graph.ops[node], graph.shapes
    if graph.scalar[node]:
        return 1
    shape = shapes[node]
    operands = [shapes[j] for j in graph.args[node]]
    if op.work is not None:
        units = op.work(shape, *operands)
    elif op.budget is not None:  # a layer whose cost depends on its parameters (a convolution's patches)
        units = op.budget(shape, *operands, **(graph.params[node] or {}))[0]
    else:
        units = prod(shape)
    return units or 1


def units_by_op(graph: Any) -> dict[str, int]:
    """Units of work of the graph's tensor op nodes (not scalar ones), summed by op name."""
    totals: dict[str, int] = {}
    ops = graph.ops
    if False not in graph.scalar:  # a graph of scalars (`in` tells in C, at once)
        return totals
    for node in compress(range(len(ops)), map(not_, graph.scalar)):
        op = ops[node]
        if op is not None:
            totals[op.name] = totals.get(op.name, 0) + node_units(graph, node)
    return totals


# A forward pass alone (an evaluation, a gradient check's pass) against forward and backward together.
FORWARD_SHARE = 0.5
# A training step's optimizer update, per element of the parameters (SGD with momentum, Adam's
# moments: about ten numpy operations of 1.5 ns an element).
OPTIMIZER_NS_PER_ELEMENT = 15.0


def pass_seconds(graph: Any) -> float:
    """Seconds of one forward and one backward pass over `graph`: NODE_NS per op node, and each
    tensor node's units at its op's rate. Linear in the graph; the loop visits tensor nodes only
    (a 10,000-node chain of scalars costs a C-level scan of the scalar flags)."""
    op_nodes: int = len(graph.ops) - graph.ops.count(None)
    arithmetic: float = sum(
        NS_PER_UNIT.get(name, DEFAULT_NS_PER_UNIT) * units for name, units in units_by_op(graph).items()
    )
    return (NODE_NS * op_nodes + arithmetic) * 1e-9


def forward_seconds(graph: Any) -> float:
    """Seconds of one forward pass over `graph` (its share of pass_seconds)."""
    return FORWARD_SHARE * pass_seconds(graph)


def optimizer_seconds(elements: int) -> float:
    """Seconds of one optimizer update of parameters of `elements` elements in all."""
    return OPTIMIZER_NS_PER_ELEMENT * elements * 1e-9


def limit_seconds(limit: float, work: float, seconds: float) -> float:
    """A limit set in units of work (a training run's, a gradient check's), as the seconds it
    allows a job whose `work` units are estimated at `seconds`: the refusals say both in time,
    at the job's own rate, so "about 73 seconds; the limit is about 2 seconds" compares what the
    limit compares."""
    return limit * seconds / work if work else 0.0


def seconds_in_words(seconds: float) -> str:
    """A time as words, for refusals that say what a request would cost: "28 seconds", "1.5 seconds",
    "40 milliseconds"."""
    if seconds >= 10:
        return f"{seconds:,.0f} seconds"
    if seconds >= 1:
        return f"{seconds:.1f}".removesuffix(".0") + (" second" if seconds < 1.05 else " seconds")
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f} milliseconds"
    return f"{seconds * 1e6:.0f} microseconds"
