"""Running the service's tests inside the `test` image, reports to the host."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from python_on_whales import DockerClient

from slipway.build import images
from slipway.config import Config, Target
from slipway.engine import docker_errors
from slipway.errors import CheckFailed, CommandNotFound, EngineError
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


# What a test image lacks when its test stage did not install the runner.
NO_PYTEST = (
    "the test image {image} has no pytest: add pytest and pytest-cov to the dependency "
    "group the Dockerfile's test stage installs (uv add --dev pytest pytest-cov)"
)


@dataclass(frozen=True)
class TestRun:
    """Where a run's reports are; ``collected_none`` when pytest found no test
    to run (nothing failed, and nothing passed either)."""

    image: str
    junit: Path
    coverage: Path
    collected_none: bool = False


class _Output:
    """The container's output for ``report``, line by line. Its stderr is held
    until it first prints on stdout: a container that never started leaves
    only docker's own words there, which its one-line error replaces."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.held: list[str] = []
        self.started = False

    def add(self, source: str, chunk: bytes) -> None:
        line = chunk.decode(errors="replace").rstrip("\n")
        if source == "stderr" and not self.started:
            self.held.append(line)
            return
        self.started = True
        self.flush()
        self.report(line)

    def flush(self) -> None:
        for line in self.held:
            self.report(line)
        self.held.clear()


def run_in_image(docker: DockerClient, config: Config, reports: Path, *, report: Report) -> TestRun:
    """Build the test target and run pytest in it; its output goes to ``report``.

    JUnit XML and coverage land in ``reports``. A failing test raises
    CheckFailed after the container's output has been reported; so does an
    image without pytest, in one line saying what to add. When pytest
    collects no test, the run says so (``collected_none``): nothing passed.
    """
    image = images.build(docker, config, Target.TEST, report=None)
    reports.mkdir(parents=True, exist_ok=True)
    run = TestRun(image.ref, reports / "junit.xml", reports / "coverage.xml")
    return streamed(
        run,
        report,
        lambda: docker.run(
            image.id,
            list(PYTEST_ARGS),
            volumes=[(str(reports.resolve()), REPORTS_MOUNT)],
            user=run_as(),
            envs=RUN_ENV,
            remove=True,
            pull="never",
            stream=True,
        ),
    )


def run_as() -> str:
    """The test container's user: reports on the host belong to the user who ran the tests."""
    return f"{os.getuid()}:{os.getgid()}"


# Coverage's data file beside the reports; a home for a uid that may have none.
RUN_ENV = {"COVERAGE_FILE": f"{REPORTS_MOUNT}/.coverage", "HOME": "/tmp"}  # noqa: S108


def streamed(
    run: TestRun,
    report: Report,
    chunks: Callable[[], Iterable[Any]],
    *,
    environment: bool = False,
) -> TestRun:
    """The run, its container's output (``chunks``: docker's stream of
    (source, bytes)) passed to ``report`` as it comes; CheckFailed when a
    test failed, the image has no pytest or (``environment``: started by
    `compose run`) the services the tests need did not start; ``collected_none``
    when pytest found nothing to run."""
    output = _Output(report)
    try:
        with docker_errors(f"running tests in {run.image}"):
            for source, chunk in chunks():
                output.add(source, chunk)
    except EngineError as exc:
        # pytest's own exit codes are 1-5; docker's (125-127) mean it never ran.
        if exc.return_code > NO_TESTS:
            if isinstance(exc, CommandNotFound):
                raise CheckFailed(NO_PYTEST.format(image=run.image)) from None
            output.flush()
            raise
        if environment and not output.started and output.held and exc.return_code == 1:
            # Nothing on stdout and compose's own failure: the tests never ran
            # (the test environment's services did not start); its last word says why.
            raise CheckFailed(
                f"the tests in {run.image} never ran: {output.held[-1].strip()}",
            ) from None
        output.flush()
        if exc.return_code == NO_TESTS:
            return replace(run, collected_none=True)
        raise CheckFailed(
            f"tests failed inside {run.image} (pytest exit code {exc.return_code}); "
            f"see the output above and {run.junit}"
        ) from None
    output.flush()
    return run
