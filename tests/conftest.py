"""Engine tests run only where an engine answers, or when asked for by marker.

A bare `pytest` on a machine without a Docker engine deselects the tests
marked `docker` and says how to run them; `pytest -m docker` (what
`nox -s docker_tests` runs) always runs them, so CI never skips one.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest


def _engine_answers() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        done = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("markexpr") or not any(i.get_closest_marker("docker") for i in items):
        return
    if _engine_answers():
        return
    engine_tests = [i for i in items if i.get_closest_marker("docker")]
    items[:] = [i for i in items if not i.get_closest_marker("docker")]
    config.hook.pytest_deselected(items=engine_tests)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"{len(engine_tests)} engine tests deselected: no Docker engine answers here. "
            "Start one and run `pytest -m docker tests/docker` (or `nox -s docker_tests`)."
        )
