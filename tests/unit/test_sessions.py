"""slipway.cli.sessions: what the `tests` and `docker_tests` nox sessions run,
and that nothing to run is a skip with its reason, never a pass.

The sessions are called with a stand-in for nox's Session that records what
they log, warn and run; its skip and error raise as nox's do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from slipway.build import testrun
from slipway.cli import sessions
from slipway.config import Config, load
from slipway.errors import CheckFailed

WriteConfig = Callable[[object], Path]


class Skipped(Exception):
    """nox's session.skip: the session ends, reported as skipped with the reason."""


class Failed(Exception):
    """nox's session.error: the session ends, reported as failed with the line."""


class FakeSession:
    def __init__(self) -> None:
        self.posargs: list[str] = []
        self.logs: list[str] = []
        self.warnings: list[str] = []
        self.runs: list[tuple[str, ...]] = []

    def log(self, message: str) -> None:
        self.logs.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def skip(self, reason: str) -> None:
        raise Skipped(reason)

    def error(self, message: str) -> None:
        raise Failed(message)

    def run(self, *args: str, **_options: Any) -> None:
        self.runs.append(args)

    def run_install(self, *args: str, **_options: Any) -> None:
        self.runs.append(args)


Loaded = Callable[..., Config]


@pytest.fixture
def loaded(
    monkeypatch: pytest.MonkeyPatch,
    write_config: WriteConfig,
    config_data: dict[str, Any],
    project_root: Path,
) -> Loaded:
    """The project's slipway.yaml with ``tests:`` as given (and these folders),
    as the sessions load it."""

    def make(tests: dict[str, list[str]] | None = None, folders: tuple[str, ...] = ()) -> Config:
        for folder in folders:
            (project_root / folder).mkdir(parents=True, exist_ok=True)
        cfg = load(write_config({**config_data, **({"tests": tests} if tests is not None else {})}))
        monkeypatch.setattr(sessions, "load", lambda: cfg)
        return cfg

    return make


def _in_image(
    monkeypatch: pytest.MonkeyPatch, *, collected_none: bool = False, error: Exception | None = None
) -> None:
    """The in-image run, as run_in_image ends; no engine."""

    def run_in_image(_docker: Any, _cfg: Config, reports: Path, **_options: Any) -> testrun.TestRun:
        if error is not None:
            raise error
        return testrun.TestRun(
            "slipway/notes:test", reports / "junit.xml", reports / "coverage.xml", collected_none
        )

    monkeypatch.setattr(sessions.engine, "client", lambda _cfg: object())
    monkeypatch.setattr(sessions.testrun, "run_in_image", run_in_image)


def _ended(session_function: Any, how: type[Exception]) -> tuple[str, FakeSession]:
    """Run a session that ends by ``how`` (Skipped, Failed): its reason, and what it did."""
    session = FakeSession()
    with pytest.raises(how) as ended:
        session_function(session)
    return str(ended.value), session


SYNC = ("uv", "sync", "--locked", "--all-packages", "--all-groups")


# --- tests --------------------------------------------------------------------


def test_tests_runs_pytest_on_each_unit_path(loaded: Loaded) -> None:
    cfg = loaded({"unit": ["tests/unit", "service/tests"]}, ("tests/unit", "service/tests"))
    session = FakeSession()

    sessions.tests(session)

    assert session.runs == [
        SYNC,
        ("pytest", str(cfg.root / "tests/unit")),
        ("pytest", str(cfg.root / "service/tests")),
    ]


def test_tests_runs_the_default_tests_folder(loaded: Loaded) -> None:
    cfg = loaded(folders=("tests",))
    session = FakeSession()

    sessions.tests(session)

    assert session.runs == [SYNC, ("pytest", str(cfg.root / "tests"))]


@pytest.mark.parametrize(
    "tests", [{"unit": []}, None], ids=["tests.unit empty", "unset, and no tests/ folder"]
)
def test_tests_with_no_unit_path_is_skipped_naming_the_key(
    loaded: Loaded, tests: dict[str, list[str]] | None
) -> None:
    loaded(tests)

    reason, session = _ended(sessions.tests, Skipped)

    assert reason == (
        "nothing to run: slipway.yaml's tests.unit lists no test path "
        "(unset, it is tests/ when that folder exists)"
    )
    assert session.runs == []  # not even the sync: nothing ran, nothing passed


# --- docker_tests ---------------------------------------------------------------


def test_docker_tests_runs_the_image_then_the_engine_tests(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = loaded({"engine": ["tests/docker"]}, ("tests/docker",))
    _in_image(monkeypatch)
    session = FakeSession()

    sessions.docker_tests(session)

    assert session.logs == ["reports: reports/junit.xml, reports/coverage.xml"]
    assert session.warnings == []
    assert session.runs == [SYNC, ("pytest", "-m", "docker", str(cfg.root / "tests/docker"))]


def test_docker_tests_without_engine_tests_says_that_part_was_skipped(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded()
    _in_image(monkeypatch)
    session = FakeSession()

    sessions.docker_tests(session)

    assert session.logs == ["reports: reports/junit.xml, reports/coverage.xml"]
    assert session.warnings == [
        "engine tests skipped: slipway.yaml's tests.engine lists no test path"
    ]
    assert session.runs == []


def test_docker_tests_with_no_test_in_the_image_says_that_part_was_skipped(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = loaded({"engine": ["tests/docker"]}, ("tests/docker",))
    _in_image(monkeypatch, collected_none=True)
    session = FakeSession()

    sessions.docker_tests(session)

    assert session.warnings == [
        "tests in the test image skipped: pytest collected no test in slipway/notes:test"
    ]
    assert session.logs == []  # no reports: there is nothing in them
    assert session.runs == [SYNC, ("pytest", "-m", "docker", str(cfg.root / "tests/docker"))]


def test_docker_tests_with_nothing_to_run_anywhere_is_skipped(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded()
    _in_image(monkeypatch, collected_none=True)

    reason, session = _ended(sessions.docker_tests, Skipped)

    assert reason == (
        "nothing to run: pytest collected no test in slipway/notes:test, "
        "and slipway.yaml's tests.engine lists no test path"
    )
    assert session.runs == []


def test_docker_tests_in_an_image_without_pytest_fails_with_its_one_line(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded({"engine": ["tests/docker"]}, ("tests/docker",))
    line = testrun.NO_PYTEST.format(image="slipway/notes:test")
    _in_image(monkeypatch, error=CheckFailed(line))

    reason, session = _ended(sessions.docker_tests, Failed)

    assert reason == line
    assert session.logs == []
    assert session.runs == []


def test_docker_tests_runs_the_image_inside_the_test_environment_when_there_is_one(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch, project_root: Path
) -> None:
    (project_root / "compose/test.yaml").write_text("services:\n  tests: {}\n")
    cfg = loaded()
    assert cfg.tests.compose_files == (project_root / "compose/test.yaml",)
    ran: list[Path] = []

    def run_in_environment(_docker: Any, _cfg: Config, reports: Path, **_options: Any) -> Any:
        ran.append(reports)
        return testrun.TestRun("slipway/notes:test", reports / "junit.xml", reports / "c.xml")

    _in_image(monkeypatch, error=AssertionError("not alone: inside the test environment"))
    monkeypatch.setattr(sessions.testenv, "run_in_environment", run_in_environment)

    sessions.docker_tests(FakeSession())

    assert ran == [Path("reports")]
