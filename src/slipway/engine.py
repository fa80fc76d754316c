"""The one way into Docker: every docker command slipway runs goes through here.

:func:`client` builds the python-on-whales client from the config, and most
commands are its methods. Where python-on-whales 0.81 has no method for what
slipway needs, a function below runs the docker CLI's own argv and its
docstring names the gap: :func:`image_history`, :func:`compose_watch`,
:func:`feed` (stdin), :func:`stream` (output as it comes), for the commands
:func:`compose_run_argv` and :func:`compose_exec_argv` build.
:func:`compose_model` is the one reader of `docker compose config`.

Every failure of the CLI becomes a SlipwayError here, in
:func:`docker_errors`: :class:`~slipway.errors.DockerUnavailable` when the
CLI, the daemon or a plugin is missing, else an
:class:`~slipway.errors.EngineError` that keeps the exit code and output.
Its type says what the failure means (:class:`~slipway.errors.NotFound`,
:class:`~slipway.errors.AlreadyExists`, :class:`~slipway.errors.InUse`,
:class:`~slipway.errors.NotRunning`...), read once from the CLI's words in
:data:`_KINDS`: callers catch the type. No other module imports
``python_on_whales.utils``, sees a ``DockerException``, builds a docker
argv or matches a failure's output (tests/unit/test_door.py holds them to it).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from python_on_whales import DockerClient
from python_on_whales.client_config import ClientNotFoundError
from python_on_whales.exceptions import (
    DockerException,
    NoSuchContainer,
    NoSuchImage,
    NoSuchNetwork,
    NoSuchPod,
    NoSuchService,
    NoSuchVolume,
    NotASwarmManager,
)
from python_on_whales.utils import run as _run
from python_on_whales.utils import stream_stdout_and_stderr as _stream

from slipway import state
from slipway.config import Config, Environment
from slipway.errors import (
    AlreadyExists,
    DockerUnavailable,
    EngineError,
    InUse,
    NotFound,
    NotRunning,
    NotSwarmManager,
)

_UNREACHABLE = (
    "Cannot connect to the Docker daemon",
    "error during connect",
    "permission denied while trying to connect",
    "dial unix",
)

# What a failed docker command means, by what the CLI or the daemon said on
# stderr (stdout is the command's own output: a container's, for exec and
# run), or by the type python-on-whales already gave it. The first row that
# matches decides: a compose exec whose message also says "not found" is
# still NotRunning. Nothing else reads the text (tests/unit/test_door.py).
_KINDS: tuple[tuple[type[EngineError], re.Pattern[str], tuple[type[DockerException], ...]], ...] = (
    # compose exec: `service "app" is not running`; docker exec/kill:
    # `container abc is not running`; compose v1: `No container found for app_1`.
    (NotRunning, re.compile(r"is not running|No container found"), ()),
    # `network with name slipway-prod-lock already exists`
    (AlreadyExists, re.compile(r"already exists"), ()),
    # `conflict: unable to remove repository reference "x" (must force) -
    # container abc is using its referenced image`, `... has active endpoints`,
    # `remove slipway_data: volume is in use`
    (InUse, re.compile(r"(?i)conflict|has active endpoints|volume is in use"), ()),
    # `No such image: x:y`, `No such object: x`, `network abc not found`
    (
        NotFound,
        re.compile(
            r"(?i)no such (container|image|network|volume|service|object)"
            r"|\b(container|image|network|volume)\b[^\n]*\bnot found"
        ),
        (NoSuchContainer, NoSuchImage, NoSuchNetwork, NoSuchPod, NoSuchService, NoSuchVolume),
    ),
    # `this node is not a swarm manager`
    (NotSwarmManager, re.compile(r"(?i)not a swarm manager"), (NotASwarmManager,)),
)


def project_name(config: Config, env: Environment) -> str:
    """Compose project of an environment: ``slipway-prod``, ``slipway-dev``."""
    return f"{config.project}-{env.name}"


def settings_file(config: Config, env: Environment) -> Path:
    """What slipway.yaml tells the environment's compose files, kept current:
    the service's port and health path, and a stand-in SLIPWAY_IMAGE (the
    target's moving tag) so the model can be read before any release is
    recorded (lint, policy, doctor, the port probe). Nothing is started from
    the stand-in: every command that starts containers records its release
    first (:func:`slipway.state.release_file`, read after this file). Run by hand without
    slipway, compose refuses (``${SLIPWAY_IMAGE:?...}``)."""
    path = state.settings_file(config, env)
    values = {
        "SLIPWAY_IMAGE": config.image_ref(env.target),
        "SLIPWAY_PORT": str(config.port),
        "SLIPWAY_HEALTH_PATH": config.health_path,
    }
    text = "".join(f"{key}={value}\n" for key, value in values.items())
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


def client(
    config: Config, env: Environment | None = None, *, env_file: Path | None = None
) -> DockerClient:
    """A client for images, or, given an environment, for its compose stack.

    ``env_file`` stands in for the environment's own env file (doctor reads a
    missing one's example, which is what deploy would create it from).
    """
    if env is None:
        return DockerClient()
    # Later files win: the environment's own, what slipway.yaml says, then
    # what deploy recorded.
    env_files: list[str | Path] = [
        p
        for p in (
            env_file or env.env_file,
            settings_file(config, env),
            state.release_file(config, env),
        )
        if p.is_file()
    ]
    return DockerClient(
        compose_files=[str(f) for f in env.compose_files],
        compose_project_name=project_name(config, env),
        compose_env_files=env_files,
    )


def message_of(exc: DockerException) -> str:
    """The last meaningful line the docker CLI printed."""
    text = "\n".join(s for s in (exc.stderr, exc.stdout) if s)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    return (errors or lines or [f"exit code {exc.return_code}"])[-1]


def kind_of(exc: DockerException) -> type[EngineError]:
    """The EngineError type a failed docker command raises: the first row of
    :data:`_KINDS` whose words are on its stderr or whose python-on-whales
    type it has; plain EngineError when none says."""
    said = exc.stderr or ""
    for kind, words, whales in _KINDS:
        if words.search(said) or isinstance(exc, whales):
            return kind
    return EngineError


@contextmanager
def docker_errors(action: str) -> Iterator[None]:
    """Turn python-on-whales failures into one-line SlipwayErrors: DockerUnavailable
    when the CLI, the daemon or a plugin is missing, else an EngineError naming
    ``action`` (``<action> failed: <reason>``), of the type :func:`kind_of`
    gives (NotFound, AlreadyExists, InUse, NotRunning...)."""
    try:
        yield
    except ClientNotFoundError:
        raise DockerUnavailable(
            "the docker CLI is not installed: install Docker Engine with buildx and compose v2"
        ) from None
    except DockerException as exc:
        raise unavailable(exc) or kind_of(exc)(
            action,
            message_of(exc),
            return_code=exc.return_code,
            stdout=exc.stdout or "",
            stderr=exc.stderr or "",
        ) from None


def unavailable(exc: DockerException) -> DockerUnavailable | None:
    """The missing daemon or plugin behind a failed docker call, if that is the cause."""
    text = f"{exc.stderr or ''}\n{exc.stdout or ''}"
    if any(marker in text for marker in _UNREACHABLE):
        host = os.environ.get("DOCKER_HOST", "the default socket")
        return DockerUnavailable(
            f"cannot reach the Docker daemon at {host}: start Docker, or fix DOCKER_HOST"
        )
    if "'compose' is not a docker command" in text or "unknown command: docker compose" in text:
        return DockerUnavailable(
            "the docker compose v2 plugin is missing: install docker-compose-plugin"
        )
    if "'buildx' is not a docker command" in text:
        return DockerUnavailable(
            "the docker buildx plugin is missing: install docker-buildx-plugin"
        )
    return None


def ensure_engine(docker: DockerClient, *, compose: bool = False) -> None:
    """Fail early, with one line, when the daemon or a plugin is missing."""
    with docker_errors("docker version"):
        docker.version()
        docker.buildx.version()
        if compose:
            docker.compose.version()


def copy_out(docker: DockerClient, image: str, paths: Sequence[str], dest: Path) -> list[str]:
    """Copy those of ``paths`` that exist in ``image`` under ``dest``, keeping
    their absolute layout (``/var/lib/dpkg`` lands in ``dest/var/lib/dpkg``).

    From a created, never-started container, removed afterwards: nothing runs.
    Returns the paths copied.
    """
    copied = []
    with docker_errors(f"reading {image}"):
        container = docker.container.create(image, pull="never")
    try:
        for path in paths:
            target = dest / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with docker_errors(f"copying {path} out of {image}"):
                    docker.container.copy((container, path), target)
            except EngineError as exc:
                if "Could not find the file" in f"{exc.stderr}{exc.stdout}":
                    continue
                raise
            copied.append(path)
    finally:
        with docker_errors(f"removing the container made from {image}"):
            container.remove(volumes=True)
    return copied


def run_python(docker: DockerClient, image: str, code: str) -> str:
    """Run ``python -c CODE`` in a throw-away container of ``image`` (never
    pulled) and return what it printed."""
    with docker_errors(f"running python in {image}"):
        out = docker.run(image, ["-c", code], entrypoint="python", remove=True, pull="never")
    return str(out)


def compose_model(docker: DockerClient, *, action: str = "docker compose config") -> dict[str, Any]:
    """The stack as `docker compose config --format json` resolves it: files
    merged, variables substituted, every key kept (python-on-whales' own
    ComposeConfig model drops some, such as read_only and security_opt)."""
    with docker_errors(action):
        return docker.compose.config(return_json=True)


# --- raw argv: where python-on-whales 0.81 has no method ---------------------


def image_history(docker: DockerClient, ref: str) -> list[dict[str, Any]]:
    """`docker image history`'s rows for ``ref``, newest layer first, as the CLI
    writes them: ``Size`` in bytes (a string), ``CreatedBy`` untruncated.

    python-on-whales 0.81's ``image.history()`` raises NotImplementedError.
    """
    with docker_errors(f"docker image history {ref}"):
        out = _run(
            [
                *docker.docker_cmd,
                "image",
                "history",
                "--no-trunc",
                "--human=false",
                "--format",
                "{{json .}}",
                ref,
            ],
            return_stderr=False,
        )
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def compose_watch(docker: DockerClient) -> Iterator[str]:
    """The lines `docker compose watch --no-up` prints, as they come, until it
    stops; EngineError when it exits non-zero (130 when it got the Ctrl-C).

    python-on-whales 0.81 has no ``compose.watch``.
    """
    with docker_errors("docker compose watch"):
        for _source, raw in _stream([*docker.docker_compose_cmd, "watch", "--no-up"]):
            yield raw.decode(errors="replace").rstrip("\n")


def compose_run_argv(docker: DockerClient, service: str, command: Sequence[str]) -> list[str]:
    """`docker compose run --rm --no-deps -T SERVICE COMMAND`: a throw-away
    container of the service, stdin open, no tty; for :func:`feed` or :func:`stream`."""
    with docker_errors("docker compose"):
        compose = [str(part) for part in docker.docker_compose_cmd]
    return [*compose, "run", "--rm", "--no-deps", "-T", service, *command]


def compose_exec_argv(
    docker: DockerClient,
    service: str,
    command: Sequence[str],
    *,
    envs: Mapping[str, str] | None = None,
    index: int | None = None,
) -> list[str]:
    """`docker compose exec -T [--index N] [-e K=V ...] SERVICE COMMAND`: in the
    service's running container, stdin open, no tty; for :func:`feed` or :func:`stream`."""
    with docker_errors("docker compose"):
        compose = [str(part) for part in docker.docker_compose_cmd]
    options = ["--index", str(index)] if index is not None else []
    for key, value in (envs or {}).items():
        options += ["-e", f"{key}={value}"]
    return [*compose, "exec", "-T", *options, service, *command]


def feed(argv: Sequence[str], data: bytes, *, action: str) -> str:
    """Run a compose command (:func:`compose_run_argv`, :func:`compose_exec_argv`)
    with ``data`` on its stdin; what it printed on stdout.

    python-on-whales 0.81's ``compose.run`` and ``compose.execute`` take no stdin.
    """
    with docker_errors(action):
        return _run(list(argv), input=data, return_stderr=False)


def stream(argv: Sequence[str], *, action: str) -> Iterator[tuple[str, bytes]]:
    """Run a compose command (:func:`compose_run_argv`, :func:`compose_exec_argv`)
    and yield its output as it comes: ("stdout" or "stderr", bytes).

    python-on-whales 0.81's ``compose.execute`` returns its output only at the
    end, decoded: no use for a database dump (``compose.run(stream=True)``
    could stream, but backups stream out of ``exec`` too, by one path).
    """
    with docker_errors(action):
        yield from _stream(list(argv))
