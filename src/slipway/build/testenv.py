"""The service's tests against real services: the test image run inside the
test environment (slipway.yaml's ``tests.compose_files``, compose/test.yaml
when there is one), beside the services its tests need.

Each run is a compose project of its own, ``<project>-tests-<id>``: its
dependencies start (healthy, as their ``depends_on`` conditions say) and the
``tests`` service runs pytest in a one-off container, ``compose run``, whose
exit code is the test container's own (never ``compose up
--exit-code-from``, which can report 0 for aborted tests: compose#9778).
JUnit and coverage come out to ``reports/``. Whatever the run started is
removed (``down --volumes``) when it ends: passed, failed or interrupted.
A run killed outright (SIGKILL) cannot: the next one finds its project by
name on the engine's containers, networks and volumes and removes it first.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, cast

from python_on_whales import DockerClient

from slipway import engine, state
from slipway.build import images
from slipway.build.testrun import PYTEST_ARGS, REPORTS_MOUNT, RUN_ENV, TestRun, run_as, streamed
from slipway.config import Config, Target
from slipway.engine import docker_errors
from slipway.handle import Report

# The service of the test environment that runs the test image.
SERVICE = "tests"
PROJECT_LABEL = "com.docker.compose.project"
LABELLED: list[tuple[Literal["label"], str]] = [("label", PROJECT_LABEL)]


def prefix(config: Config) -> str:
    """The start of every run's compose project name."""
    return f"{config.project}-tests-"


def leftovers(docker: DockerClient, config: Config) -> set[str]:
    """The runs whose containers, networks or volumes are still on the engine."""
    with docker_errors("listing what earlier test runs left"):
        labels = [
            *(c.config.labels for c in docker.container.list(all=True, filters=LABELLED)),
            *(n.labels for n in docker.network.list(filters=LABELLED)),
            *(v.labels for v in docker.volume.list(filters=LABELLED)),
        ]
    names = {str((found or {}).get(PROJECT_LABEL, "")) for found in labels}
    return {name for name in names if name.startswith(prefix(config))}


def remove(config: Config, name: str) -> None:
    """Remove everything of the run ``name``: containers, networks, volumes."""
    with docker_errors(f"removing the test run {name}"):
        engine.tests_client(config, name).compose.down(
            volumes=True, remove_orphans=True, timeout=0, quiet=True
        )


def run_in_environment(
    docker: DockerClient, config: Config, reports: Path, *, report: Report
) -> TestRun:
    """Build the test target and run pytest in it inside the test
    environment, its output to ``report``; as :func:`~slipway.build.testrun.run_in_image`."""
    image = images.build(docker, config, Target.TEST, report=None)
    stale = leftovers(docker, config)
    for name in sorted(stale):
        remove(config, name)
    if stale:
        report(f"removed what an earlier test run left: {', '.join(sorted(stale))}")
    tests_file = state.tests_file(config)
    tests_file.parent.mkdir(parents=True, exist_ok=True)
    tests_file.write_text(f"{state.IMAGE_KEY}={image.ref}\n")
    reports.mkdir(parents=True, exist_ok=True)
    name = f"{prefix(config)}{uuid.uuid4().hex[:8]}"
    run = TestRun(image.ref, reports / "junit.xml", reports / "coverage.xml")
    compose = engine.tests_client(config, name).compose
    try:
        return streamed(
            run,
            report,
            lambda: cast(
                "Iterable[Any]",
                compose.run(
                    SERVICE,
                    list(PYTEST_ARGS),
                    volumes=[(str(reports.resolve()), REPORTS_MOUNT)],
                    user=run_as(),
                    envs=RUN_ENV,
                    labels={"slipway.test-run": name},
                    remove=True,
                    tty=False,
                    stream=True,
                ),
            ),
            environment=True,
        )
    finally:
        remove(config, name)
