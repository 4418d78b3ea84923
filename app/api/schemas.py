"""Request and response models, named by role. They document the API at /docs and validate the
request's outer shape; the values inside `inputs` are checked by the engine, which knows more."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

CHAIN_RULE: JsonDict = {
    "expression": "q = x + y\nf = q * z",
    "inputs": {"x": -2, "y": 5, "z": -4},
    "grad_output": None,
}


class GraphRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CHAIN_RULE]})

    expression: str = Field(
        description="The program: assignments and a final expression, one per line or separated by ';'."
    )
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            'A value per free variable: a number, a nested list, {"value": ..., "requires_grad": false}, '
            'or {"init": "randn"|"uniform"|"zeros"|"ones", "shape": [...], "seed": 0}, '
            'or dataset rows ({"dataset": "digits", "field": "images", ...}, see GET /datasets). '
            "Every name the program uses without assigning it must be given here: a program that uses a "
            "name it neither assigns nor is given is refused with 422 (missing_input, with its line and column)."
        ),
    )
    grad_output: Any = Field(default=None, description="Upstream gradient for the output; ones of its shape when null.")
    mode: Literal["correct", "naive-recursion", "overwrite"] = Field(
        default="correct",
        description=(
            'POST /graph/backward only: "naive-recursion" or "overwrite" replay one of the tutorial\'s '
            "backward mistakes; the response then carries `diverges` (see docs/api.md)."
        ),
    )
    expand: Literal["all"] | list[str] | None = Field(
        default=None,
        description=(
            'Composite ops to build as the primitives they are made of: "all" or a list of names '
            "(linear, mse, softmax_cross_entropy, softmax, log_softmax, sigmoid). Their nodes carry "
            "`group`, and the response lists the groups."
        ),
    )


Value = float | str | list | dict


class Span(BaseModel):
    line: int
    column: int
    end_line: int
    end_column: int


class NodeOut(BaseModel):
    id: int
    op: str = Field(description='"input", "constant", or an op name from GET /ops')
    name: str | None
    label: str
    shape: list[int]
    value: Value | None
    grad: Value | None = Field(description="null where no gradient flows")
    inputs: list[int]
    span: Span
    params: dict[str, Any] | None = None
    group: int | None = Field(default=None, description="with expand: the innermost group the node belongs to")


class GroupOut(BaseModel):
    id: int
    op: str = Field(description="the composite op this group is made of")
    label: str
    nodes: list[int] = Field(description="every node inside the group, nested groups' included")
    inputs: list[int] = Field(description="the composite's operands (outside the group)")
    output: int = Field(description="the node that stands where the composite would")
    parent: int | None = Field(description="the enclosing group, for a composite inside another's decomposition")


class LocalDerivative(BaseModel):
    formula: str
    value: Value | None


class StepOut(BaseModel):
    phase: Literal["forward", "backward"]
    node: int
    input: int | None = None
    slot: int | None = None
    upstream: Value | None = None
    local: LocalDerivative | None = None
    contribution: Value | None = None
    accumulated: Value | None = None
    summed_axes: list[int] | None = None


class GraphResponse(BaseModel):
    nodes: list[NodeOut]
    output: int
    forward: list[int] = Field(description="op node ids in the order computed")
    steps: list[StepOut]
    truncated_elements: int = Field(description="tensors with more elements come back as summaries")
    groups: list[GroupOut] | None = Field(default=None, description="with expand: the composites opened")


class SpanColumns(BaseModel):
    line: list[int]
    column: list[int]
    end_line: list[int]
    end_column: list[int]


class NodeColumns(BaseModel):
    """Node i's fields are the i-th item of each list; its id is i."""

    op: list[str]
    name: list[str | None]
    label: list[str]
    shape: list[list[int]]
    value: list[Value | None]
    grad: list[Value | None]
    inputs: list[list[int]]
    span: SpanColumns
    params: list[dict[str, Any] | None] = Field(description="null where the node's op takes no parameters")
    group: list[int | None] | None = Field(default=None, description="with expand: each node's group, or null")


class LocalColumns(BaseModel):
    formula: list[int] = Field(description="indices into the response's `formulas`")
    value: list[Value | None]


class StepColumns(BaseModel):
    """The backward steps, one item per step in each list; the forward steps are `forward`."""

    node: list[int]
    input: list[int]
    slot: list[int]
    upstream: list[Value | None]
    local: LocalColumns
    contribution: list[Value | None]
    accumulated: list[Value | None]
    summed_axes: list[list[int]]


class GraphColumns(BaseModel):
    """The graph response with `format=columns`: the same content as GraphResponse, column by column."""

    format: Literal["columns"]
    nodes: NodeColumns
    output: int
    forward: list[int] = Field(description="op node ids in the order computed; also the forward steps")
    steps: StepColumns
    formulas: list[str] = Field(description="the distinct local-derivative formulas, in order of first use")
    truncated_elements: int = Field(description="tensors with more elements come back as summaries")
    groups: list[GroupOut] | None = Field(default=None, description="with expand: the composites opened")


class ErrorDetail(BaseModel):
    kind: str
    message: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    input: str | None = None
    suggestions: list[str] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


def _error(description: str) -> dict:
    return {"model": ErrorResponse, "description": description}


# Every error status a compute route answers (each with the usual error body), for OpenAPI.
COMPUTE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("The request body is not UTF-8 text."),
    408: _error("The request body did not arrive within the body timeout (CHAINLENS_BODY_TIMEOUT)."),
    413: _error("The request body, the program, its inputs or its estimated memory exceed a configured limit."),
    422: _error("The body is not valid JSON, or the program or its inputs are wrong; line and column say where."),
    503: {
        **_error("The server is busy: every worker is taken and the wait queue is full."),
        "headers": {
            "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}
        },
    },
}
