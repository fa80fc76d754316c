"""`invoke doctor`: is this machine ready to build and ship the project?

One CheckResult per item: the engine and its plugins, the compose features
slipway relies on, uv, every environment's env file, secret files, port and
certificate, the base images, the engine's free disk. Nothing raises for a
broken item: each problem is a failing row whose detail says what is wrong
and what to do. A row that needs something missing (the engine, compose,
uv) fails with "not checked: ..." instead of guessing. A row that needs the
network and cannot reach it (``uv lock --check`` needs the package index)
starts "not checked: no network": not a failure, yet never a pass (exit 3
when nothing else fails).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from python_on_whales import DockerClient

from slipway import engine, tls
from slipway.backends.compose import stack
from slipway.backends.compose.files import port_setting, proxy_address, proxy_address_from_files
from slipway.build import dockerfile
from slipway.checks import CheckResult
from slipway.checks.host import env_file_row, python_row, secret_rows, uv_rows
from slipway.checks.versions import Version, parse_version
from slipway.config import Config, Environment
from slipway.errors import SlipwayError, command

# `compose watch` (invoke dev) arrived in compose 2.22.0, `up --wait` in 2.1.1.
WATCH_SINCE = (2, 22, 0)
WAIT_SINCE = (2, 1, 1)
# Less free space than this where the engine keeps images, and builds fail midway.
MIN_FREE_BYTES = 2_000_000_000

NO_ENGINE = "not checked: no engine"
NO_COMPOSE = "not checked: no compose plugin"

T = TypeVar("T")
Model = Mapping[str, Any]


def diagnose(config: Config, env_name: str | None = None) -> list[CheckResult]:
    """Every row of `invoke doctor`, in the order the table shows them; with
    ``env_name``, the environment rows of that one environment only."""
    envs = (
        [config.environment(env_name)]
        if env_name is not None
        else list(config.environments.values())
    )
    docker = engine.client(config)
    engine_ok, compose_ok, results = tool_rows(docker)
    try:
        built_from = dockerfile.base_images(config.dockerfile.read_text())
    except OSError as exc:
        built_from = []
        results.append(CheckResult("dockerfile", False, f"{config.show(config.dockerfile)}: {exc}"))
    results += uv_rows(config, built_from) + python_row(config, built_from)
    results += [env_file_row(config, env) for env in envs]
    # A remote environment's secrets are the ones its engine keeps (target_rows).
    results += secret_rows(config, [env for env in envs if not env.remote])
    models = {env.name: _model(config, env) for env in envs} if compose_ok else {}
    results += [port_row(config, env, models.get(env.name)) for env in envs]
    refs, unlisted = list(built_from), []
    for env in envs:
        model = models.get(env.name)
        if isinstance(model, SlipwayError):
            unlisted.append(CheckResult(f"images {env.name}", False, f"not checked: {model}"))
        elif model is not None:
            refs += [ref for ref in service_images(model, config.service) if ref not in refs]
    if not compose_ok:
        unlisted.append(
            CheckResult("compose images", False, f"compose services' images: {NO_COMPOSE}")
        )
    present, rows = image_rows(docker, refs, engine_ok=engine_ok)
    results += rows + unlisted
    results.append(
        disk_row(docker, present) if engine_ok else CheckResult("disk", False, f"disk: {NO_ENGINE}")
    )
    from slipway.checks.target import remote_rows  # noqa: PLC0415 (made of this module's rows)

    results += [tls.doctor_row(config, env) for env in envs if env.https is not None]
    results += remote_rows(config, envs, built_from, models)
    return results


def call(action: str, call: Callable[[], T]) -> T | SlipwayError:
    """One docker call through the engine's error handling: its result, or the error."""
    try:
        with engine.docker_errors(action):
            return call()
    except SlipwayError as exc:
        return exc


# --- the engine, buildx, compose --------------------------------------------------------


