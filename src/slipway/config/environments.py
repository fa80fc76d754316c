"""slipway.yaml's ``environments``: the places the stack runs, each with its
target, compose files and env file. Their compose files must define the
service slipway serves (and the migrate service slipway.yaml names)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import yaml
from pydantic import Field

from slipway.config import https, names, roles
from slipway.config.https import Https, HttpsSettings
from slipway.config.problems import Problems
from slipway.config.roles import Role, RoleSettings
from slipway.config.targets import Target
from slipway.config.values import (
    Address,
    Count,
    Engine,
    FileNames,
    Registry,
    RoleName,
    Section,
    Text,
)

# Where the proxy publishes unless slipway.yaml says otherwise.
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Environment:
    name: str
    target: Target
    compose_files: tuple[Path, ...]
    env_file: Path
    health_timeout: int
    # App containers behind the proxy.
    replicas: int = 1
    # Release images kept (the newest healthy ones, plus the running one).
    keep_releases: int = 5
    # How its stack runs (a name in slipway.backends.BACKENDS): slipway.yaml's
    # `orchestrator`, compose or swarm.
    backend: str = "compose"
    # Where a swarm's nodes pull the release from (host[:port]).
    registry: str | None = None
    # Where its stack runs: ssh://..., tcp://... or a docker context name;
    # None is the local engine (DOCKER_HOST or the current context).
    engine: str | None = None
    # The address of the engine's host the proxy publishes on.
    listen: str = LOOPBACK
    # Where its release is built: "target" (its engine) or "local" (this
    # machine's engine, then shipped to its own).
    build: str = "target"
    # HTTPS at its proxy (None: plain HTTP only).
    https: Https | None = None
    # The release's process roles slipway.yaml says something of, by name.
    roles: Mapping[str, Role] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def remote(self) -> bool:
        """Whether its stack runs on an engine slipway.yaml names."""
        return self.engine is not None

    @property
    def env_example(self) -> Path:
        """The committed example the real env file is created from."""
        return self.env_file.with_name(self.env_file.name + ".example")


class EnvironmentSettings(Section):
    """A place the stack runs: its target, compose files and env file."""

    target: Text = Field(description="The Dockerfile target it runs (dev, test or prod)")
    compose_files: FileNames = Field(description="Compose files, merged in order")
    env_file: Text = Field(description="Git-ignored env file, created from <env_file>.example")
    health_timeout: Count = Field(60, description="Seconds a release may take to be healthy")
    replicas: Count = Field(1, description="App containers behind the proxy")
    keep_releases: Count = Field(5, description="Release images kept for rollback")
    # One name for each of slipway.backends.BACKENDS (a unit test holds them equal).
    orchestrator: Literal["compose", "swarm"] = Field(
        "compose",
        description=(
            "How its stack runs: compose (a compose project on one engine) or swarm (a "
            "stack on the Docker Swarm whose manager `engine` names, the release pulled "
            "by digest from `registry`)"
        ),
    )
    registry: Registry | None = Field(
        None,
        description=(
            "For orchestrator: swarm, the registry host[:port] the release is pushed to, "
            "as the engine that builds it and every node reach it"
        ),
    )
    engine: Engine | None = Field(
        None,
        description=(
            "Where its stack runs: ssh://user@host[:port], tcp://host:port or a docker "
            "context name; unset, the local engine (DOCKER_HOST or the current context)"
        ),
    )
    build: Literal["target", "local"] = Field(
        "target",
        description=(
            "Where its release is built: target (by its engine, from this checkout's "
            "context) or local (by this machine's engine, then shipped to its own)"
        ),
    )
    listen: Address = Field(
        LOOPBACK,
        description=(
            "The address of the engine's host the proxy publishes on (0.0.0.0: every "
            "interface); put TLS in front of anything but loopback"
        ),
    )
    https: HttpsSettings | None = Field(
        None,
        description=(
            "HTTPS at the proxy, published on ${HTTPS_PORT:-8443} beside HTTP, which then "
            "redirects to it"
        ),
    )
    roles: dict[RoleName, RoleSettings] = Field(
        default_factory=dict,
        json_schema_extra={"propertyNames": {"pattern": names.SERVICE.pattern}},
        description=(
            "The release's process roles (compose services running its image, such as a "
            "worker): replicas, singleton"
        ),
    )


@dataclass(frozen=True)
class Services:
    """The compose services slipway.yaml names, which every environment's
    compose files must define."""

    service: str
    migrate: str | None
    # Whether slipway.yaml names `migrate` (else it is the default, which
    # compose files may lack: then there is none).
    migrate_named: bool


# Safe either way: CSafeLoader is SafeLoader's constructor over libyaml.
_SAFE_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)


def _compose_services(files: tuple[Path, ...]) -> set[str] | None:
    """The services the compose files define; None when that cannot be told
    without compose (a file that is not plain YAML, or that includes others)."""
    services: set[str] = set()
    for file in files:
        try:
            # libyaml's parser where PyYAML has it: every command reads every
            # environment's compose files, 10x faster than the pure-Python one.
            model = yaml.load(file.read_text(), Loader=_SAFE_LOADER) or {}  # noqa: S506
        except (OSError, yaml.YAMLError):
            return None
        if not isinstance(model, dict) or "include" in model or "extends" in str(model):
            return None
        services |= set(model.get("services") or {})
    return services


def _environment(
    name: str,
    spec: EnvironmentSettings,
    targets: Collection[Target],
    root: Path,
    problems: Problems,
) -> Environment:
    key = ("environments", name)
    if spec.target not in {t.value for t in targets}:
        raise problems.fail((*key, "target"), f"{spec.target!r} is not one of the targets above")
    if spec.engine is not None and spec.target != Target.PROD.value:
        raise problems.fail(
            (*key, "engine"),
            f"runs the {spec.target} target, which mounts this checkout: only an "
            "environment of the prod target runs on another engine",
        )
    _orchestrated(spec, key, problems)
    files = tuple(root / f for f in spec.compose_files)
    for file, shown in zip(files, spec.compose_files, strict=True):
        if not file.is_file():
            raise problems.fail((*key, "compose_files"), f"{shown} does not exist")
    return Environment(
        name=name,
        target=Target(spec.target),
        compose_files=files,
        env_file=root / spec.env_file,
        health_timeout=spec.health_timeout,
        replicas=spec.replicas,
        keep_releases=spec.keep_releases,
        backend=spec.orchestrator,
        registry=spec.registry,
        engine=spec.engine,
        listen=spec.listen,
        build=spec.build,
        https=https.resolve(spec.https, root, (*key, "https"), problems) if spec.https else None,
        roles=roles.resolve(spec.roles, (*key, "roles"), problems),
    )


def _orchestrated(spec: EnvironmentSettings, key: tuple[str, ...], problems: Problems) -> None:
    """A swarm environment runs the prod target and names its registry; a
    registry means nothing to a compose one."""
    if spec.orchestrator != "swarm":
        if spec.registry is not None:
            raise problems.fail(
                (*key, "registry"),
                "is only for orchestrator: swarm (a compose environment's engine keeps "
                "its releases itself): remove it, or add orchestrator: swarm",
            )
        return
    if spec.target != Target.PROD.value:
        raise problems.fail(
            (*key, "orchestrator"),
            f"runs the {spec.target} target, which mounts this checkout: only an "
            "environment of the prod target runs on a swarm",
        )
    if spec.registry is None:
        raise problems.fail(
            (*key, "orchestrator"),
            "swarm needs a registry the nodes pull the release from: add "
            "registry: host:port, as the manager and every node reach it",
        )


def _defines(
    env: Environment, spec: EnvironmentSettings, wanted: Services, problems: Problems
) -> bool:
    """Whether ``env``'s compose files define the migrate service; a
    ConfigError when they lack the service or a migrate slipway.yaml names.
    True when that cannot be told without compose."""
    services = _compose_services(env.compose_files)
    if services is None:
        return True
    files = ", ".join(spec.compose_files)
    if wanted.migrate_named and wanted.migrate is not None and wanted.migrate not in services:
        raise problems.fail(
            ("migrate",),
            f"{wanted.migrate!r} is not a service of {env.name}'s compose files "
            f"({files} define {', '.join(sorted(services))})",
        )
    if wanted.service not in services:
        raise problems.fail(
            ("service",),
            f"{wanted.service!r} is not a service of {env.name}'s compose files "
            f"({files} define {', '.join(sorted(services)) or 'none'})",
        )
    for role in env.roles:
        if role not in services or role in (wanted.service, wanted.migrate):
            raise problems.fail(
                ("environments", env.name, "roles", role),
                f"{role!r} is not a role of {env.name}'s compose files: name a service "
                f"that runs the release image other than {wanted.service} "
                f"({files} define {', '.join(sorted(services))})",
            )
    return wanted.migrate_named or wanted.migrate in services


def resolve(
    specs: Mapping[str, EnvironmentSettings],
    targets: Collection[Target],
    wanted: Services,
    root: Path,
    problems: Problems,
) -> tuple[Mapping[str, Environment], bool]:
    """Each environment, checked against the targets and its compose files;
    and whether every one's compose files define the migrate service."""
    environments = {}
    migrates = True
    for name, spec in specs.items():
        environments[name] = env = _environment(name, spec, targets, root, problems)
        migrates = _defines(env, spec, wanted, problems) and migrates
    return MappingProxyType(environments), migrates
