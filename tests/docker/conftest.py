"""Fixtures for tests that build real images and run real containers.

Each test session works on a copy of the repository (the files git tracks or
would track) whose slipway.yaml names its own compose project and image, and
whose stack listens on a free port, so a developer's own stack is never
touched. Images are built once per session; BuildKit's cache makes the copy's
builds as quick as the original's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from python_on_whales import Container, docker

from bench.traffic import Traffic
from bench.workspace import free_port

ROOT = Path(__file__).resolve().parents[2]

# A Python started with SIGINT ignored (a shell's background job) keeps it
# ignored, and so does every `invoke` these tests start: a test's Ctrl-C
# would do nothing. Handle it as Python does when started from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
# The service's liveness route: a change here makes a release (un)healthy.
HEALTH = Path("service/src/notes_service/routes/health.py")


@dataclass(frozen=True)
class Project:
    """A throw-away copy of the repository, driven through its real CLI."""

    root: Path
    name: str
    image: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "APP_PORT": str(self.port), **extra}

    def invoke(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Run `invoke ARGS` in the copy, as a user would, capturing its output."""
        return self.run("invoke", *args, **extra_env)

    def run(self, tool: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Run `python -m TOOL ARGS` (invoke, nox) in the copy, capturing its output."""
        return subprocess.run(
            [sys.executable, "-m", tool, *args],
            cwd=self.root,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    def popen(self, *args: str, **extra_env: str) -> subprocess.Popen[str]:
        """Start `invoke ARGS` in the background (stdout and stderr merged)."""
        return subprocess.Popen(
            [sys.executable, "-m", "invoke", *args],
            cwd=self.root,
            env=self.env(**extra_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def ok(self, *args: str, **extra_env: str) -> str:
        """Run invoke and insist it succeeds; return its stdout."""
        result = self.invoke(*args, **extra_env)
        assert result.returncode == 0, f"invoke {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout


def app_containers(project: Project, env: str = "prod") -> list[Container]:
    """The environment's running app containers (one per replica), by name."""
    containers = docker.container.list(
        filters=[
            ("label", f"com.docker.compose.project={project.name}-{env}"),
            ("label", "com.docker.compose.service=app"),
        ]
    )
    return sorted(containers, key=lambda c: c.name)


def same_note(answer: tuple[int, Any], note: Mapping[str, Any]) -> bool:
    """Whether a GET answered 200 with ``note`` as it was posted (the
    worker's word count, filled in later, aside)."""
    status, body = answer
    posted = {k: v for k, v in note.items() if k != "word_count"}
    return status == 200 and {k: body.get(k) for k in posted} == posted


def http(
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    context: ssl.SSLContext | None = None,
) -> tuple[int, Any]:
    """One real HTTP request (HTTPS verified by ``context``); returns the
    status and the decoded JSON body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 (loopback URL built by the test)
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body or b"null")
        except ValueError:  # the proxy's own error pages are HTML
            return exc.code, body.decode(errors="replace")


def counted(project: Project, note_id: int, limit: float = 30) -> int:
    """The note's word count once the worker has written it."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        status, body = http("GET", f"{project.url}/notes/{note_id}")
        assert status == 200, body
        if body["word_count"] is not None:
            return int(body["word_count"])
        time.sleep(0.5)
    pytest.fail(f"note {note_id} was not counted within {limit}s")


def assert_no_request_failed(load: Traffic, context: ssl.SSLContext | None = None) -> None:
    """0 failed requests, and every acknowledged POST readable afterwards
    (where the load ran: over HTTPS when it did, verified by ``context``)."""
    print(f"under load: {load.summary()}")  # noqa: T201 (the figures for the record)
    assert len(load.outcomes) > 500
    assert {o.method for o in load.outcomes} == {"GET", "POST"}
    assert not load.failed, load.summary()
    for note in load.acknowledged:
        assert same_note(http("GET", f"{load.url}/notes/{note['id']}", context=context), note)


def copy_repository(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def git(root: Path, *args: str) -> None:
    identity = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@localhost",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@localhost",
    }
    subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, env={**os.environ, **identity}
    )


def commit_change(project: Project, path: Path, text: str, message: str) -> None:
    """Write ``path`` (relative to the copy) and commit it: the next build is a new release."""
    (project.root / path).write_text(text)
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", message)


@contextmanager
def unhealthy_release(project: Project) -> Iterator[None]:
    """Inside the block, HEAD is a release whose /health answers 503 (a real
    code change, committed); after it, a commit puts the healthy route back."""
    original = (project.root / HEALTH).read_text()
    broken = original.replace(
        'return JSONResponse({"status": "ok"})',
        'return JSONResponse({"status": "broken"}, status_code=503)',
    )
    assert broken != original, f"{HEALTH} no longer has the line this breaks"
    commit_change(project, HEALTH, broken, "a release whose /health fails")
    try:
        yield
    finally:
        commit_change(project, HEALTH, original, "fix /health")


def make_project(root: Path, **overrides: Any) -> Project:
    """Copy the repository into ``root`` as a fresh git checkout of its own,
    with its own compose project name and test image repository."""
    copy_repository(root)
    settings = yaml.safe_load((root / "slipway.yaml").read_text())
    settings["project"] = f"slipway-test-{uuid.uuid4().hex[:6]}"
    settings["image"] = TEST_IMAGES
    settings.update(overrides)
    (root / "slipway.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "copy")
    return Project(root, settings["project"], settings["image"], free_port())


def remove_project(copy: Project) -> None:
    settings = yaml.safe_load((copy.root / "slipway.yaml").read_text())
    for env in settings["environments"]:
        copy.invoke("down", "--env", env, "--volumes")


TEST_IMAGES = "slipway-test/notes"


def _dangling() -> set[str]:
    return {image.id for image in docker.image.list(filters=[("dangling", "true")])}


@pytest.fixture(scope="session", autouse=True)
def _remove_test_images() -> Iterator[None]:
    """Every image the session's tests built (slipway-test/...) goes when it
    ends, and so does every image their builds left untagged (a `:prod` or
    `:dev` tag moved to a newer build): only those, not the ones there before."""
    before = _dangling()
    yield
    # By tag, not by id: an image also tagged otherwise (the checkout's own
    # slipway/notes:test shares the test stage's) keeps its other tags.
    tags = [
        tag
        for image in docker.image.list()
        for tag in image.repo_tags
        if tag.startswith("slipway-test/")
    ]
    if tags:
        docker.image.remove(tags, force=True)
    left = sorted(_dangling() - before)
    if left:
        docker.image.remove(left, force=True)


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    copy = make_project(tmp_path_factory.mktemp("project"))
    yield copy
    remove_project(copy)


@pytest.fixture(scope="session")
def pg_project(project: Project) -> Project:
    """The same copy driving prod-pg (PostgreSQL) on a port of its own, deployed.

    prod-pg runs beside prod, so it needs another APP_PORT; every invoke
    through this Project passes it. The `project` fixture takes it down.
    """
    copy = Project(project.root, project.name, project.image, free_port())
    copy.ok("deploy", "--env", "prod-pg")
    return copy
