"""`invoke dev`: live code sync into the dev target, as a user whose files stay yours."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from python_on_whales import Container, docker

from slipway.build.images import dev_ids
from tests.docker.conftest import Project, free_port, http

pytestmark = pytest.mark.docker

HEALTH = Path("service/src/notes_service/routes/health.py")
APP = Path("service/src/notes_service/app.py")
EARLY = "edited-before-the-watch"


def wait_for(url: str, predicate: object, timeout: float) -> float:
    """Seconds until GET url answers 200 with a body for which predicate holds."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            status, body = http("GET", url)
            if status == 200 and callable(predicate) and predicate(body):
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.05)
    pytest.fail(f"{url} did not answer as expected within {timeout}s")


class Output:
    """Collects a background process's output lines as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        self.thread = threading.Thread(target=self.lines.extend, args=(process.stdout,))
        self.thread.start()

    def wait_for(self, text: str, timeout: float) -> None:
        start = time.monotonic()
        while not any(text in line for line in self.lines):
            if time.monotonic() - start > timeout:
                pytest.fail(f"no {text!r} within {timeout}s:\n{''.join(self.lines)}")
            time.sleep(0.1)


@dataclass(frozen=True)
class DevStack:
    process: subprocess.Popen[str]
    output: Output
    port: int


@pytest.fixture(scope="module")
def dev_stack(project: Project) -> Iterator[DevStack]:
    uid, gid = dev_ids()
    if os.getuid() == 0:
        # As root, the dev user is uid 1000: let the checkout's bind-mounted
        # tests folder belong to it, as a non-root user's checkout would.
        for path in [project.root / "service/tests", *(project.root / "service/tests").rglob("*")]:
            os.chown(path, uid, gid)
    port = free_port()
    process = project.popen("dev", APP_PORT=str(port))
    output = Output(process)
    app_py = project.root / APP
    original = app_py.read_text()
    try:
        # An edit saved after the stack is healthy and before compose watch
        # has started: test_edit_saved_before_the_watch_started_is_served.
        output.wait_for("is healthy at", 300)
        app_py.write_text(original.replace("version=__version__", f'version="{EARLY}"'))
        # compose watch reports this once its file watchers are set up.
        output.wait_for("Watch enabled", 300)
        yield DevStack(process, output, port)
    finally:
        app_py.write_text(original)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
        output.thread.join(timeout=10)
        project.invoke("down", "--env", "dev")


def test_edit_saved_before_the_watch_started_is_served(
    project: Project, dev_stack: DevStack
) -> None:
    url = f"http://127.0.0.1:{dev_stack.port}/openapi.json"
    wait_for(url, lambda body: body["info"]["version"] == EARLY, 60)
    assert any("synced " in line and "file(s) once" in line for line in dev_stack.output.lines)
    app_py = project.root / APP
    app_py.write_text(app_py.read_text().replace(f'version="{EARLY}"', "version=__version__"))
    wait_for(url, lambda body: body["info"]["version"] != EARLY, 60)


def test_source_edit_is_served_without_a_rebuild(project: Project, dev_stack: DevStack) -> None:
    port = dev_stack.port
    source = project.root / HEALTH
    original = source.read_text()
    edited = original.replace(
        'return JSONResponse({"status": "ok"})',
        'return JSONResponse({"status": "ok", "edited": True})',
    )
    assert edited != original
    source.write_text(edited)
    try:
        seconds = wait_for(
            f"http://127.0.0.1:{port}/health", lambda body: body.get("edited") is True, 60
        )
        print(f"write-to-new-response: {seconds:.2f}s")  # noqa: T201 (figure for the record)
    finally:
        source.write_text(original)
    wait_for(f"http://127.0.0.1:{port}/health", lambda body: "edited" not in body, 60)


@pytest.mark.usefixtures("dev_stack")
def test_dev_container_runs_as_the_dev_user_and_its_files_stay_yours(project: Project) -> None:
    uid, _ = dev_ids()
    assert project.ok("exec", "--", "id", "-u").strip() == str(uid)
    assert uid != 0

    project.ok("exec", "--", "touch", "/app/service/tests/made-in-container.txt")
    made = project.root / "service/tests/made-in-container.txt"
    assert made.stat().st_uid == uid
    made.unlink()


@pytest.mark.usefixtures("dev_stack")
def test_uv_sync_works_inside_the_dev_container(project: Project) -> None:
    result = project.invoke("exec", "--", "uv", "sync", "--locked", "--package", "notes-service")
    assert result.returncode == 0, result.stdout + result.stderr
    installed = project.ok("exec", "--", "uv", "pip", "list")
    assert "pytest" in installed
    assert "ruff" in installed


def test_dev_and_prod_run_side_by_side(project: Project, dev_stack: DevStack) -> None:
    dev_port = dev_stack.port
    project.ok("deploy")
    assert http("GET", f"{project.url}/health") == (200, {"status": "ok"})
    assert http("GET", f"http://127.0.0.1:{dev_port}/health")[0] == 200
    assert dev_port != project.port
    assert docker.volume.exists(f"{project.name}-dev_app-data")
    assert docker.volume.exists(f"{project.name}-prod_app-data")
    names = {c.name for c in docker.container.list() if c.name.startswith(project.name)}
    assert {f"{project.name}-dev-proxy-1", f"{project.name}-prod-proxy-1"} <= names
    assert any(name.startswith(f"{project.name}-dev-app-") for name in names)
    assert any(name.startswith(f"{project.name}-prod-app-") for name in names)


def test_dependency_file_change_rebuilds_the_dev_image(
    project: Project, dev_stack: DevStack
) -> None:
    container = app_container(project)
    assert container is not None
    started_at = container.state.started_at  # attribute access re-inspects: read once
    pyproject = project.root / "service/pyproject.toml"
    original = pyproject.read_text()
    # A change compose watch must act on, that keeps uv.lock valid.
    pyproject.write_text(original + "\n# touched by the dev-loop test\n")
    try:
        dev_stack.output.wait_for("Rebuilding service", 60)
        start = time.monotonic()
        while time.monotonic() - start < 240:
            now = app_container(project)
            if now is not None and (now.id != container.id or now.state.started_at != started_at):
                break
            time.sleep(1)
        else:
            pytest.fail("the app container was not replaced after the rebuild")
        wait_for(
            f"http://127.0.0.1:{dev_stack.port}/health", lambda body: body == {"status": "ok"}, 120
        )
    finally:
        pyproject.write_text(original)


def app_container(project: Project) -> Container | None:
    """The dev app container; None while compose replaces it."""
    containers = docker.container.list(
        filters=[
            ("label", f"com.docker.compose.project={project.name}-dev"),
            ("label", "com.docker.compose.service=app"),
        ]
    )
    return containers[0] if containers else None


def _watches(project: Project) -> list[str]:
    """The `docker compose watch` processes of the project's dev stack."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:  # it ended meanwhile
            continue
        if b"watch" in argv and any(project.name.encode() in arg for arg in argv):
            found.append(b" ".join(argv).decode(errors="replace"))
    return found


def test_ctrl_c_stops_the_watch_cleanly(project: Project, dev_stack: DevStack) -> None:
    process, port = dev_stack.process, dev_stack.port
    assert _watches(project), "compose watch should run while invoke dev does"
    # To slipway alone (`kill -INT`): compose watch, its child, must stop too.
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    dev_stack.output.thread.join(timeout=10)
    out = "".join(dev_stack.output.lines)
    assert process.returncode == 0, out
    assert "watch stopped" in out
    assert "Traceback" not in out
    assert _watches(project) == []
    # The stack itself keeps serving until `invoke down --env dev`.
    assert http("GET", f"http://127.0.0.1:{port}/health")[0] == 200
    project.ok("down", "--env", "dev")
    assert not [c for c in docker.container.list() if c.name.startswith(f"{project.name}-dev")]
