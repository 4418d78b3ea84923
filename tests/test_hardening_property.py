"""Property: whatever shapes, sizes and numbers a client puts into initializers, inputs and
grad_output, the answer is a 200 or a 4xx with a JSON error body; never a 5xx.

Bodies are written with json.dumps, which spells non-finite floats NaN / Infinity and keeps ints
of any size, as a careless client's JSON library might."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HUGE_INTS = [2**31, 2**63, 2**64, 10**30, 10**400, -(10**400)]
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([*HUGE_INTS, "NaN", "Infinity", "-Infinity", "nan", "1.5", True, None]),
)
dims = st.one_of(
    st.integers(min_value=0, max_value=7),
    st.sampled_from([-1, 2000, 4_000_001, 1.0, 2.5, float("inf"), float("nan"), "3", None, True, *HUGE_INTS]),
)
shapes = st.one_of(
    st.lists(dims, max_size=5), st.lists(st.just(1), min_size=30, max_size=70), st.sampled_from([None, 3, "x", {}])
)


def nested(shape_strategy=st.lists(st.integers(min_value=0, max_value=4), max_size=4)):
    """A nested list of numbers of a random shape (sometimes ragged), or a single number."""

    def build(draw_shape, leaves):
        def fill(level):
            if level == len(draw_shape):
                return leaves.pop() if leaves else 0.5
            return [fill(level + 1) for _ in range(draw_shape[level])]

        return fill(0)

    return st.tuples(shape_strategy, st.lists(numbers, max_size=64)).map(lambda pair: build(pair[0], list(pair[1])))


ragged = st.recursive(numbers, lambda children: st.lists(children, max_size=3), max_leaves=12)
initializers = st.fixed_dictionaries(
    {"init": st.sampled_from(["randn", "uniform", "zeros", "ones"] * 3 + ["normal", 3])},
    optional={
        "shape": shapes,
        "seed": st.one_of(numbers, st.integers(min_value=0, max_value=2**130)),
        "scale": numbers,
        "low": numbers,
        "high": numbers,
        "requires_grad": st.sampled_from([True, False, 1, None]),
    },
)
values = st.one_of(
    numbers,
    nested(),
    ragged,
    initializers,
    st.fixed_dictionaries({"value": st.one_of(numbers, nested(), ragged)}, optional={"requires_grad": st.booleans()}),
)
PROGRAMS = [
    "y = sum(x * 2)",
    "y = x * w",
    "y = softmax(x)",
    "y = log_softmax(x, axis=0)",
    "y = max(x, axis=0)",
    "y = min(x, axis=-1)",
    "y = sum(x, axis=0)",
    "y = mean(x, axis=(0, 1))",
    "y = x @ w",
    "y = x.T @ w",
    "y = reshape(x, -1)",
    "y = reshape(x, (0, 9223372036854775807))",
    "y = mse(x, w)",
    "y = tanh(x) ** w",
    "y = softmax_cross_entropy(x, w)",
    "y = linear(x, w, x)",
    "y = transpose(x, axes=(1, 0))",
    "y = sqrt(x) / w",
    "y = maximum(x, w) - minimum(x, w)",
    "y = exp(x) * 1" + "0" * 400,
]


def answers_without_5xx(client, program, x, w, grad_output, backward) -> None:
    body = json.dumps({"expression": program, "inputs": {"x": x, "w": w}, "grad_output": grad_output})
    response = client.post(
        "/graph/backward" if backward else "/graph/forward", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code in (200, 400, 413, 422), (body[:500], response.status_code, response.text[:500])
    payload = json.loads(response.content)  # every body is valid JSON
    if response.status_code != 200:
        assert payload["error"]["kind"] and payload["error"]["message"]


SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(
    program=st.sampled_from(PROGRAMS),
    x=values,
    w=values,
    grad_output=st.one_of(st.none(), values),
    backward=st.booleans(),
)
def test_random_inputs_and_numbers_never_answer_5xx(client, program, x, w, grad_output, backward):
    answers_without_5xx(client, program, x, w, grad_output, backward)


@SETTINGS
@given(
    program=st.sampled_from(PROGRAMS),
    x=initializers,
    w=st.one_of(initializers, numbers),
    grad_output=st.one_of(st.none(), numbers, nested()),
)
def test_random_initializers_never_answer_5xx(client, program, x, w, grad_output):
    answers_without_5xx(client, program, x, w, grad_output, backward=True)
