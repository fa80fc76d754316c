"""The one way into Docker: every docker command slipway runs goes through here.

:func:`client` builds the python-on-whales client from the config, and most
commands are its methods; :mod:`~slipway.engine.commands` names the few
slipway runs by name (:func:`compose_model` is the one reader of `docker
compose config`), and where python-on-whales 0.81 has no method,
:mod:`~slipway.engine.gaps` runs the docker CLI's own argv and names the gap.

Every failure of the CLI becomes a SlipwayError in
:func:`~slipway.engine.errors.docker_errors`, of a type that says what it
means (NotFound, AlreadyExists, InUse, NotRunning...), read once from the
CLI's words. No module outside this package imports
``python_on_whales.utils``, sees a ``DockerException``, builds a docker argv
or matches a failure's output (tests/unit/test_door.py holds them to it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from python_on_whales import DockerClient

from slipway import state
from slipway.config import Config, Environment
from slipway.engine import mounts
from slipway.engine.commands import compose_model, copy_out, ensure_engine, run_python
from slipway.engine.errors import docker_errors, kind_of, message_of, unavailable
from slipway.engine.gaps import (
    archive_in,
    archive_out,
    compose_config_hashes,
    compose_exec_argv,
    compose_run_argv,
    compose_watch,
    container_exec_argv,
    feed,
    image_history,
    inspect_tasks,
    push,
    service_update,
    ship,
    stack_deploy,
    stream,
)

__all__ = [
    "EnvFiles",
    "archive_in",
    "archive_out",
    "client",
    "compose_config_hashes",
    "compose_exec_argv",
    "compose_model",
    "compose_run_argv",
    "compose_watch",
    "container_exec_argv",
    "context_of",
    "copy_out",
    "docker_errors",
    "ensure_engine",
    "feed",
    "host_of",
    "image_history",
    "inspect_tasks",
    "kind_of",
    "message_of",
    "project_name",
    "push",
    "run_python",
    "service_update",
    "settings_file",
    "ship",
    "stack_deploy",
    "stream",
    "tests_client",
    "unavailable",
    "where",
]


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
        "SLIPWAY_LISTEN": env.listen,
    }
    text = "".join(f"{key}={value}\n" for key, value in values.items())
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


class EnvFiles(list[str | Path]):
    """compose's ``--env-file`` list, read each time compose runs: the files
    of the list that exist then, in order (a later file wins). One client
    serves a whole command, through which the env file is created from its
    example and the release is recorded (:func:`slipway.state.commit_release`)."""

    def __iter__(self) -> Iterator[str | Path]:
        return (path for path in super().__iter__() if Path(path).is_file())

    def __len__(self) -> int:
        return sum(1 for _ in self)


def client(
    config: Config, env: Environment | None = None, *, env_file: Path | None = None
) -> DockerClient:
    """The command's client: for images, or, given an environment, for its
    compose stack too (writing the stack's settings file once).

    ``env_file`` stands in for the environment's own env file (doctor reads a
    missing one's example, which is what deploy would create it from).
    """
    if env is None:
        return DockerClient()
    # After the environment's own compose files: how slipway's files reach
    # the containers (through the engine, never a bind mount of the checkout).
    files = [*env.compose_files, mounts.write(config, env)]
    # Later files win: the environment's own, what slipway.yaml says, what
    # deploy recorded, then the release a rollout is moving to (while it does).
    env_files = EnvFiles(
        [
            env_file or env.env_file,
            settings_file(config, env),
            state.release_file(config, env),
            state.staged_release_file(config, env),
        ]
    )
    return DockerClient(
        compose_files=[str(f) for f in files],
        compose_project_name=project_name(config, env),
        compose_env_files=env_files,
        host=host_of(env),
        context=context_of(env),
    )


def tests_client(config: Config, name: str) -> DockerClient:
    """The client of one run of the test environment (slipway.yaml's
    ``tests.compose_files``), compose project ``name``, on the local engine;
    its compose files read the test image from :func:`slipway.state.tests_file`."""
    return DockerClient(
        compose_files=[str(f) for f in config.tests.compose_files],
        compose_project_name=name,
        compose_env_files=[state.tests_file(config)],
    )


def host_of(env: Environment) -> str | None:
    """python-on-whales' ``host`` for the environment's engine: an ssh:// or
    tcp:// address; None for a context or the local engine (the docker
    CLI's DOCKER_HOST or current context)."""
    return env.engine if env.engine is not None and "://" in env.engine else None


def context_of(env: Environment) -> str | None:
    """python-on-whales' ``context``: the docker context slipway.yaml names."""
    return env.engine if env.engine is not None and "://" not in env.engine else None


def where(env: Environment) -> str:
    """The environment's engine, as a message names it."""
    if env.engine is None:
        return "the local engine"
    return env.engine if "://" in env.engine else f"docker context {env.engine}"
