"""`python -m app` / `chainlens`: serve the app with uvicorn, configured from the environment
(`--version` prints the version and exits; every setting is an environment variable, see
app/settings.py).

Besides the app's own limits, the server is told how many connections to hold, how long an idle
kept-alive connection may stay open, how long headers may take (app/connections.py), and how
long a stopping server waits for requests in flight (their jobs are cancelled then).
"""

from __future__ import annotations

import argparse

import uvicorn

from app import __version__
from app.connections import guarded_protocol
from app.settings import load_settings


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="chainlens",
        description="Serve chainlens (the page and the API). Configured by CHAINLENS_* environment "
        "variables (host, port, workers, limits): see the README's Configuration section.",
    )
    parser.add_argument("--version", action="version", version=f"chainlens {__version__}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    _arguments(argv)
    settings = load_settings()
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        http=guarded_protocol(settings.max_connections, settings.header_timeout, settings.max_client_share),
        # Past this many connections or requests at once, uvicorn answers 503 itself.
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=settings.keep_alive_timeout,
        timeout_graceful_shutdown=5,
        # A request line and headers larger than this are refused (h11; httptools has its own).
        h11_max_incomplete_event_size=64 * 1024,
    )


if __name__ == "__main__":
    main()
