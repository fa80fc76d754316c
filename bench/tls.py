"""HTTPS at the proxy against plain HTTP through the same proxy, with wrk.

The copy's prod is measured as it is (plain HTTP on its port), then with
`https: {hosts: [localhost]}` in slipway.yaml (the local CA's certificate,
HAProxy terminating TLS on HTTPS_PORT; plain HTTP then answers only 308).
Each time wrk asks GET /health two ways: on kept-alive connections (what
encrypting costs) and with `Connection: close` (a new TCP connection for
every request, and over HTTPS a new TLS handshake). wrk's latency starts
once a request is written, after the connection and its handshake, so the
handshake's cost comes from throughput instead: each of the connections
spends connections / throughput on a request, connecting included, and the
difference between HTTPS and HTTP is what the handshake adds. wrk does not
verify the certificate; tests/docker/test_https.py proves it verifies.
"""

from __future__ import annotations

import statistics

import yaml

from bench import load
from bench.figures import Figure, Report
from bench.workspace import ENVIRONMENT, Workspace

SECTION = "tls"
KEPT, NEW = "kept alive", "a new connection each"
# Per way: connections, duration, wrk's other flags. A new connection each
# is asked on 2 connections for 5 s, some 2,000 connections a run: with 8
# for 10 s (12,000 a run) HTTP's p50 went from 6 to 13 ms by the third run,
# slower than HTTPS's, most likely as loopback's 28,000 ephemeral ports,
# each held 60 s in TIME_WAIT, ran short.
WAYS: dict[str, tuple[int, str, tuple[str, ...]]] = {
    KEPT: (load.CONNECTIONS, load.DURATION, ()),
    NEW: (2, "5s", ("-H", "Connection: close")),
}


def _series(
    ws: Workspace, wrk: str, scheme: str, url: str, runs: int, report: Report
) -> dict[str, list[Figure]]:
    """Per way: p50, p99 and throughput of GET /health over ``url``."""
    found = {}
    for way, (connections, duration, extra) in WAYS.items():
        label = f"{SECTION} {scheme}, {way}"
        results, command = load.series(
            ws, wrk, url, label, runs, report, *extra, connections=connections, duration=duration
        )
        found[way] = load.figures_of(
            SECTION, f"GET /health over {scheme}, {way}:", results, command
        )
    return found


def _serve_https(ws: Workspace, on: bool) -> None:
    """The copy's prod with or without `https:` (not committed)."""
    path = ws.root / "slipway.yaml"
    data = yaml.safe_load(path.read_text())
    prod = data["environments"][ENVIRONMENT]
    if on:
        prod["https"] = {"hosts": ["localhost"]}
    else:
        prod.pop("https", None)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def measure(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    wrk = load.ensure_wrk(report)
    ws.run(ws.invoke("deploy", "--env", ENVIRONMENT))
    plain = _series(ws, wrk, "HTTP", f"http://127.0.0.1:{ws.port}/health", runs, report)
    _serve_https(ws, on=True)
    try:
        ws.run(ws.invoke("deploy", "--env", ENVIRONMENT))
        url = f"https://127.0.0.1:{ws.https_port}/health"
        secure = _series(ws, wrk, "HTTPS", url, runs, report)
    finally:
        _serve_https(ws, on=False)
    # The handshake: what a request on a new connection takes over HTTPS
    # beyond HTTP, each connection's time per request (connections / req/s).
    connections = WAYS[NEW][0]
    handshake = tuple(
        1000 * connections * (1 / s - 1 / p)
        for s, p in zip(secure[NEW][2].samples, plain[NEW][2].samples, strict=True)
    )
    figures = [f for way in WAYS for f in (*plain[way], *secure[way])]
    figures.append(
        Figure(
            SECTION,
            "TLS handshake: a request on a new connection, over HTTPS minus over HTTP",
            "ms",
            handshake,
            secure[NEW][0].command,
        )
    )
    report(f"  {SECTION}: handshake {statistics.median(handshake):.2f} ms (median)")
    return figures
