"""slipway.build.testrun: pytest inside the test image, its output and reports on the host."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from python_on_whales.exceptions import DockerException

from slipway.build import testrun
from slipway.build.images import BuiltImage
from slipway.config import Config, Target
from slipway.errors import CheckFailed, EngineError

MakeImage = Callable[..., BuiltImage]


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch, make_image: MakeImage) -> list[Target]:
    """Replace the build with a test image; return the targets that were built."""
    targets: list[Target] = []

    def build(_docker: Any, config: Config, target: Target, **_options: Any) -> BuiltImage:
        targets.append(target)
        return make_image(ref=config.image_ref(target), image_id="sha256:7e57")

    monkeypatch.setattr(testrun.images, "build", build)
    return targets


class _FakeRun:
    """docker.run(stream=True): yields the container's output, then maybe fails.
    A bytes chunk is on stdout; a ("stderr", bytes) pair says where it is."""

    def __init__(
        self, output: list[bytes | tuple[str, bytes]], error: DockerException | None = None
    ) -> None:
        self.output, self.error = output, error

    def run(self, _image: str, _command: list[str], **_options: Any) -> Iterator[tuple[str, bytes]]:
        return self._stream()

    def _stream(self) -> Iterator[tuple[str, bytes]]:
        for chunk in self.output:
            yield chunk if isinstance(chunk, tuple) else ("stdout", chunk)
        if self.error is not None:
            raise self.error


# What docker run says when the image has no pytest on its PATH (exit code 127).
NO_PYTEST = (
    b"docker: Error response from daemon: failed to create task for container: failed to "
    b"create shim task: OCI runtime create failed: runc create failed: unable to start "
    b'container process: exec: "pytest": executable file not found in $PATH: unknown\n',
    b"\n",
    b"Run 'docker run --help' for more information\n",
)


def test_tests_run_in_the_test_image_with_reports_on_the_host(
    built: list[Target], config: Config, tmp_path: Path
) -> None:
    fake = _FakeRun([b"collected 12 items\n", b"12 passed in 0.4s\n"])
    reports = tmp_path / "reports"
    seen: list[str] = []

    run = testrun.run_in_image(fake, config, reports, report=seen.append)  # type: ignore[arg-type]

    assert built == [Target.TEST]
    assert run == testrun.TestRun(
        "slipway/notes:test", reports / "junit.xml", reports / "coverage.xml"
    )
    assert reports.is_dir()
    assert seen == ["collected 12 items", "12 passed in 0.4s"]


@pytest.mark.usefixtures("built")
def test_failing_tests_raise_check_failed_pointing_at_the_report(
    config: Config, tmp_path: Path
) -> None:
    error = DockerException(["docker", "run"], 1, stderr=b"")
    fake = _FakeRun([b"FAILED tests/test_notes.py::test_create - assert 500 == 201\n"], error)
    seen: list[str] = []

    with pytest.raises(CheckFailed) as caught:
        testrun.run_in_image(fake, config, tmp_path, report=seen.append)  # type: ignore[arg-type]

    assert str(caught.value) == (
        "tests failed inside slipway/notes:test (pytest exit code 1); "
        f"see the output above and {tmp_path / 'junit.xml'}"
    )
    assert seen == ["FAILED tests/test_notes.py::test_create - assert 500 == 201"]


@pytest.mark.usefixtures("built")
def test_a_project_with_no_tests_yet_says_none_were_collected_not_that_they_passed(
    config: Config, tmp_path: Path
) -> None:
    error = DockerException(["docker", "run"], 5, stderr=b"")
    fake = _FakeRun([b"collected 0 items\n", b"no tests ran in 0.05s\n"], error)
    seen: list[str] = []

    run = testrun.run_in_image(fake, config, tmp_path, report=seen.append)  # type: ignore[arg-type]

    assert run.collected_none
    assert seen == ["collected 0 items", "no tests ran in 0.05s"]


@pytest.mark.usefixtures("built")
def test_tests_that_ran_are_not_collected_none(config: Config, tmp_path: Path) -> None:
    run = testrun.run_in_image(_FakeRun([b"1 passed\n"]), config, tmp_path, report=print)  # type: ignore[arg-type]

    assert not run.collected_none


@pytest.mark.usefixtures("built")
def test_an_image_without_pytest_is_one_line_saying_what_to_add(
    config: Config, tmp_path: Path
) -> None:
    said = b"".join(NO_PYTEST)
    error = DockerException(["docker", "run"], 127, stderr=said)
    fake = _FakeRun([("stderr", line) for line in NO_PYTEST], error)
    seen: list[str] = []

    with pytest.raises(CheckFailed) as caught:
        testrun.run_in_image(fake, config, tmp_path, report=seen.append)  # type: ignore[arg-type]

    assert str(caught.value) == (
        "the test image slipway/notes:test has no pytest: add pytest and pytest-cov to the "
        "dependency group the Dockerfile's test stage installs (uv add --dev pytest pytest-cov)"
    )
    assert "\n" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert seen == []  # docker's own words are replaced by that line, not printed above it


@pytest.mark.usefixtures("built")
def test_another_docker_failure_still_shows_what_docker_said(
    config: Config, tmp_path: Path
) -> None:
    said = b"docker: Error response from daemon: invalid mount config\n"
    fake = _FakeRun([("stderr", said)], DockerException(["docker", "run"], 125, stderr=said))
    seen: list[str] = []

    with pytest.raises(EngineError, match="invalid mount config"):
        testrun.run_in_image(fake, config, tmp_path, report=seen.append)  # type: ignore[arg-type]

    assert seen == ["docker: Error response from daemon: invalid mount config"]


@pytest.mark.usefixtures("built")
def test_a_failing_test_that_prints_dockers_words_is_a_failing_test(
    config: Config, tmp_path: Path
) -> None:
    """The words on stderr are the container's once pytest ran: its exit code says so."""
    fake = _FakeRun(
        [b"F\n", *(("stderr", line) for line in NO_PYTEST)],
        DockerException(["docker", "run"], 1, stderr=b"".join(NO_PYTEST)),
    )

    with pytest.raises(CheckFailed, match=r"pytest exit code 1"):
        testrun.run_in_image(fake, config, tmp_path, report=print)  # type: ignore[arg-type]


