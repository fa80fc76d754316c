"""Nox sessions: thin adapters over slipway's checks (see README).

A bare `nox` runs every session below; `make test` is that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

import nox

from slipway import config, engine, images, sizes, testrun
from slipway.checks import (
    NON_ROOT_TARGETS,
    CheckResult,
    compose_files_valid,
    non_root_images,
    verdict,
)
from slipway.config import Target
from slipway.errors import SlipwayError
from slipway.policy import for_environments as policy_checks
from slipway.tables import results_table, size_table

# python-on-whales logs every docker command at DEBUG; nox would show them all.
logging.getLogger("python_on_whales").setLevel(logging.WARNING)

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "tests", "docker_tests", "image_size", "non_root", "policy"]
nox.options.error_on_external_run = True

T = TypeVar("T")


def _sync(session: nox.Session) -> None:
    """The locked host tooling (root dev group) plus the service, in the session's venv."""
    session.run_install("uv", "sync", "--locked", "--all-packages", "--group", "dev")


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


def _built(session: nox.Session, cfg: config.Config, targets: Iterable[Target]) -> images.Built:
    """Build what a check takes, first, and say so: checks build nothing."""
    names = ", ".join(t.value for t in Target if t in targets)
    session.log(f"building the base stage and {names} (BuildKit's cache makes this quick) ...")
    return _call(session, lambda: images.build_for_checks(engine.client(cfg), cfg, targets))


@nox.session
def lint(session: nox.Session) -> None:
    """Run ruff, mypy --strict, hadolint and `docker compose config`."""
    _sync(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("hadolint", "docker/Dockerfile")
    _verdict(session, _call(session, lambda: compose_files_valid(config.load())))


@nox.session
def tests(session: nox.Session) -> None:
    """Run slipway's and the service's unit tests on the host (no engine)."""
    _sync(session)
    session.run("pytest", "tests/unit", *session.posargs)
    session.run("pytest", "service/tests")


@nox.session
def docker_tests(session: nox.Session) -> None:
    """Run the service's tests in the test image, then tests/docker."""
    cfg = _call(session, config.load)
    run = _call(
        session,
        lambda: testrun.run_in_image(engine.client(cfg), cfg, Path("reports"), report=print),
    )
    session.log(f"reports: {run.junit}, {run.coverage}")
    _sync(session)
    session.run("pytest", "-m", "docker", "tests/docker", *session.posargs)


@nox.session(venv_backend="none")
def image_size(session: nox.Session) -> None:
    """Fail when an image exceeds its size budget in slipway.yaml."""
    cfg = _call(session, config.load)
    built = _built(session, cfg, sizes.budgeted(cfg))
    rows = _call(session, lambda: sizes.size_rows(engine.client(cfg), cfg, built))
    session.log("\n" + size_table(rows))
    _call(session, lambda: verdict([row.check for row in rows]))


@nox.session(venv_backend="none")
def non_root(session: nox.Session) -> None:
    """Fail unless the prod and dev images run as a non-root user."""
    cfg = _call(session, config.load)
    built = _built(session, cfg, NON_ROOT_TARGETS)
    _verdict(session, _call(session, lambda: non_root_images(engine.client(cfg), cfg, built)))


@nox.session(venv_backend="none")
def policy(session: nox.Session) -> None:
    """Fail when a prod service breaks the hardening policy (compose config)."""
    _verdict(session, _call(session, lambda: policy_checks(config.load())))
