"""The container's health probe, and its watchdog.

Docker runs this every interval (HEALTHCHECK, compose `healthcheck:`). It asks
/health with Python's urllib (no curl in the image). Docker itself never
restarts an unhealthy container outside swarm, and a container must not
mount docker.sock to restart itself, so the probe is also the watchdog: after
HEALTH_WATCHDOG_FAILURES consecutive failures (default 3; 0 turns it off) it
SIGKILLs the server process. Under `init: true` that ends the container, and
its restart policy starts a fresh one: a hung server (alive, not answering)
is replaced within about interval x failures + start time.

Usage: python -m notes_service.healthcheck
"""

from __future__ import annotations

import os
import signal
import sys
import urllib.request
from pathlib import Path

# Consecutive failures, kept on the container's tmpfs between probes.
COUNTER = Path(os.environ.get("HEALTH_COUNTER_FILE", "/tmp/notes-health-failures"))  # noqa: S108
SERVER_MARKERS = (b"notes-service\x00serve", b"notes_service\x00serve")


def healthy(port: int, timeout: float = 2.0) -> bool:
    url = f"http://127.0.0.1:{port}/health"
    # Never through a proxy: docker may inject http_proxy into containers.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


def count_failure() -> int:
    try:
        failures = int(COUNTER.read_text() or 0) + 1
    except (OSError, ValueError):
        failures = 1
    try:
        COUNTER.write_text(str(failures))
    except OSError:
        return 1  # nowhere to count: never escalate on a guess
    return failures


def server_pids() -> list[int]:
    """Processes of this container running the server (not this probe)."""
    pids = []
    for proc in Path("/proc").iterdir():
        # PID 1 is the init (tini): it exits once its child, the server, dies.
        if not proc.name.isdigit() or int(proc.name) in (1, os.getpid()):
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if any(marker in cmdline for marker in SERVER_MARKERS):
            pids.append(int(proc.name))
    return pids


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    limit = int(os.environ.get("HEALTH_WATCHDOG_FAILURES", "3"))
    if healthy(port):
        COUNTER.unlink(missing_ok=True)
        return 0
    failures = count_failure()
    print(f"/health did not answer 200 ({failures} in a row)")
    if limit and failures >= limit:
        for pid in server_pids():
            print(f"watchdog: killing hung server process {pid}")
            os.kill(pid, signal.SIGKILL)
        COUNTER.unlink(missing_ok=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