@pytest.mark.usefixtures("built")
def test_the_containers_stderr_is_reported_in_order(config: Config, tmp_path: Path) -> None:
    """Held until the container first prints on stdout (or ends), never lost."""
    fake = _FakeRun([("stderr", b"warning: a\n"), b"collected 1 item\n", ("stderr", b"b\n")])
    seen: list[str] = []

    testrun.run_in_image(fake, config, tmp_path, report=seen.append)  # type: ignore[arg-type]

    assert seen == ["warning: a", "collected 1 item", "b"]


@pytest.mark.usefixtures("built")
def test_stderr_alone_is_reported_when_the_run_ends(config: Config, tmp_path: Path) -> None:
    error = DockerException(["docker", "run"], 4, stderr=b"error: unrecognized arguments: --cov\n")
    fake = _FakeRun([("stderr", b"error: unrecognized arguments: --cov\n")], error)
    seen: list[str] = []

    with pytest.raises(CheckFailed, match=r"pytest exit code 4"):
        testrun.run_in_image(fake, config, tmp_path, report=seen.append)  # type: ignore[arg-type]

    assert seen == ["error: unrecognized arguments: --cov"]


@pytest.mark.usefixtures("built")
def test_undecodable_output_is_still_reported(config: Config, tmp_path: Path) -> None:
    seen: list[str] = []

    testrun.run_in_image(
        _FakeRun([b"caf\xe9\n"]),  # type: ignore[arg-type]
        config,
        tmp_path,
        report=seen.append,
    )

    assert seen == ["caf\ufffd"]


def test_pytest_args_write_junit_and_coverage_into_the_mount() -> None:
    assert testrun.REPORTS_MOUNT == "/reports"
    assert "--junitxml=/reports/junit.xml" in testrun.PYTEST_ARGS
    assert "--cov-report=xml:/reports/coverage.xml" in testrun.PYTEST_ARGS


def test_a_test_environment_whose_services_never_started_says_so_not_tests_failed(
    tmp_path: Path,
) -> None:
    """`compose run` exits 1 when a dependency fails to start, before pytest
    prints a line: that is not a failing test."""
    said = b"dependency failed to start: container app-tests-1-db-1 exited (1)\n"
    fake = _FakeRun(
        [("stderr", b" Container app-tests-1-db-1  Started\n"), ("stderr", said)],
        DockerException(["docker", "compose", "run"], 1, stderr=said),
    )
    run = testrun.TestRun("app:test", tmp_path / "junit.xml", tmp_path / "coverage.xml")
    with pytest.raises(CheckFailed) as failed:
        testrun.streamed(run, print, lambda: fake.run("", []), environment=True)
    assert str(failed.value) == (
        "the tests in app:test never ran: dependency failed to start: container "
        "app-tests-1-db-1 exited (1)"
    )
