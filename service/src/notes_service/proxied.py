"""The client's scheme and address, as the proxy in front saw them.

Behind HAProxy every request arrives from the proxy's own address; it says
who the client was and how it connected in ``X-Forwarded-For`` and
``X-Forwarded-Proto``. Those headers are honoured from the proxy alone
(``TRUSTED_PROXY``, the name of its service: ``proxy``), never from anyone
else who can reach the app, which could write anything in them.

The proxy's address is looked up by its name, not fixed: the container can
be recreated with another address. A request that carries those headers
from an address not known to be the proxy's looks it up again (at most once
a second), so the first request a new proxy passes on is already believed,
and a health probe, which carries none, never asks.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterable

from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

# How long an address lookup holds before an unknown client asks again.
LOOKUP_SECONDS = 1.0
FORWARDED = frozenset({b"x-forwarded-for", b"x-forwarded-proto"})


class TrustedProxy:
    """ASGI middleware: uvicorn's proxy headers, trusted from ``host`` only."""

    def __init__(self, app: ASGI3Application, host: str) -> None:
        self.app = app
        self.host = host
        self._addresses: frozenset[str] = frozenset()
        self._looked_up = float("-inf")
        self._honour: ProxyHeadersMiddleware | None = None

    async def _look_up(self) -> None:
        self._looked_up = time.monotonic()
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                self.host, None, type=socket.SOCK_STREAM
            )
        except OSError:
            return  # not there (yet): trust no one until it is
        addresses = frozenset(str(info[4][0]) for info in found)
        if addresses != self._addresses:
            self._addresses = addresses
            # uvicorn's own walk of X-Forwarded-For from the right, skipping
            # the proxy: a client's own header cannot name another client.
            self._honour = ProxyHeadersMiddleware(self.app, trusted_hosts=sorted(addresses))

    def _should_look_up(self, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        if time.monotonic() - self._looked_up <= LOOKUP_SECONDS:
            return False
        return any(name in FORWARDED for name, _ in headers)

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        client = scope.get("client")
        if client is None:
            return await self.app(scope, receive, send)
        if client[0] not in self._addresses and self._should_look_up(scope["headers"]):
            await self._look_up()
        if client[0] in self._addresses and self._honour is not None:
            return await self._honour(scope, receive, send)
        return await self.app(scope, receive, send)
