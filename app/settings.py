"""Settings from environment variables (prefix CHAINLENS_), read once at start-up.

Every setting, its default and its meaning is listed in the README; this module is the one place
that reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from app.check.limits import CheckLimits
from app.engine.limits import Limits

N = TypeVar("N", int, float)


def _number(name: str, default: N, kind: Callable[[str], N]) -> N:
    """The variable `name` as a `kind` (int or float), or `default` when it is unset or blank."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be {'an integer' if kind is int else 'a number'}, got {raw!r}") from exc


def _int(name: str, default: int) -> int:
    return _number(name, default, int)


def _int_below(name: str, default: int, bound: int) -> int:
    """As _int, refused at start-up from `bound` on (the program's length: a node's place in it is
    a 32-bit int, app/engine/graph.py's PLACES)."""
    value = _int(name, default)
    if value >= bound:
        raise SystemExit(f"{name} must be below {bound}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"
    allowed_origins: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    # Tensors with more elements than these come back as summaries (nodes / steps).
    max_full_elements: int = 10_000
    max_step_elements: int = 256
    # Trained parameters (a training run's done line) with more elements come back as summaries.
    # Large enough for MNIST's 784×100 first layer, so the page can draw every unit's weights and
    # compute a digit's gradient with the trained network.
    max_trained_elements: int = 100_000
    # Request bodies past this many bytes are refused before they are read.
    max_body_bytes: int = 16_000_000
    # Training runs (POST /train): steps, estimated work and estimated seconds, checked before a run.
    max_train_steps: int = 100_000
    max_train_work: int = 100_000_000_000
    max_train_seconds: int = 120
    # Where MNIST's four IDX files are (the mnist dataset is unavailable without it).
    data_dir: str | None = None
    # The checking and export routes (gradcheck, replays, the PyTorch script).
    check: CheckLimits = field(default_factory=CheckLimits)
    # Memory one request may use, estimated before anything is allocated (app/api/jobs.py).
    max_request_memory: int = 512 << 20
    # Worker threads of the lane that computes large requests (app/api/lanes.py; small ones run
    # on the event loop or in a one-thread lane of their own). One per worker process: the
    # computation is mostly Python, which holds the GIL, so a second thread computes little more
    # but competes with the event loop (eight 100,000-node requests at once: /healthz waited
    # 167 ms with two threads, 37 ms with one, and the eight finished sooner). More load means
    # more worker processes (CHAINLENS_WORKERS) or replicas.
    job_threads: int = 1
    # Threads for streamed runs (POST /train), which hold a thread for the whole run.
    stream_threads: int = 2
    # Seconds a request may be expected to wait for its lane; past it, 503 with Retry-After.
    max_wait: float = 10.0
    # Bytes of answers waiting for their clients, together with a new request's memory estimate;
    # past it (unless no answer waits), the new request is answered 503 (app/api/outbox.py).
    max_unsent_bytes: int = 256 << 20
    # Seconds a client may take to take one chunk of its answer or one line of a stream; then
    # the connection is cut and what it held freed (a stream's job is stopped).
    send_timeout: float = 20.0
    # After a request estimated above this, freed memory is handed back to the OS at once.
    trim_after_bytes: int = 64 << 20
    # Seconds a client may take to send its request body (then 408).
    body_timeout: float = 10.0
    # Connections served at once (uvicorn answers 503 past it), and seconds an idle
    # keep-alive connection stays open.
    max_connections: int = 512
    keep_alive_timeout: int = 5
    # The share of max_connections one client address may hold (app/connections.py); behind a
    # reverse proxy every connection comes from the proxy: set 1 and let the proxy limit clients.
    max_client_share: float = 0.25
    # Seconds a client may take to send a request's headers (then the connection is closed).
    header_timeout: float = 10.0


# Settings read from CHAINLENS_<NAME>, each a number of its default's type (int or float).
_NUMBERS = (
    "max_trained_elements",
    "max_train_steps",
    "max_train_work",
    "max_train_seconds",
    "max_request_memory",
    "job_threads",
    "stream_threads",
    "max_wait",
    "max_unsent_bytes",
    "send_timeout",
    "trim_after_bytes",
    "body_timeout",
    "max_connections",
    "keep_alive_timeout",
    "header_timeout",
    "max_client_share",
)


def load_settings() -> Settings:
    base = Settings()
    defaults = Limits()
    origins = os.environ.get("CHAINLENS_ALLOWED_ORIGINS", "")
    return Settings(
        host=os.environ.get("CHAINLENS_HOST", "127.0.0.1"),
        port=_int("CHAINLENS_PORT", 8000),
        workers=_int("CHAINLENS_WORKERS", 1),
        log_level=os.environ.get("CHAINLENS_LOG_LEVEL", "info").lower(),
        allowed_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
        limits=Limits(
            max_program_chars=_int_below("CHAINLENS_MAX_PROGRAM_CHARS", defaults.max_program_chars, 2**31),
            max_nodes=_int("CHAINLENS_MAX_NODES", defaults.max_nodes),
            max_tensor_elements=_int("CHAINLENS_MAX_TENSOR_ELEMENTS", defaults.max_tensor_elements),
            max_total_work=_int("CHAINLENS_MAX_TOTAL_WORK", defaults.max_total_work),
            max_inputs=_int("CHAINLENS_MAX_INPUTS", defaults.max_inputs),
            max_input_elements=_int("CHAINLENS_MAX_INPUT_ELEMENTS", defaults.max_input_elements),
        ),
        max_full_elements=_int("CHAINLENS_MAX_FULL_ELEMENTS", 10_000),
        max_step_elements=_int("CHAINLENS_MAX_STEP_ELEMENTS", 256),
        max_body_bytes=_int("CHAINLENS_MAX_BODY_BYTES", 16_000_000),
        data_dir=os.environ.get("CHAINLENS_DATA_DIR") or None,
        check=CheckLimits(
            max_replay_steps=_int("CHAINLENS_MAX_REPLAY_STEPS", CheckLimits.max_replay_steps),
            gradcheck_sample=_int("CHAINLENS_GRADCHECK_SAMPLE", CheckLimits.gradcheck_sample),
            max_gradcheck_work=_int("CHAINLENS_MAX_GRADCHECK_WORK", CheckLimits.max_gradcheck_work),
            max_script_elements=_int("CHAINLENS_MAX_SCRIPT_ELEMENTS", CheckLimits.max_script_elements),
        ),
        **{
            name: _number(f"CHAINLENS_{name.upper()}", getattr(base, name), type(getattr(base, name)))
            for name in _NUMBERS
        },
    )
