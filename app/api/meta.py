"""GET /healthz, /ops and /examples: what the UI needs besides the graph itself."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from app import __version__
from app.api.encode import dumps
from app.datasets import DATASETS
from app.engine import dialects
from app.engine.ops import CONSTANTS, OPS, Op
from app.examples import DATASET_EXAMPLES, EXAMPLES

router = APIRouter(tags=["meta"])


def _op_entry(op: Op) -> dict[str, Any]:
    placeholders = {name: name for name in op.operands} | {"out": "out"}
    return {
        "name": op.name,
        "signature": op.signature(),
        "operands": list(op.operands),
        "arity": len(op.operands),
        "optional": list(op.optional),  # operands a call may leave out or give as None (bias=None)
        "params": [
            {"name": p.name, "kind": p.kind, "default": p.default, "required": p.required}
            | ({"choices": list(p.choices)} if p.choices else {})
            for p in op.params
        ],
        "elementwise": op.elementwise,
        "variadic": op.variadic,  # the last operand takes any number of tensors (cat's)
        "syntax": op.syntax.format(**placeholders),
        "doc": op.doc,
        "derivatives": [
            {"input": name, "formula": formula.format(**placeholders), "differentiable": op.differentiable(slot)}
            for slot, (name, formula) in enumerate(zip(op.operands, op.formulas))
        ],
        # A composite's primitives, as expand builds them (default options; C is the class count).
        "decomposition": op.decomposition().replace("{C}", "C") if op.decomposition else None,
    }


# `dialects`: what torch., F., np., math. and Tensor methods mean, each name as (op, the library's
# positional order, its keyword names, its defaults): see app/engine/dialects.py.
_OPS_BODY = dumps({"ops": [_op_entry(op) for op in OPS.values()], "constants": CONSTANTS, "dialects": dialects.table()})
_EXAMPLES_BODY = dumps({"examples": EXAMPLES})
_HEALTHY = dumps({"status": "ok", "version": __version__})


# HEAD is a route of its own, left out of the OpenAPI document: with both methods on one route,
# FastAPI gives them one operation id.
@router.head("/healthz", include_in_schema=False)
@router.get("/healthz")
async def healthz() -> Response:
    """Liveness and the running version: answers while the server can serve (HEAD too, for probes
    that send it). Answered on the event loop itself, so it shows whether the loop is free."""
    return Response(_HEALTHY, media_type="application/json")


@router.get("/ops")
def ops() -> Response:
    """The op table: every function and operator, its signature and its local-derivative formulas;
    and the namespace table: what each name of torch, F (torch.nn.functional), np, math and each
    Tensor method means, as an op and that library's spelling of its arguments."""
    return Response(_OPS_BODY, media_type="application/json")


@router.get("/examples")
def examples() -> Response:
    """Curated programs with their inputs, the tutorial's among them; training examples carry their
    train config, and those needing a dataset that may be missing (MNIST) are listed when it is there."""
    extra = [e for e in DATASET_EXAMPLES if DATASETS[e["requires_dataset"]].available() is None]
    if not extra:
        return Response(_EXAMPLES_BODY, media_type="application/json")
    return Response(dumps({"examples": EXAMPLES + extra}), media_type="application/json")
