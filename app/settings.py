"""Settings from environment variables (prefix CHAINLENS_), read once at start-up.

Every setting, its default and its meaning is listed in the README; this module is the one place
that reads the environment.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from app.check.limits import CheckLimits
from app.engine.limits import Limits


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


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
    # Request bodies past this many bytes are refused before they are read.
    max_body_bytes: int = 16_000_000
    # The checking and export routes (gradcheck, replays, the PyTorch script).
    check: CheckLimits = field(default_factory=CheckLimits)


def load_settings() -> Settings:
    defaults = Limits()
    origins = os.environ.get("CHAINLENS_ALLOWED_ORIGINS", "")
    return Settings(
        host=os.environ.get("CHAINLENS_HOST", "127.0.0.1"),
        port=_int("CHAINLENS_PORT", 8000),
        workers=_int("CHAINLENS_WORKERS", 1),
        log_level=os.environ.get("CHAINLENS_LOG_LEVEL", "info").lower(),
        allowed_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
        limits=Limits(
            max_program_chars=_int("CHAINLENS_MAX_PROGRAM_CHARS", defaults.max_program_chars),
            max_nodes=_int("CHAINLENS_MAX_NODES", defaults.max_nodes),
            max_tensor_elements=_int("CHAINLENS_MAX_TENSOR_ELEMENTS", defaults.max_tensor_elements),
            max_total_work=_int("CHAINLENS_MAX_TOTAL_WORK", defaults.max_total_work),
        ),
        max_full_elements=_int("CHAINLENS_MAX_FULL_ELEMENTS", 10_000),
        max_step_elements=_int("CHAINLENS_MAX_STEP_ELEMENTS", 256),
        max_body_bytes=_int("CHAINLENS_MAX_BODY_BYTES", 16_000_000),
        check=CheckLimits(
            max_replay_steps=_int("CHAINLENS_MAX_REPLAY_STEPS", CheckLimits.max_replay_steps),
            gradcheck_sample=_int("CHAINLENS_GRADCHECK_SAMPLE", CheckLimits.gradcheck_sample),
            max_gradcheck_work=_int("CHAINLENS_MAX_GRADCHECK_WORK", CheckLimits.max_gradcheck_work),
            max_script_elements=_int("CHAINLENS_MAX_SCRIPT_ELEMENTS", CheckLimits.max_script_elements),
        ),
    )
