"""The HTTP protocol uvicorn runs for `python -m app`: uvicorn's own (httptools), with guards.

- A connection cap at accept time, fair per client address: one address holds at most
  `max_client_share` of `max_connections`, and a new connection past either limit is taken by
  closing an idle connection (none sent, part of the headers, or kept alive) of the address that
  holds too many; it is closed at once only when those are all busy with requests. One client
  that opens hundreds of sockets then loses its own oldest ones, and others still get in.
  uvicorn's `limit_concurrency` answers 503 only once a request's headers are in, so clients
  that connect and send nothing (or half a request) would otherwise take a file descriptor
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
from typing import Any, cast

from app.api.outbox import CLOSE_EXTENSION

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools missing (it is a dependency, but may not build everywhere)
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


def guarded_protocol(max_connections: int, header_timeout: float, max_client_share: float = 1.0) -> Any:
    """uvicorn's `http=` argument: the guarded protocol class, or "auto" without httptools."""
    if HttpToolsProtocol is None:
        return "auto"
    per_client = max(1, int(max_connections * max_client_share))
    # Each client address's open connections, oldest first (a dict keeps insertion order).
    by_address: dict[Any, dict[Any, None]] = {}

    def evict_idle(held: dict[Any, None], spare: Any) -> bool:
        """Close the oldest idle connection among `held` (not `spare`); False if none is idle."""
        for protocol in held:
            if protocol is not spare and protocol.idle():
                protocol.transport.close()  # connection_lost follows and forgets it
                return True
        return False

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._header_timer: asyncio.TimerHandle | None = None
            self._address: Any = None

        # uvicorn's own override narrows BaseProtocol's BaseTransport to a Transport, as this one does.
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._address = self.client[0] if self.client else None
            held = by_address.setdefault(self._address, {})
            held[self] = None
            # Fairness at the door: a new connection is taken, and room made for it by closing
            # an idle connection of the address that holds too many (its own, or past the cap
            # the one holding most); refused only when they are all busy with requests.
            if len(held) > per_client and not evict_idle(held, self):
                transport.close()
                return
            if len(self.connections) >= max_connections:
                heaviest = max(by_address.values(), key=len)
                if not evict_idle(heaviest, self) and (heaviest is held or not evict_idle(held, self)):
                    transport.close()
                    return
            self._arm()

        def idle(self) -> bool:
            """No request in progress: nothing sent yet, part of a request's headers, or kept alive
            after an answer. (A closing transport is not counted again.)"""
            if self.transport.is_closing():
                return False
            return self.cycle is None or self.cycle.response_complete

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_timer is None:
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()
            # How the app cuts a client that does not read its answer (app/api/outbox.py): the
            # scope is the request's own dict, read by its task, which starts after this returns.
            # (asgiref types an extension's value as a dict; this one is a callable.)
            extensions = cast("dict[str, Any]", self.scope.setdefault("extensions", {}))
            extensions[CLOSE_EXTENSION] = self.transport.close

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            held = by_address.get(self._address)
            if held is not None:
                held.pop(self, None)
                if not held:
                    del by_address[self._address]
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
