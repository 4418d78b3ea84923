"""The tutorial's worked examples with their exact numbers, and each of its mistakes done right.

See ../shared/seed/NOTES.md: every mistake listed there has a test here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core import evaluate


def named(result) -> dict:
    graph = result.graph
    return {graph.names[i]: i for i in range(len(graph)) if graph.names[i]}


def value(result, name):
    return result.values[named(result)[name]]


def grad(result, name):
    return result.grads[named(result)[name]]


# --- the chain rule -------------------------------------------------------------------------------


def test_chain_rule_values_and_gradients():
    result = evaluate("q = x + y\nf = q * z", {"x": -2, "y": 5, "z": -4})
    assert value(result, "q") == 3.0
    assert value(result, "f") == -12.0
    assert {n: grad(result, n) for n in "xyzqf"} == {"x": -4.0, "y": -4.0, "z": 3.0, "q": -4.0, "f": 1.0}


def test_chain_rule_steps_in_order_with_their_numbers():
    result = evaluate("q = x + y\nf = q * z", {"x": -2, "y": 5, "z": -4})
    ids = named(result)
    assert result.forward == [ids["q"], ids["f"]]
    edges = [(s.node, s.input, s.slot) for s in result.steps]
    assert edges == [(ids["f"], ids["q"], 0), (ids["f"], ids["z"], 1), (ids["q"], ids["x"], 0), (ids["q"], ids["y"], 1)]
    # upstream · local = contribution, accumulated so far
    numbers = [(result.grads[s.node], s.local, s.contribution, s.accumulated) for s in result.steps]
    assert numbers == [(1.0, -4.0, -4.0, -4.0), (1.0, 3.0, 3.0, 3.0), (-4.0, 1.0, -4.0, -4.0), (-4.0, 1.0, -4.0, -4.0)]


def test_chain_rule_with_a_target_of_minus_13_gives_loss_1():
    result = evaluate("f = (x + y) * z\nloss = (f - t) ** 2", {"x": -2, "y": 5, "z": -4, "t": -13})
    assert value(result, "loss") == 1.0
    # dloss/df = 2 (f - t) = 2, so every gradient is twice the chain rule's
    assert (grad(result, "x"), grad(result, "y"), grad(result, "z")) == (-8.0, -8.0, 6.0)


# --- the tensor example: a shared parameter and a broadcast bias ---------------------------------


def _tensor_example():
    rng = np.random.default_rng(7)
    x, a, upstream = rng.standard_normal((3, 3, 3))
    b = rng.standard_normal(3)
    inputs = {"x": x.tolist(), "a": a.tolist(), "b": b.tolist()}
    return evaluate("y = (x * a + b) * a", inputs, upstream.tolist()), x, a, b, upstream


def test_tensor_example_gradients_have_the_inputs_shapes():
    result, x, a, b, upstream = _tensor_example()
    np.testing.assert_allclose(grad(result, "a"), upstream * (x * a + b) + upstream * a * x, rtol=1e-14)
    np.testing.assert_allclose(grad(result, "x"), upstream * a * a, rtol=1e-14)
    np.testing.assert_allclose(grad(result, "b"), (upstream * a).sum(axis=0), rtol=1e-14)
    assert grad(result, "b").shape == (3,)


def test_tensor_example_steps_show_two_contributions_to_a_adding_up():
    result, x, a, b, upstream = _tensor_example()
    a_id = named(result)["a"]
    into_a = [s for s in result.steps if s.input == a_id]
    assert len(into_a) == 2
    first, second = into_a
    np.testing.assert_allclose(first.contribution, upstream * (x * a + b), rtol=1e-14)
    np.testing.assert_allclose(first.accumulated, first.contribution, rtol=0)
    np.testing.assert_allclose(second.contribution, upstream * a * x, rtol=1e-14)
    np.testing.assert_allclose(second.accumulated, first.contribution + second.contribution, rtol=1e-15)
    b_step = next(s for s in result.steps if s.input == named(result)["b"])
    assert b_step.summed_axes == (0,)


# --- the tutorial's mistakes ----------------------------------------------------------------------


def test_intermediate_used_twice_is_not_double_counted():
    result = evaluate("q = x * a\ny = q * q", {"x": 1.5, "a": 2})
    assert grad(result, "x") == 12.0  # the tutorial's recursion gives 18
    assert grad(result, "a") == 9.0  # and 13.5
    # q is propagated once, after both of its contributions arrived
    q = named(result)["q"]
    assert [s.node for s in result.steps].count(q) == 2  # two edges out of q (to x and a), once
    assert [s.contribution for s in result.steps if s.input == q] == [3.0, 3.0]


def test_deep_fan_out_is_linear_not_exponential():
    # Each line uses h twice: a recursive backward visits 2^60 paths; one reverse pass visits 120 edges.
    program = "h = x\n" + "h = h + h\n" * 60
    result = evaluate(program, {"x": 1.0})
    assert result.grads[0] == 2.0**60
    assert len(result.steps) == 120


@pytest.mark.parametrize(
    ("b_shape", "summed"),
    [((1, 3, 1), (0, 2)), ((3, 1), (0, 2)), ((4,), (0, 1)), ((), (0, 1, 2))],
)
def test_broadcast_gradient_is_summed_over_every_broadcast_axis(b_shape, summed):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4))
    b = rng.standard_normal(b_shape)
    upstream = rng.standard_normal((2, 3, 4))
    result = evaluate("y = x * b", {"x": x.tolist(), "b": b.tolist() if b_shape else float(b)}, upstream.tolist())
    expected = (upstream * x).sum(axis=summed).reshape(b_shape)  # written out per case above
    got = grad(result, "b")
    assert np.shape(got) == b_shape
    np.testing.assert_allclose(np.reshape(got, -1), np.reshape(expected, -1), rtol=1e-13)
    step = next(s for s in result.steps if s.input == named(result)["b"])
    assert step.summed_axes == summed


def test_sigmoid_derivative_uses_the_output():
    result = evaluate("s = sigmoid(x)", {"x": 0.5})
    s = 1 / (1 + math.exp(-0.5))
    assert value(result, "s") == pytest.approx(s, rel=1e-15)
    assert grad(result, "x") == pytest.approx(s * (1 - s), rel=1e-14)  # 0.2350..., not 0.5·(1−0.5)
    assert grad(result, "x") != pytest.approx(0.25, rel=1e-3)


def test_softmax_cross_entropy_with_logits_near_1000_is_finite_and_right():
    logits = [[1000.0, 1001.0, 1002.0], [1000.0, 1000.0, 1000.0]]
    result = evaluate(
        "loss = softmax_cross_entropy(z, labels)",
        {"z": logits, "labels": {"value": [2, 0], "requires_grad": False}},
    )
    shifted = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]])  # the same softmax, computed without overflow
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    expected_loss = -(np.log(p[0, 2]) + np.log(p[1, 0])) / 2
    assert value(result, "loss") == pytest.approx(expected_loss, rel=1e-14)
    onehot = np.array([[0, 0, 1], [1, 0, 0]])
    np.testing.assert_allclose(grad(result, "z"), (p - onehot) / 2, rtol=1e-13)
    assert grad(result, "labels") is None


def test_softmax_cross_entropy_does_not_alter_the_values_it_read():
    logits = np.array([[1.0, 2.0, 3.0]])
    result = evaluate(
        "p = softmax(z)\nloss = softmax_cross_entropy(z, labels)",
        {"z": logits.tolist(), "labels": {"value": [1], "requires_grad": False}},
    )
    np.testing.assert_array_equal(value(result, "z"), logits)
    np.testing.assert_allclose(value(result, "p"), np.exp(logits) / np.exp(logits).sum(), rtol=1e-15)


def test_mse_is_a_scalar_loss():
    result = evaluate("loss = mse(y, t)", {"y": [[1.0], [2.0], [4.0]], "t": [[1.5], [2.0], [3.0]]})
    assert value(result, "loss") == pytest.approx((0.25 + 0 + 1) / 3, rel=1e-15)
    assert isinstance(value(result, "loss"), float)
    np.testing.assert_allclose(grad(result, "y"), [[-1 / 3], [0.0], [2 / 3]], rtol=1e-15)


def test_linear_backward_does_not_update_the_weights():
    W = [[0.5, -1.0], [2.0, 0.25], [1.0, 1.0]]
    result = evaluate("out = sum(linear(x, W, b))", {"x": [[1.0, 2.0, 3.0]], "W": W, "b": [0.1, 0.2]})
    np.testing.assert_array_equal(value(result, "W"), W)
    np.testing.assert_allclose(grad(result, "W"), [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], rtol=0)
    np.testing.assert_allclose(grad(result, "b"), [1.0, 1.0], rtol=0)


def test_adding_does_not_mutate_an_operand():
    x = [1.0, 2.0]
    result = evaluate("y = x + x\nz = x * 2\nout = sum(y + z)", {"x": x})
    np.testing.assert_array_equal(value(result, "x"), x)
    np.testing.assert_array_equal(value(result, "z"), [2.0, 4.0])
    np.testing.assert_array_equal(grad(result, "x"), [4.0, 4.0])


def test_backward_prints_nothing(capsys):
    evaluate("y = x * a * a", {"x": [1.0, 2.0], "a": [3.0, 4.0]}, [1.0, 1.0])
    assert capsys.readouterr() == ("", "")


def test_ten_thousand_statements_do_not_recurse():
    program = "h = x\n" + "h = tanh(h * w + b)\n" * 10_000
    result = evaluate(program, {"x": 0.3, "w": 0.9, "b": 0.1})
    # The same recurrence by hand, forward then reverse, in plain floats.
    hs = [0.3]
    for _ in range(10_000):
        hs.append(math.tanh(hs[-1] * 0.9 + 0.1))
    dh, dw, db = 1.0, 0.0, 0.0
    for h_prev, h in zip(reversed(hs[:-1]), reversed(hs[1:])):
        dpre = dh * (1 - h * h)
        dw += dpre * h_prev
        db += dpre
        dh = dpre * 0.9
    assert value(result, "h") == pytest.approx(hs[-1], rel=1e-15)
    assert grad(result, "w") == pytest.approx(dw, rel=1e-12)
    assert grad(result, "b") == pytest.approx(db, rel=1e-12)
    assert len(result.graph) == 3 + 3 * 10_000
