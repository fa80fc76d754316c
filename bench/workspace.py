"""A throw-away copy of the repository that the benchmarks build and deploy.

Like tests/docker/conftest.py: the files git tracks or would track, copied to
a temporary folder whose slipway.yaml names its own project (`slipway-bench`)
and image (`slipway-bench/notes`), with the stack on a free port. A user's own
stack, images and source tree are never touched; the one-line source change
of the warm rebuild happens in the copy.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.figures import BenchError, Report
from slipway import engine, state
from slipway.config import CONFIG_ENV, CONFIG_NAME, Config, Environment, load

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "slipway-bench"
IMAGE = "slipway-bench/notes"
ENVIRONMENT = "prod"
# The file the warm rebuild changes by one line, as a developer would.
EDITED = Path("service/src/notes_service/__init__.py")
# Who commits the copy (a machine may have no git identity configured).
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "slipway bench",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "slipway bench",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
}
# The console script of the environment the bench runs in.
SLIPWAY = Path(sys.executable).parent / "slipway"
# No command of a benchmark may run longer than this.
COMMAND_TIMEOUT = 900


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: Config
    port: int
    # Where the proxy publishes HTTPS when the copy's prod serves it.
    https_port: int = field(default_factory=free_port)

    @property
    def env(self) -> Environment:
        return self.config.environment(ENVIRONMENT)

    def ref(self, stage: str) -> str:
        return f"{self.config.image}:{stage}"

    def environ(self) -> dict[str, str]:
        """The caller's environment for the copy: its port, its own slipway package.

        PYTHONPATH puts the copy's src/ before the checkout's editable install,
        so the copy measures its own code; a SLIPWAY_CONFIG pointing elsewhere
        goes, and so does PYTHONDONTWRITEBYTECODE: Python caches bytecode as on
        a user's machine, or every command would compile its imports again.
        """
        dropped = {CONFIG_ENV, "PYTHONDONTWRITEBYTECODE"}
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        path = os.pathsep.join(filter(None, [str(self.root / "src"), env.get("PYTHONPATH")]))
        return {
            **env,
            "APP_PORT": str(self.port),
            "HTTPS_PORT": str(self.https_port),
            "PYTHONPATH": path,
            "PYTHONUNBUFFERED": "1",
        }

    # --- the two sides of every comparison ----------------------------------

    def python(self, module: str, *args: str) -> list[str]:
        """`python -m MODULE ARGS` with this Python, which has slipway's tools."""
        return [sys.executable, "-m", module, *args]

    def invoke(self, *args: str) -> list[str]:
        """slipway's real CLI, as `invoke ARGS` run in the copy."""
        return self.python("invoke", *args)

    def slipway(self, *args: str) -> list[str]:
        """The `slipway` console script beside this Python (the copy's code
        through PYTHONPATH), as `slipway ARGS`."""
        if not SLIPWAY.is_file():
            raise BenchError(f"no slipway command at {SLIPWAY}: run `uv sync`")
        return [str(SLIPWAY), *args]

    def buildx(
        self, stage: str | None, *, ref: str | None = None, file: str | None = None
    ) -> list[str]:
        """The same build, straight through `docker buildx build` (no stage: the last)."""
        dockerfile = file or self.config.show(self.config.dockerfile)
        target = ["--target", stage] if stage else []
        return [
            "docker",
            "buildx",
            "build",
            "--progress",
            "plain",
            "--file",
            dockerfile,
            *target,
            "--tag",
            ref or self.ref(stage or "latest"),
            self.config.show(self.config.context),
        ]

    def compose(self, *args: str) -> list[str]:
        """`docker compose` on the same files, project and env files slipway uses."""
        env = self.env
        # With slipway's own mounts file: the proxy's configuration and the
        # secrets come from the environment's volume on the engine.
        compose_files = [*env.compose_files, state.mounts_file(self.config, env)]
        files = [a for f in compose_files for a in ("--file", self.config.show(f))]
        env_files = [env.env_file, state.release_file(self.config, env)]
        env_args = [
            a for f in env_files if f.is_file() for a in ("--env-file", self.config.show(f))
        ]
        project = engine.project_name(self.config, env)
        return ["docker", "compose", "--project-name", project, *files, *env_args, *args]

    # --- running ------------------------------------------------------------

    def run(self, command: Sequence[str]) -> str:
        """Run a command in the copy; its output, or BenchError with its last lines."""
        try:
            done = subprocess.run(
                list(command),
                cwd=self.root,
                env=self.environ(),
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BenchError(f"`{shown(command)}` took over {COMMAND_TIMEOUT}s") from None
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            raise BenchError(f"`{shown(command)}` exited {done.returncode}:\n{tail}")
        return done.stdout

    def popen(self, command: Sequence[str], *, stdout: int, stderr: int) -> subprocess.Popen[str]:
        """Start a command in the copy without waiting for it (text output)."""
        return subprocess.Popen(
            list(command),
            cwd=self.root,
            env=self.environ(),
            stdout=stdout,
            stderr=stderr,
            text=True,
        )

    def timed(self, command: Sequence[str]) -> float:
        """Seconds a command takes from start to exit (it must succeed)."""
        start = time.perf_counter()
        self.run(command)
        return time.perf_counter() - start

    def edit_source(self) -> None:
        """A one-line change to the service's source, never seen by the build cache."""
        path = self.root / EDITED
        lines = path.read_text().splitlines()
        if lines and lines[-1].startswith("# bench edit"):
            lines.pop()
        path.write_text("\n".join([*lines, f"# bench edit {uuid.uuid4().hex}"]) + "\n")

    def restore_source(self) -> None:
        shutil.copy2(ROOT / EDITED, self.root / EDITED)

    def get(self, path: str, *, timeout: float = 2.0) -> int:
        """The status of one GET on the stack's published port (0: no answer)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            return conn.getresponse().status
        except (OSError, http.client.HTTPException):
            return 0
        finally:
            conn.close()

    def down(self) -> None:
        self.run(self.invoke("down", "--env", ENVIRONMENT, "--volumes"))

    def stop(self) -> None:
        """The stack taken down with its volumes kept: the state volume that
        slipway's compose file names, and the data."""
        self.run(self.invoke("down", "--env", ENVIRONMENT))


def shown(command: Sequence[str]) -> str:
    """A command as a user would type it (invoke through `python -m`)."""
    names = {sys.executable: "python", str(SLIPWAY): "slipway"}
    words = [names.get(w, w) for w in command]
    return " ".join(words)


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def source() -> str:
    """The commit the copy is made from, and whether the checkout had changes on top
    (other than the results file the benchmarks write themselves)."""
    commit = _git("rev-parse", "--short", "HEAD") or "no commit"
    changes = _git("status", "--porcelain", "--", ".", ":!bench/results.json")
    return commit + (" with uncommitted changes" if changes else "")


def copy_repository(dest: Path) -> None:
    """The files git tracks or would track, with the bench's project and image,
    committed to a repository of their own.

    A clean checkout, as a user has one: slipway names releases after the
    commit (a dirty tree gets another tag), and tests/docker (run by the
    `tests` benchmark) copies the project it finds itself in with `git ls-files`.
    """
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
    settings = yaml.safe_load((dest / CONFIG_NAME).read_text())
    settings["project"], settings["image"] = PROJECT, IMAGE
    (dest / CONFIG_NAME).write_text(yaml.safe_dump(settings, sort_keys=False))
    for step in (["init"], ["add", "--all"], ["commit", "--message", "bench copy"]):
        done = subprocess.run(
            ["git", *step],
            cwd=dest,
            env={**os.environ, **GIT_IDENTITY},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"git {step[0]} in the copy failed: {done.stderr.strip()}")


@contextmanager
def workspace(report: Report) -> Iterator[Workspace]:
    """A fresh copy for one `invoke bench`; its stack and folder go at the end."""
    root = Path(tempfile.mkdtemp(prefix="slipway-bench-"))
    try:
        copy_repository(root)
        ws = Workspace(root, load(root / CONFIG_NAME), free_port())
        report(f"bench: working in {root} (project {PROJECT}, port {ws.port})")
        try:
            yield ws
        finally:
            report(f"bench: taking the {PROJECT} stack down")
            try:
                ws.down()
            except BenchError as exc:
                report(
                    f"bench: could not take the stack down ({exc}): run `docker compose "
                    f"-p {engine.project_name(ws.config, ws.env)} down --volumes`"
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)