def tool_rows(docker: DockerClient) -> tuple[bool, bool, list[CheckResult]]:
    """Engine, buildx and compose rows; whether the engine and compose answered."""
    server = call("docker version", lambda: docker.version().server)
    if isinstance(server, SlipwayError):
        engine_row = CheckResult("engine", False, str(server))
    elif server is None or not server.version:
        engine_row = CheckResult("engine", False, "`docker version` names no server: start Docker")
    else:
        engine_row = CheckResult(
            "engine", True, f"Docker Engine {server.version} (API {server.api_version})"
        )
    _, buildx_row = _plugin("buildx", call("docker buildx version", docker.buildx.version))
    compose, compose_row = _plugin(
        "compose", call("docker compose version", docker.compose.version)
    )
    rows = [
        engine_row,
        buildx_row,
        compose_row,
        _feature("compose watch", compose, WATCH_SINCE, f"{command('dev')} syncs code with it"),
        _feature("compose up --wait", compose, WAIT_SINCE, "the health gate"),
    ]
    return engine_row.ok, compose is not None, rows


def _plugin(name: str, answer: str | SlipwayError) -> tuple[Version | None, CheckResult]:
    if isinstance(answer, SlipwayError):
        return None, CheckResult(name, False, str(answer))
    version = parse_version(answer)
    if version is None:
        return None, CheckResult(
            name, False, f"no version in `docker {name} version`: {answer.strip()}"
        )
    return version, CheckResult(name, True, f"{name} {version}")


def _feature(
    name: str, compose: Version | None, since: tuple[int, int, int], why: str
) -> CheckResult:
    if compose is None:
        return CheckResult(name, False, f"{name}: {NO_COMPOSE}")
    needed = ".".join(map(str, since))
    if compose >= Version(since, needed):
        return CheckResult(name, True, f"compose {compose} >= {needed} ({why})")
    return CheckResult(
        name,
        False,
        f"compose {compose} has no {name} ({why}): upgrade compose to {needed} or later",
    )


# --- ports ------------------------------------------------------------------------------


def compose_client(config: Config, env: Environment) -> DockerClient:
    # A missing env file is read as its example: what deploy would create it from.
    return engine.client(
        config, env, env_file=env.env_file if env.env_file.is_file() else env.env_example
    )


def _model(config: Config, env: Environment) -> Model | SlipwayError:
    docker = compose_client(config, env)
    return call("docker compose config", functools.partial(engine.compose_model, docker))


def port_row(config: Config, env: Environment, model: Model | SlipwayError | None) -> CheckResult:
    """The host port the environment's proxy publishes is free, or held by its own stack.

    ``model`` is `compose config`'s (None when compose is missing: the port
    is then read from the compose files and env files directly).
    """
    name = f"port {env.name}"
    if isinstance(model, SlipwayError):
        return CheckResult(name, False, f"{env.name}: {model}")
    try:
        address = (
            proxy_address(model) if model is not None else proxy_address_from_files(config, env)
        )
    except (ValueError, SlipwayError) as exc:
        return CheckResult(name, False, f"{env.name}: cannot tell the published port: {exc}")
    if address is None:
        return CheckResult(name, True, f"{env.name} publishes no host port")
    host, port = address
    if env.remote:
        # Published on the engine's own host: compose says there if it is taken.
        return CheckResult(name, True, f"{host}:{port} on {engine.where(env)}'s host")
    if not stack.port_taken(host, port):
        return CheckResult(name, True, f"{host}:{port} free")
    return _taken_row(config, env, address, compose=model is not None)


