"""The health probe of a role with no HTTP port (a worker): its heartbeat's
age. Ships with slipway; standard library only.

`slipway init` writes this file as docker/heartbeat.py, and the Dockerfile's
base stage copies it beside the HTTP probe, to
/usr/local/lib/slipway/heartbeat.py. slipway sets HEARTBEAT_FILE (a path on a
tmpfs) in the container of every role of the release but the web one, and
names this probe as the role's healthcheck when the compose files give it
none: a worker never inherits the web role's HTTP check.

The role's process touches HEARTBEAT_FILE from a thread apart from its work,
every few seconds. The probe is healthy while the file is younger than
HEARTBEAT_MAX_AGE seconds (default 30). Its watchdog is the HTTP probe's
(healthcheck.py, imported from beside this file): after
HEALTH_WATCHDOG_FAILURES stale probes in a row (default 3), it SIGKILLs the
process, and the restart policy starts a fresh container. So a hung worker
(frozen, or its process wedged so that no thread beats) is replaced, and a
worker busy in a long job whose thread still beats is never killed.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path
from types import ModuleType


def _beside(name: str) -> ModuleType:
    """The module in the file ``name``.py beside this one."""
    path = Path(__file__).resolve().with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The HTTP probe's counting and watchdog.
WATCHDOG = _beside("healthcheck")

DEFAULT_MAX_AGE = 30.0


def age(path: str) -> float | None:
    """Seconds since the heartbeat file was last touched; None without one."""
    try:
        return max(0.0, time.time() - Path(path).stat().st_mtime)
    except OSError:
        return None


def main() -> int:
    path = os.environ.get("HEARTBEAT_FILE") or ""
    if not path:
        # Nothing to judge by: unhealthy, never killed for slipway's omission.
        unset = "HEARTBEAT_FILE is not set: slipway sets it in a role's container"
        print(unset, flush=True)
        return 1
    limit = float(os.environ.get("HEARTBEAT_MAX_AGE") or DEFAULT_MAX_AGE)
    seconds = age(path)
    if seconds is not None and seconds < limit:
        return int(WATCHDOG.passed())
    if seconds is None:
        return int(WATCHDOG.failed(f"no heartbeat at {path} yet"))
    stale = f"the heartbeat at {path} is {seconds:.0f}s old (limit {limit:g}s)"
    return int(WATCHDOG.failed(stale))


if __name__ == "__main__":
    sys.exit(main())
