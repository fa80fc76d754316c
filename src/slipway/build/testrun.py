"""Running the service's tests inside the `test` image, reports to the host."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from python_on_whales import DockerClient

from slipway.build import images
from slipway.config import Config, Target
from slipway.engine import docker_errors
from slipway.errors import CheckFailed, EngineError
from slipway.handle import Report

# pytest's exit code when it collected no test at all.
NO_TESTS = 5
# Where the reports folder is mounted in the test container.
REPORTS_MOUNT = "/reports"
PYTEST_ARGS = (
    "pytest",
    "-p",
    "no:cacheprovider",
    f"--junitxml={REPORTS_MOUNT}/junit.xml",
    "--cov",
    f"--cov-report=xml:{REPORTS_MOUNT}/coverage.xml",
    "--cov-report=term",
)


@dataclass(frozen=True)
class TestRun:
    image: str
    junit: Path
    coverage: Path


def run_in_image(docker: DockerClient, config: Config, reports: Path, *, report: Report) -> TestRun:
    """Build the test target and run pytest in it; its output goes to ``report``.

    JUnit XML and coverage land in ``reports``. A failing test raises
    CheckFailed after the container's output has been reported.
    """
    image = images.build(docker, config, Target.TEST, report=None)
    reports.mkdir(parents=True, exist_ok=True)
    try:
        with docker_errors(f"running tests in {image.ref}"):
            for _source, chunk in docker.run(
                image.id,
                list(PYTEST_ARGS),
                volumes=[(str(reports.resolve()), REPORTS_MOUNT)],
                # Reports on the host belong to the user who ran the tests.
                user=f"{os.getuid()}:{os.getgid()}",
                envs={"COVERAGE_FILE": f"{REPORTS_MOUNT}/.coverage", "HOME": "/tmp"},  # noqa: S108 (uid may have no home)
                remove=True,
                pull="never",
                stream=True,
            ):
                report(chunk.decode(errors="replace").rstrip("\n"))
    except EngineError as exc:
        # pytest's own exit codes are 1-5; docker's (125-127) mean it never ran.
        if exc.return_code > NO_TESTS:
            raise
        if exc.return_code == NO_TESTS:
            # A project with no tests yet: nothing failed, and the user is told.
            report(f"no tests ran: pytest collected none in {image.ref}")
            return TestRun(image.ref, reports / "junit.xml", reports / "coverage.xml")
        raise CheckFailed(
            f"tests failed inside {image.ref} (pytest exit code {exc.return_code}); "
            f"see the output above and {reports / 'junit.xml'}"
        ) from None
    return TestRun(image.ref, reports / "junit.xml", reports / "coverage.xml")
