"""What a failed docker command means: the one translator of Docker's words.

:func:`docker_errors` turns every failure of the CLI into a SlipwayError:
:class:`~slipway.errors.DockerUnavailable` when the CLI, the daemon or a
plugin is missing (:func:`unavailable`), else an
:class:`~slipway.errors.EngineError` that keeps the exit code and output.
Its type says what the failure means (:class:`~slipway.errors.NotFound`,
:class:`~slipway.errors.AlreadyExists`, :class:`~slipway.errors.InUse`,
:class:`~slipway.errors.NotRunning`,
:class:`~slipway.errors.CommandNotFound`...), read once from the CLI's words in
:data:`_KINDS` (:func:`kind_of`): callers catch the type.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

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

from slipway.errors import (
    AlreadyExists,
    CommandNotFound,
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
    # run or exec of a command the image lacks: `... unable to start container
    # process: exec: "pytest": executable file not found in $PATH: unknown`, or
    # `exec: "/app/.venv/bin/pytest": stat /app/.venv/bin/pytest: no such file
    # or directory` (before NotFound: the line also says "container").
    (
        CommandNotFound,
        re.compile(r'exec: "[^"\n]*": (executable file not found|stat [^\n]*no such file)'),
        (),
    ),
    # `No such image: x:y`, `No such object: x`, `network abc not found`;
    # docker cp: `Could not find the file /x in container y`
    (
        NotFound,
        re.compile(
            r"(?i)no such (container|image|network|volume|service|object|task)"
            r"|could not find the file"
            r"|\b(container|image|network|volume|task)\b[^\n]*\bnot found"
        ),
        (NoSuchContainer, NoSuchImage, NoSuchNetwork, NoSuchPod, NoSuchService, NoSuchVolume),
    ),
    # `this node is not a swarm manager`
    (NotSwarmManager, re.compile(r"(?i)not a swarm manager"), (NotASwarmManager,)),
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


def _engine_named(argv: Sequence[object]) -> str | None:
    """The engine a docker argv names with --host or --context, as shown."""
    words = [str(word) for word in argv]
    for flag, shown in (("--host", "{}"), ("-H", "{}"), ("--context", "docker context {}")):
        if flag in words[:-1]:
            return shown.format(words[words.index(flag) + 1])
    return None


def _unreachable(named: str, text: str) -> DockerUnavailable:
    """Why the engine slipway.yaml names (``engine:``) did not answer."""
    if "context not found" in text:
        return DockerUnavailable(
            f"{named} does not exist here: `docker context ls` lists those there are; "
            "fix engine: in slipway.yaml"
        )
    # ssh's own reason (a refused key, a refused connection) is what it said last.
    ssh = re.search(r"stderr=(.*)$", text.strip(), re.MULTILINE)
    why = ssh.group(1).strip().rstrip(".") if ssh else ""
    if "Permission denied" in why:
        return DockerUnavailable(
            f"{named} refused this machine's SSH key ({why}): add the key to the "
            "server's authorized_keys, or fix engine: in slipway.yaml"
        )
    return DockerUnavailable(
        f"cannot reach the Docker daemon at {named}{f' ({why})' if why else ''}: start "
        "it or make it reachable from here, or fix engine: in slipway.yaml"
    )


def unavailable(exc: DockerException) -> DockerUnavailable | None:
    """The missing daemon or plugin behind a failed docker call, if that is the cause."""
    text = f"{exc.stderr or ''}\n{exc.stdout or ''}"
    named = _engine_named(exc.docker_command or [])
    if named is not None and (
        "context not found" in text or any(marker in text for marker in _UNREACHABLE)
    ):
        return _unreachable(named, text)
    if any(marker in text for marker in _UNREACHABLE):
        host = os.environ.get("DOCKER_HOST", "the default socket")
        return DockerUnavailable(
            f"cannot reach the Docker daemon at {host}: start Docker, or fix DOCKER_HOST"
        )
    # Docker 24 says "docker: 'buildx' is not a docker command.", Docker 28
    # "docker: unknown command: docker buildx".
    for plugin, package in (
        ("compose", "docker-compose-plugin"),
        ("buildx", "docker-buildx-plugin"),
    ):
        if (
            f"'{plugin}' is not a docker command" in text
            or f"unknown command: docker {plugin}" in text
        ):
            what = "compose v2" if plugin == "compose" else plugin
            return DockerUnavailable(f"the docker {what} plugin is missing: install {package}")
    return None