def _taken_row(
    config: Config, env: Environment, address: tuple[str, int], *, compose: bool
) -> CheckResult:
    """A port something listens on: fine only when it is this stack's own proxy."""
    name, (host, port) = f"port {env.name}", address
    in_use = f"{env.name}: port {host}:{port} is in use"
    fix = f"stop it, or {port_setting(config, env)}"
    if not compose:
        return CheckResult(name, False, f"{in_use} (by whom: {NO_COMPOSE}): {fix}")
    ours = call("docker compose ps", lambda: stack.held_by_stack(compose_client(config, env), port))
    if isinstance(ours, SlipwayError):
        return CheckResult(name, False, f"{in_use} (by whom: not checked: {ours}): {fix}")
    if ours:
        return CheckResult(
            name, True, f"{host}:{port} held by this stack ({engine.project_name(config, env)})"
        )
    return CheckResult(name, False, f"{in_use} by another program: {fix}")


# --- images and disk --------------------------------------------------------------------


def service_images(model: Model, service: str) -> list[str]:
    """Images compose services run but nobody builds here: no ``build:``, and not
    the image of slipway's own service (which ``invoke build`` makes)."""
    services: Mapping[str, Mapping[str, Any]] = model.get("services") or {}
    own = (services.get(service) or {}).get("image")
    return [
        str(spec["image"])
        for spec in services.values()
        if spec.get("image") and "build" not in spec and spec.get("image") != own
    ]


def image_rows(
    docker: DockerClient, refs: Sequence[str], *, engine_ok: bool
) -> tuple[list[str], list[CheckResult]]:
    """One row per base image: present in the engine. Returns the present ones too."""
    if not engine_ok:
        return [], [CheckResult(f"image {ref}", False, f"{ref}: {NO_ENGINE}") for ref in refs]
    present, rows = [], []
    for ref in refs:
        found = call(f"docker image inspect {ref}", functools.partial(docker.image.exists, ref))
        if isinstance(found, SlipwayError):
            rows.append(CheckResult(f"image {ref}", False, str(found)))
        elif found:
            present.append(ref)
            rows.append(CheckResult(f"image {ref}", True, "present"))
        else:
            rows.append(
                CheckResult(
                    f"image {ref}",
                    False,
                    f"{ref} is not in the engine (never pulled here): load or pull it",
                )
            )
    return present, rows


def available_bytes(df_output: str) -> int | None:
    """The Available column of `df -Pk`'s last line, in bytes."""
    lines = df_output.strip().splitlines()
    fields = lines[-1].split() if len(lines) >= 2 else []
    return int(fields[3]) * 1024 if len(fields) >= 4 and fields[3].isdigit() else None


def _df(docker: DockerClient, image: str) -> str:
    # Streamed: a plain run would let a failure's message (no df in the
    # image) reach the terminal instead of the exception.
    lines = docker.run(
        image,
        ["-Pk", "/"],
        entrypoint="df",
        remove=True,
        pull="never",
        networks=["none"],
        stream=True,
    )
    return "".join(chunk.decode(errors="replace") for source, chunk in lines if source == "stdout")


def disk_row(docker: DockerClient, images: Sequence[str]) -> CheckResult:
    """Free space where the engine stores images, containers and build cache.

    Measured as `df -Pk /` inside a throw-away container of a present base
    image: a container's root is an overlay on the engine's storage, so this
    is right for a remote engine, Docker Desktop's VM and rootless engines
    alike, where `docker info`'s DockerRootDir is not a path on this host
    (shutil.disk_usage on it is right only for a local rootful engine). The
    first image that has a `df` is used; pull never, no network.
    """
    for ref in images:
        out = call(f"df in {ref}", functools.partial(_df, docker, ref))
        free = None if isinstance(out, SlipwayError) else available_bytes(out)
        if free is None:
            continue
        shown = f"{free / 1e9:.1f} GB free for the engine"
        if free < MIN_FREE_BYTES:
            need = MIN_FREE_BYTES / 1e9
            return CheckResult(
                "disk",
                False,
                f"only {shown} (needs {need:.0f} GB): docker system prune, or free space",
            )
        return CheckResult("disk", True, shown)
    return CheckResult(
        "disk", False, "disk: not checked: no present base image has df to measure with"
    )
