"""Latency and throughput of the prod container under a loopback load, with wrk.

wrk (C, one thread, keep-alive connections) leaves the machine's other core
to the service; a Python load generator would compete with it for CPU. Each
run is bounded: CONNECTIONS connections for DURATION, after a short warm-up.
wrk comes from the distribution; the benchmark installs it with apt-get when
it runs as root on Debian or Ubuntu and says what to do otherwise.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess

from bench.figures import BenchError, Figure, Report
from bench.workspace import ENVIRONMENT, Workspace, shown

SECTION = "load"
THREADS = 1
CONNECTIONS = 8
DURATION = "10s"
WARM_UP = "3s"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def ensure_wrk(report: Report) -> str:
    """The wrk binary; installed from the distribution when possible."""
    found = shutil.which("wrk")
    apt = shutil.which("apt-get")
    if found is None and apt is not None and os.geteuid() == 0:
        report("  wrk is not installed: apt-get install -y wrk ...")
        for step in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "wrk"]):
            subprocess.run(step, capture_output=True, check=False, timeout=600)
        found = shutil.which("wrk")
    if found is None:
        raise BenchError(
            "wrk is not installed: install it (Debian/Ubuntu: sudo apt-get install -y wrk; "
            "macOS: brew install wrk), or leave the load section out of --only"
        )
    return found


def milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise BenchError(f"unexpected latency in wrk's output: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> tuple[float, float, float]:
    """p50 and p99 latency (ms) and requests per second from `wrk --latency`."""
    if "Non-2xx" in output or "Socket errors" in output:
        raise BenchError(f"wrk saw failed requests:\n{output}")
    found = {
        key: re.search(pattern, output, re.MULTILINE)
        for key, pattern in {
            "p50": r"^\s*50%\s+(\S+)",
            "p99": r"^\s*99%\s+(\S+)",
            "rps": r"^Requests/sec:\s+([\d.]+)",
        }.items()
    }
    missing = [key for key, match in found.items() if match is None]
    if missing:
        raise BenchError(f"no {', '.join(missing)} in wrk's output:\n{output}")
    p50, p99, rps = (m.group(1) for m in found.values() if m is not None)
    return milliseconds(p50), milliseconds(p99), float(rps)


def create_note(ws: Workspace) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", ws.port, timeout=10)
    try:
        body = json.dumps({"text": "measured by bench/load.py"})
        conn.request("POST", "/notes", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        if response.status != 201:
            raise BenchError(f"POST /notes answered {response.status}")
        note_id: int = json.loads(response.read())["id"]
        return note_id
    finally:
        conn.close()


def series(  # noqa: PLR0913 (what to ask, then how)
    ws: Workspace,
    wrk: str,
    url: str,
    label: str,
    runs: int,
    report: Report,
    *extra: str,
    connections: int = CONNECTIONS,
    duration: str = DURATION,
) -> tuple[list[tuple[float, float, float]], str]:
    """``runs`` wrk runs against ``url`` after a warm-up (``extra``: more of
    wrk's flags), each reported: (p50, p99, req/s) per run, and the command
    as a user would type it."""
    base = [wrk, f"-t{THREADS}", f"-c{connections}", "--timeout", "5s", "--latency", *extra]
    ws.run([*base, f"-d{WARM_UP}", url])
    command = [*base, f"-d{duration}", url]
    results = []
    for run in range(runs):
        results.append(parse(ws.run(command)))
        p50, p99, rps = results[-1]
        report(f"  {label} {run + 1}/{runs}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, {rps:.0f} req/s")
    return results, shown(["wrk", *command[1:]])


def figures_of(
    section: str, name: str, results: list[tuple[float, float, float]], command: str
) -> list[Figure]:
    """p50, p99 and throughput of a series, as figures."""
    p50s, p99s, rpss = zip(*results, strict=True)
    return [
        Figure(section, f"{name} latency p50", "ms", p50s, command),
        Figure(section, f"{name} latency p99", "ms", p99s, command),
        Figure(section, f"{name} throughput", "req/s", rpss, command),
    ]


def measure(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    """wrk against /health and /notes/{id} of the deployed prod stack."""
    wrk = ensure_wrk(report)
    ws.run(ws.invoke("deploy", "--env", ENVIRONMENT))
    paths = {"/health": "/health", "/notes/{id}": f"/notes/{create_note(ws)}"}
    figures = []
    for name, path in paths.items():
        url = f"http://127.0.0.1:{ws.port}{path}"
        results, command = series(ws, wrk, url, f"{SECTION} GET {name}", runs, report)
        figures += figures_of(SECTION, f"GET {name}", results, command)
    return figures
