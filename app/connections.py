"""The HTTP protocol uvicorn runs for `python -m app`: uvicorn's own (httptools), with two guards.

- A connection cap at accept time: past `max_connections` open connections, a new one is closed
  at once. uvicorn's `limit_concurrency` answers 503 only once a request's headers are in, so
  clients that connect and send nothing (or half a request) would still take a file descriptor
  each, until the process runs out of them and every new request fails.
- A header timeout: a request's headers must arrive within `header_timeout` seconds of the
  connection opening (or of the request's first byte, on a kept-alive connection). uvicorn has
  none: a client that sends nothing, or a header a byte at a time, holds the connection forever.

- The transport's `close` in each request's scope (extension "chainlens.close"), with which the
  app cuts a client that does not read its answer (app/api/outbox.py).

Bodies are timed by app.api.body_limit (a 408); idle kept-alive connections by uvicorn's
`timeout_keep_alive`. A reverse proxy in front adds the same guards per client address (see
README, Deployment).
"""
from __future__ import annotations

import asyncio
from typing import Any

from app.api.outbox import CLOSE_EXTENSION

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools missing (it is a dependency, but may not build everywhere)
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


def guarded_protocol(max_connections: int, header_timeout: float) -> Any:
    """uvicorn's `http=` argument: the guarded protocol class, or "auto" without httptools."""
    if HttpToolsProtocol is None:
        return "auto"

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.close()  # connection_lost follows and forgets it
                return
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_timer is None:
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()
            # How the app cuts a client that does not read its answer (app/api/outbox.py): the
            # scope is the request's own dict, read by its task, which starts after this returns.
            self.scope.setdefault("extensions", {})[CLOSE_EXTENSION] = self.transport.close

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedHttpToolsProtocol
