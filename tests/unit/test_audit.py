"""`invoke audit` passes only on an answer for every locked package.

The vulnerability source here is a local HTTP server speaking OSV's
querybatch shape: the real service cannot be reached from these machines.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from slipway import checks, config
from slipway.checks import audit
from slipway.cli import tables
from slipway.errors import CheckFailed, NotChecked

ROOT = Path(__file__).resolve().parents[2]
SLIPWAY = str(Path(sys.executable).with_name("slipway"))

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
    checks.verdict(done.results())  # passes


def test_a_known_vulnerability_fails_naming_package_version_and_ids(source: Any) -> None:
    source(_vulnerable("sqlalchemy", "PYSEC-2099-1", "GHSA-xxxx-yyyy-zzzz"))
    done = audit.audit(config.load())
    assert [f.package for f in done.findings] == ["sqlalchemy"]
    with pytest.raises(CheckFailed, match=r"1 of \d+ locked packages.*sqlalchemy \S+: GHSA-xxxx"):
        checks.verdict(done.results())


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


def _answer_each(result: object) -> Answer:
    """A mirror giving ``result`` as every package's answer, as many as asked."""
    return lambda queries: (200, json.dumps({"results": [result] * len(queries)}).encode())


@pytest.mark.parametrize(
    "result",
    [
        None,
        {"next_page_token": "abc"},
        {"vulns": [{"id": "GHSA-1"}], "next_page_token": "abc"},
        {"vulns": "GHSA-1"},
        {"vulns": None},
        {"vulns": [{"summary": "no id"}]},
        {"vulns": [{"id": 7}]},
        {"vulns": [None]},
        [],
        "ok",
    ],
    ids=repr,
)
def test_as_many_answers_as_packages_but_not_complete_ones_is_not_checked(
    source: Any, result: object
) -> None:
    source(_answer_each(result))
    with pytest.raises(NotChecked, match=r"^not checked: .* gave no complete answer for \d+ of"):
        audit.audit(config.load())


def test_one_incomplete_answer_among_good_ones_is_not_checked_and_named(source: Any) -> None:
    def answer(queries: list[dict[str, Any]]) -> tuple[int, bytes]:
        results: list[object] = [{} for _ in queries]
        results[0] = {"next_page_token": "more"}
        return 200, json.dumps({"results": results}).encode()

    source(answer)
    first = audit.packages(config.load())[0]
    with pytest.raises(NotChecked, match=f"for 1 of .*\\({first[0]} {first[1]}\\): nothing"):
        audit.audit(config.load())


def test_an_empty_vulns_list_is_an_answer_of_none() -> None:
    assert audit.vulnerabilities({}) == ()
    assert audit.vulnerabilities({"vulns": []}) == ()
    assert audit.vulnerabilities({"vulns": [{"id": "B"}, {"id": "A", "modified": "x"}]}) == (
        "A",
        "B",
    )


def test_the_not_checked_of_the_audit_is_slipways_exit_3() -> None:
    assert audit.NotChecked is NotChecked
    assert NotChecked.exit_code == 3


# uv's CycloneDX export of a project with a PyPI package, a path dependency,
# a git dependency and a workspace member of its own (as uv 0.13 writes it).
LOCKED = {
    "components": [
        {"name": "idna", "version": "3.10", "purl": "pkg:pypi/idna@3.10"},
        {"name": "vend", "version": "0.2.0"},
        {
            "name": "gitdep",
            "version": "0.2.0",
            "purl": "pkg:pypi/gitdep@0.2.0?vcs_url=https://example.test/gitdep%23ce6bf9d",
        },
        {
            "name": "mem",
            "version": "0.2.0",
            "properties": [{"name": "uv:workspace:path", "value": "mem"}],
        },
    ]
}


def test_packages_osv_cannot_know_are_named_and_make_the_audit_not_checked(
    source: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit.sbom, "locked_packages", lambda _config: LOCKED)
    received = source(_vulnerable("nothing"))

    done = audit.audit(config.load())

    assert [q["package"]["purl"] for q in received[0]["queries"]] == ["pkg:pypi/idna@3.10"]
    assert (done.checked, done.findings, done.own) == (1, (), ("mem",))
    assert [(u.package, u.source) for u in done.not_checked] == [
        ("vend", "a path"),
        ("gitdep", "git"),
    ]
    shown = tables.audit_table(done).splitlines()
    assert shown[1:] == [
        "NOT checked (not from PyPI, OSV cannot know them): "
        "vend 0.2.0 (a path), gitdep 0.2.0 (git)",
        "not audited (the project's own workspace members): mem",
    ]
    with pytest.raises(
        NotChecked,
        match=r"^not checked: 2 locked packages do not come from PyPI, so OSV cannot know "
        r"them: vend 0.2.0 \(a path\), gitdep 0.2.0 \(git\); the other 1 ",
    ):
        checks.verdict(done.results())


def test_a_known_vulnerability_still_fails_beside_packages_not_checked(
    source: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit.sbom, "locked_packages", lambda _config: LOCKED)
    source(_vulnerable("idna", "PYSEC-2099-9"))

    done = audit.audit(config.load())

    with pytest.raises(CheckFailed, match=r"^1 of 1 locked packages .* \(2 more not checked\)"):
        checks.verdict(done.results())


def test_the_audit_command_exits_3_with_one_line_when_not_checked(source: Any) -> None:
    source(_answer_each({"next_page_token": "abc"}))

    done = subprocess.run(
        [SLIPWAY, "audit"], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
    )

    assert done.returncode == 3, done.stdout + done.stderr
    assert "no known vulnerabilities" not in done.stdout
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("slipway: not checked: ")


def test_the_audit_is_one_row_per_group_of_packages_for_the_one_verdict() -> None:
    done = audit.Audit(
        "https://osv.test",
        3,
        (audit.Finding("idna", "3.10", ("PYSEC-2099-9",)),),
        (audit.Unknown("vend", "0.2.0", "a path"),),
        ("mem",),
    )

    assert [(r.name, r.ok) for r in done.results()] == [
        ("from PyPI", False),
        ("not from PyPI", False),
        ("workspace members", True),
    ]
    clean = audit.Audit("https://osv.test", 3, ())
    assert [(r.name, r.ok) for r in clean.results()] == [("from PyPI", True)]
    checks.verdict(clean.results())  # passes
