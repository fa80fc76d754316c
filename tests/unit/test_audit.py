"""`invoke audit` passes only on an answer for every locked package.

The vulnerability source here is a local HTTP server speaking OSV's
querybatch shape: the real service cannot be reached from these machines.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from slipway import audit, config
from slipway.errors import CheckFailed

Answer = Callable[[list[dict[str, Any]]], tuple[int, bytes]]


@pytest.fixture
def source(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Answer], list[Any]]]:
    """Start an OSV-shaped server answering with ``answer(queries)``; returns
    the list of request bodies it received."""
    servers: list[HTTPServer] = []

    def start(answer: Answer) -> list[Any]:
        received: list[Any] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                received.append(body)
                status, payload = answer(body["queries"])
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        server = HTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        monkeypatch.setenv(audit.OSV_URL_ENV, f"http://127.0.0.1:{server.server_port}/q")
        return received

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _vulnerable(name: str, *ids: str) -> Answer:
    def answer(queries: list[dict[str, Any]]) -> tuple[int, bytes]:
        results = [
            {"vulns": [{"id": i} for i in ids]}
            if f"pkg:pypi/{name}@" in q["package"]["purl"]
            else {}
            for q in queries
        ]
        return 200, json.dumps({"results": results}).encode()

    return answer


def test_every_locked_runtime_package_is_asked_about_by_purl(source: Any) -> None:
    received = source(_vulnerable("nothing"))
    done = audit.audit(config.load())
    purls = [q["package"]["purl"] for q in received[0]["queries"]]
    locked = audit.packages(config.load())
    assert purls == [purl for _, _, purl in locked]
    assert any(p.startswith("pkg:pypi/fastapi@") for p in purls)
    assert not any(p.startswith("pkg:pypi/pytest@") for p in purls)  # dev tools are not shipped
    assert done.findings == ()
    assert done.checked == len(locked)
    audit.verdict(done)  # passes


def test_a_known_vulnerability_fails_naming_package_version_and_ids(source: Any) -> None:
    source(_vulnerable("sqlalchemy", "PYSEC-2099-1", "GHSA-xxxx-yyyy-zzzz"))
    done = audit.audit(config.load())
    assert [f.package for f in done.findings] == ["sqlalchemy"]
    with pytest.raises(CheckFailed, match=r"1 of \d+ locked packages.*sqlalchemy \S+: GHSA-xxxx"):
        audit.verdict(done)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (lambda q: (200, json.dumps({"results": [{}] * (len(q) - 1)}).encode()), "every package"),
        (lambda _: (503, b"{}"), "answered 503"),
        (lambda _: (200, b"<html>busy</html>"), "did not answer with JSON"),
    ],
)
def test_an_answer_that_does_not_cover_every_package_is_not_checked(
    source: Any, answer: Answer, why: str
) -> None:
    source(answer)
    with pytest.raises(audit.NotChecked, match=f"^not checked: .*{why}"):
        audit.audit(config.load())


def test_an_unreachable_source_is_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(audit.OSV_URL_ENV, "http://127.0.0.1:9/v1/querybatch")
    with pytest.raises(
        audit.NotChecked, match=r"^not checked: cannot reach .*no package was audited"
    ):
        audit.audit(config.load())
