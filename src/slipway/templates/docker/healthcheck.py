"""The container's health probe, and its watchdog. Ships with slipway;
standard library only, for any HTTP service.

`slipway init` writes this file as docker/healthcheck.py; the Dockerfile's
base stage copies it to /usr/local/lib/slipway/healthcheck.py and names it in
its one HEALTHCHECK. Docker runs it every interval. It asks
http://127.0.0.1:$HEALTH_PORT$HEALTH_PATH (default port $PORT or 8000, path
/health) with urllib (no curl in the image). Docker itself never restarts an
unhealthy container outside swarm, and a container must not mount
docker.sock to restart itself, so the probe is also the watchdog: after
HEALTH_WATCHDOG_FAILURES consecutive failures (default 3; 0 turns it off) it
SIGKILLs the server, the process `init: true` (tini, PID 1) started. That
ends the container, and its restart policy starts a fresh one: a hung server
(alive, not answering) is replaced within about interval x failures + start.

Only a server that has answered 200 since its container started is killed,
or one that has not answered for HEALTH_START_GRACE seconds since then
(default 300, longer than any deploy's health gate): one still starting,
however slowly, or a broken release, which deploy's gate turns away, is left
to Docker's "unhealthy" rather than killed over and over.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

# Consecutive failures, kept on the container's tmpfs between probes, and
# the start of the container (its PID 1) whose server last answered 200.
_DEFAULT_COUNTER = Path(tempfile.gettempdir()) / "slipway-health-failures"
COUNTER = Path(os.environ.get("HEALTH_COUNTER_FILE") or _DEFAULT_COUNTER)
SERVED = COUNTER.with_name(COUNTER.name + ".served")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not health: the proxy expects a 200 from the
    health path itself, so the probe must not follow a 302 to a page that
    answers 200 (it would call healthy a server the proxy marks down)."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def answer(port: int, path: str = "/health", timeout: float = 2.0) -> int | None:
    """The HTTP status the health path itself answers (no redirect is
    followed); None when no HTTP answer came (refused, timed out)."""
    url = f"http://127.0.0.1:{port}{path}"
    # Never through a proxy: docker may inject http_proxy into containers.
    handlers = (urllib.request.ProxyHandler({}), _NoRedirects())
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (OSError, ValueError):
        return None


def healthy(port: int, path: str = "/health", timeout: float = 2.0) -> bool:
    """True only when the health path itself answers 200, as the proxy's
    `http-check expect status 200` wants it: no redirect is followed."""
    return answer(port, path, timeout) == 200


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


def _parent(stat: str) -> int:
    # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces.
    return int(stat.rsplit(")", 1)[1].split()[1])


def container_start() -> str:
    """When PID 1 started (clock ticks since boot): a new value after each
    restart of the container, whatever its /tmp kept."""
    try:
        return Path("/proc/1/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def container_age() -> float | None:
    """Seconds since PID 1 started; None when /proc cannot tell."""
    try:
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - int(container_start()) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def escalates() -> bool:
    """Whether a failing server is the watchdog's to kill: it served since
    the container started, or it has had the whole grace to start."""
    if served():
        return True
    age = container_age()
    return age is not None and age > float(os.environ.get("HEALTH_START_GRACE") or 300)


def served() -> bool:
    """Whether the server answered 200 since the container (re)started."""
    try:
        return SERVED.read_text() == container_start()
    except OSError:
        return False


def server_pids() -> list[int]:
    """The server: the processes PID 1 (the init) started, never this probe.

    A probe is started by the runtime, not by PID 1, so it is never among them.
    """
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in (1, os.getpid()):
            continue
        try:
            if _parent((proc / "stat").read_text()) == 1:
                pids.append(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def passed() -> int:
    """A passing probe: the failures are forgotten and the server marked as
    having served since the container started. 0, the probe's exit code."""
    COUNTER.unlink(missing_ok=True)
    if not served():
        # Nowhere to note it: the watchdog stays off rather than guess.
        with contextlib.suppress(OSError):
            SERVED.write_text(container_start())
    return 0


def failed(what: str, detail: str = "") -> int:
    """A failing probe: say ``what`` failed (then ``detail``) and count it; at
    HEALTH_WATCHDOG_FAILURES in a row (default 3; 0: never), kill the server
    when it is the watchdog's to kill. 1, the probe's exit code."""
    limit = int(os.environ.get("HEALTH_WATCHDOG_FAILURES", "3"))
    failures = count_failure()
    # Flushed: killing the server ends the container, and this process with
    # it, before a buffered line would reach Docker's health log.
    print(f"{what} ({failures} in a row){detail}", flush=True)
    if limit and failures >= limit and escalates():
        for pid in server_pids():
            print(f"watchdog: killing hung server process {pid}", flush=True)
            os.kill(pid, signal.SIGKILL)
        COUNTER.unlink(missing_ok=True)
    return 1


def main() -> int:
    port = int(os.environ.get("HEALTH_PORT") or os.environ.get("PORT") or "8000")
    path = os.environ.get("HEALTH_PATH") or "/health"
    status = answer(port, path)
    if status == 200:
        return passed()
    # The status, when there was one: slipway tells a wrong path from a slow start by it.
    said = f": it answered {status}" if status is not None else ""
    return failed(f"{path} did not answer 200", said)


if __name__ == "__main__":
    sys.exit(main())
