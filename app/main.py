"""Assembles the FastAPI application: routers, static files, error handlers, CORS.

Nothing here computes anything. `app` is what `uvicorn app.main:app` serves, built from the
environment's settings at import; `create_app(settings)` builds one with other settings (tests).
"""

from __future__ import annotations

import gc

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from app import datasets
from app.api import body, check, errors, graph, jobs, meta, train, ui
from app.api.body_limit import BodyLimit
from app.memory import keep_freed_memory
from app.settings import Settings, load_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    keep_freed_memory()  # here rather than in __main__: each uvicorn worker process runs this
    app = FastAPI(
        title="chainlens",
        version="0.1.0",
        description=(
            "Type a small program, give its inputs, and get its computation graph with every "
            "node's value and gradient and the step-by-step timeline of the forward and backward "
            "passes."
        ),
    )
    app.state.settings = settings
    datasets.configure(settings.data_dir)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
        )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout)
    errors.install(app)
    jobs.install(app)
    body.install(app)
    app.include_router(graph.router)
    app.include_router(check.router)
    app.include_router(meta.router)
    app.include_router(train.router)
    app.include_router(ui.router)
    # check_dir=False: without built assets the page says how to build them (instead of the app
    # failing to start, or creating the folder inside a read-only install).
    app.mount("/static", StaticFiles(directory=str(ui.STATIC_DIR), check_dir=False), name="static")
    app.router.on_startup.append(_freeze_startup_objects)
    return app


def _freeze_startup_objects() -> None:
    """The objects alive once the app has started (modules, routes, schemas: some 70,000) are moved
    out of the cyclic garbage collector's sight for good. Its full collections, about one a second
    under load (50 users and 10 training), scanned them all each time: 30-45 ms pauses of the event
    loop, in the small requests' p99; 5 ms with them frozen. Once per process (a test session
    starts many apps: the later ones' objects stay collectable)."""
    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()


# `uvicorn app.main:app`, as FastAPI users type it first; each worker process imports this module.
app = create_app()
