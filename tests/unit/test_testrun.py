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
from slipway.errors import CheckFailed

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
    """docker.run(stream=True): yields the container's output, then maybe fails."""

    def __init__(self, output: list[bytes], error: DockerException | None = None) -> None:
        self.output, self.error = output, error

    def run(self, _image: str, _command: list[str], **_options: Any) -> Iterator[tuple[str, bytes]]:
        return self._stream()

    def _stream(self) -> Iterator[tuple[str, bytes]]:
        for chunk in self.output:
            yield "stdout", chunk
        if self.error is not None:
            raise self.error


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
def test_a_project_with_no_tests_yet_passes_and_says_none_ran(
    config: Config, tmp_path: Path
) -> None:
    error = DockerException(["docker", "run"], 5, stderr=b"")
    fake = _FakeRun([b"collected 0 items\n", b"no tests ran in 0.05s\n"], error)
    seen: list[str] = []

    testrun.run_in_image(fake, config, tmp_path, report=seen.append)  # type: ignore[arg-type]

    assert seen[-1] == "no tests ran: pytest collected none in slipway/notes:test"


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
