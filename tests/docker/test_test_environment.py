"""`nox -s docker_tests` inside the test environment (compose/test.yaml): the
reference service's tests against a real PostgreSQL 17, the test container's
own exit code, and nothing left on the engine: not after a pass, a failure,
nor a runner killed mid-run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from python_on_whales import docker

from slipway import config, engine
from slipway.build import testenv
from slipway.errors import CheckFailed
from tests.docker.conftest import Project, git, make_project

pytestmark = pytest.mark.docker

# A test the test folder decides: held (for the runner to be killed), failing,
# or passing, as files in the reports folder (mounted at /reports) say.
HOOKS = '''"""Held or failing as the reports folder says: for slipway's own tests."""

import time
from pathlib import Path


def test_held_or_failing_as_the_reports_folder_says() -> None:
    if Path("/reports/hold").exists():
        time.sleep(120)
    assert not Path("/reports/fail").exists(), "failing on purpose"
'''
RUNNER = (
    "import sys; from pathlib import Path; from slipway import config, engine; "
    "from slipway.build import testenv; cfg = config.load(Path(sys.argv[1])); "
    "testenv.run_in_environment(engine.client(cfg), cfg, Path(sys.argv[2]), report=print)"
)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    copy = make_project(tmp_path_factory.mktemp("test-environment"))
    (copy.root / "service/tests/test_zz_hooks.py").write_text(HOOKS)
    git(copy.root, "add", "-A")
    git(copy.root, "commit", "-qm", "a test the reports folder holds or fails")
    yield copy
    cfg = config.load(copy.root / "slipway.yaml")
    for name in testenv.leftovers(docker, cfg):
        testenv.remove(cfg, name)


def left(project: Project) -> set[str]:
    """The test runs whose containers, networks or volumes are on the engine."""
    return testenv.leftovers(docker, config.load(project.root / "slipway.yaml"))


def test_a_killed_run_is_cleaned_by_the_next_which_passes_against_postgresql_and_redis(
    checkout: Project,
) -> None:
    reports = checkout.root / "reports"
    reports.mkdir()
    (reports / "hold").touch()
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(checkout.root / "slipway.yaml"), str(reports)],
        cwd=checkout.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not docker.container.list(filters=[("label", "slipway.test-run")]):
            assert runner.poll() is None, "the runner ended before its tests ran"
            assert time.monotonic() < deadline, "the tests container never started"
            time.sleep(0.5)
        time.sleep(2)
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait(30)
    (killed,) = left(checkout)
    assert killed.startswith(f"{checkout.name}-tests-")
    (reports / "hold").unlink()

    cfg = config.load(checkout.root / "slipway.yaml")
    seen: list[str] = []
    run = testenv.run_in_environment(docker, cfg, reports, report=seen.append)
    output = "\n".join(seen)
    assert f"removed what an earlier test run left: {killed}" in output
    assert "test_on_postgres.py ..." in output
    assert "test_on_redis.py .." in output
    assert " deselected" not in output
    assert run.junit.is_file()
    junit = run.junit.read_text()
    assert 'skipped="0"' in junit
    assert "test_the_fence_refuses_an_older_token_on_postgresql" in junit
    assert left(checkout) == set()
    assert engine.tests_client(cfg, killed).compose.ps(all=True) == []


def test_a_failing_test_fails_the_run_and_leaves_nothing(checkout: Project) -> None:
    reports = checkout.root / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "fail").touch()
    cfg = config.load(checkout.root / "slipway.yaml")
    seen: list[str] = []
    try:
        with pytest.raises(CheckFailed, match=r"tests failed inside .*\(pytest exit code 1\)"):
            testenv.run_in_environment(docker, cfg, reports, report=seen.append)
    finally:
        (reports / "fail").unlink()
    output = "\n".join(seen)
    assert "failing on purpose" in output
    assert "1 failed" in output
    assert left(checkout) == set()
