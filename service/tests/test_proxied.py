"""X-Forwarded-For and X-Forwarded-Proto, believed from the proxy alone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from notes_service.proxied import TrustedProxy


def _seen(host: str, client: str, headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
    """The scheme and client address the app sees behind TrustedProxy(host)."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    scope = {"type": "http", "scheme": "http", "client": (client, 40000), "headers": headers}
    asyncio.run(TrustedProxy(app, host)(scope, None, None))  # type: ignore[arg-type]
    return seen["scheme"], seen["client"][0]


FORWARDED = [(b"x-forwarded-proto", b"https"), (b"x-forwarded-for", b"203.0.113.9")]


def test_the_proxy_s_headers_give_the_client_s_scheme_and_address() -> None:
    assert _seen("localhost", "127.0.0.1", FORWARDED) == ("https", "203.0.113.9")


def test_a_client_s_own_x_forwarded_for_cannot_name_another_client() -> None:
    # HAProxy appends the address it saw to whatever the client sent.
    spoofed = [(b"x-forwarded-for", b"198.51.100.1"), (b"x-forwarded-for", b"203.0.113.9")]
    assert _seen("localhost", "127.0.0.1", spoofed) == ("http", "203.0.113.9")


@pytest.mark.parametrize(
    ("host", "client"),
    [("localhost", "192.0.2.7"), ("no-such-proxy.invalid", "127.0.0.1")],
    ids=["another-address", "proxy-not-found"],
)
def test_anyone_else_s_headers_are_ignored(host: str, client: str) -> None:
    assert _seen(host, client, FORWARDED) == ("http", client)
