"""How what slipway keeps for a stack reaches its containers: through the
engine, never as a bind mount of this checkout.

Every environment has a volume on its engine, ``<project>-<env>-state``,
which slipway writes through the engine (:mod:`slipway.kept`): the proxy's
configuration under ``proxy/`` and each file secret under
``secrets/<name>``. This module writes the compose file slipway passes after
the environment's own (``.slipway/<env>.mounts.yaml``): it mounts the
proxy's folder, and each file secret a service declares, from that volume
(read-only, one file each through ``volume.subpath``), in place of the bind
mounts compose would make of ``secrets/`` and ``.slipway/``. The same on the
local engine as on a remote one, which cannot see this checkout at all.
Secrets from the environment or external ones are left as compose has them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from slipway import state
from slipway.config import Config, Environment
from slipway.config.https import DEFAULT_HTTPS_PORT, HTTPS_PORT
from slipway.config.roles import Role
from slipway.config.roles import of as roles_of
from slipway.errors import ConfigError

# The volume's key in the compose file, and where slipway keeps what under it.
KEY = "slipway-state"
PROXY_FOLDER = "proxy"
SECRETS_FOLDER = "secrets"
# The proxy's service and where its image reads its configuration
# (slipway.proxy names the same service).
PROXY_SERVICE = "proxy"
PROXY_CONFIG_DIR = "/usr/local/etc/haproxy"
# HTTPS, for an environment with `https:`: published where HTTP is, on
# HTTPS_PORT (8443 unless the environment says otherwise).
HTTPS_PUBLISHED = (
    f"${{SLIPWAY_LISTEN:-127.0.0.1}}:${{HTTPS_PORT:-{DEFAULT_HTTPS_PORT}}}:{HTTPS_PORT}"
)
# What a role of the release other than the web one gets (:func:`_role`):
# its heartbeat file on a tmpfs, the probe that reads its age, and for a
# singleton the volume of its lease (docker/entrypoint.py takes it).
HEARTBEAT_DIR = "/run/slipway"
HEARTBEAT_FILE = f"{HEARTBEAT_DIR}/heartbeat"
HEARTBEAT_CHECK = {
    "test": ["CMD", "python", "/usr/local/lib/slipway/heartbeat.py"],
    "interval": "5s",
    "timeout": "3s",
    "retries": 3,
    "start_period": "30s",
    "start_interval": "1s",
}
LEASES = "slipway-leases"
# The network of the sidecars that say nothing of theirs.
SIDECARS = "slipway-sidecars"
LEASES_DIR = "/var/lib/slipway/leases"
# A one-shot job's mark: another service waits for it to complete.
COMPLETED = "service_completed_successfully"
# Where compose mounts a secret whose target is not absolute.
SECRETS_DIR = "/run/secrets"


def volume_name(config: Config, env: Environment) -> str:
    """The environment's volume on its engine: ``<project>-<env>-state``."""
    return f"{config.project}-{env.name}-state"


@dataclass
class Declared:
    """The file secrets of a set of compose files (name: file), what each
    service mounts of them (name: path in the container), each service's
    other secrets as they were written, and the services there are."""

    files: dict[str, Path] = field(default_factory=dict)
    mounted: dict[str, dict[str, str]] = field(default_factory=dict)
    others: dict[str, list[Any]] = field(default_factory=dict)
    services: set[str] = field(default_factory=set)
    # Each service's image as written (${SLIPWAY_IMAGE...} for the release's),
    # the services that declare a healthcheck, and those another waits for
    # to complete (one-shot jobs).
    images: dict[str, str] = field(default_factory=dict)
    healthchecks: set[str] = field(default_factory=set)
    jobs: set[str] = field(default_factory=set)
    # The services that say where they are reached: networks or ports.
    placed: set[str] = field(default_factory=set)

    def sidecars(self, web: str, migrate: str | None) -> list[str]:
        """The stack's other long-running services (Redis, a database): not
        the web service, its migration, the proxy, a role or a job."""
        skip = {web, migrate, PROXY_SERVICE, *self.jobs}
        image = self.images.get(web)
        return sorted(s for s in self.services if s not in skip and self.images.get(s) != image)

    def roles(self, web: str, migrate: str | None) -> list[str]:
        """The release's process roles but the web one: the services that
        run the web service's image, other than it and the one-shot jobs."""
        image = self.images.get(web)
        skip = {web, migrate, *self.jobs}
        return sorted(
            name for name in self.services if name not in skip and self.images.get(name) == image
        )


def _load(file: Path) -> Mapping[str, Any]:
    try:
        model = yaml.safe_load(file.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{file.name}: cannot be read as YAML ({exc})") from None
    return model if isinstance(model, dict) else {}


def _target(entry: Any) -> tuple[str, str] | None:
    """A service's secret entry as (source, path in the container)."""
    if isinstance(entry, str):
        return entry, f"{SECRETS_DIR}/{entry}"
    if isinstance(entry, dict) and isinstance(entry.get("source"), str):
        target = str(entry.get("target") or entry["source"])
        return entry["source"], target if target.startswith("/") else f"{SECRETS_DIR}/{target}"
    return None


def role_names(config: Config, env: Environment) -> list[str]:
    """The release's roles but the web one (a worker), by compose service."""
    return declared(env.compose_files).roles(config.service, config.migrate)


def declared(compose_files: Iterable[Path]) -> Declared:
    """What the compose files declare, merged as compose merges them (a later
    file's entry for the same secret wins). File paths resolve against the
    first file's folder, compose's project directory."""
    files = list(compose_files)
    found = Declared()
    if not files:
        return found
    project_dir = files[0].parent
    entries: dict[str, dict[str, Any]] = {}
    for file in files:
        model = _load(file)
        for name, spec in (model.get("secrets") or {}).items():
            if isinstance(spec, dict) and isinstance(spec.get("file"), str):
                found.files[str(name)] = (project_dir / spec["file"]).resolve()
            else:
                found.files.pop(str(name), None)
        for service, spec in (model.get("services") or {}).items():
            found.services.add(str(service))
            _note(found, str(service), spec or {})
            for entry in (spec or {}).get("secrets") or []:
                parsed = _target(entry)
                if parsed is not None:
                    entries.setdefault(str(service), {})[parsed[0]] = entry
    for service, by_source in entries.items():
        for source, entry in by_source.items():
            parsed = _target(entry)
            if source in found.files and parsed is not None:
                found.mounted.setdefault(service, {})[source] = parsed[1]
            else:
                found.others.setdefault(service, []).append(entry)
    return found


def _note(found: Declared, service: str, spec: Mapping[str, Any]) -> None:
    """What the roles are told by: the image, a healthcheck, the jobs waited for."""
    if isinstance(spec.get("image"), str):
        found.images[service] = spec["image"]
    if "healthcheck" in spec:
        found.healthchecks.add(service)
    if spec.get("networks") or spec.get("ports") or spec.get("network_mode"):
        found.placed.add(service)
    needs = spec.get("depends_on") or {}
    if isinstance(needs, Mapping):
        found.jobs |= {
            str(n) for n, how in needs.items() if (how or {}).get("condition") == COMPLETED
        }


def _mount(target: str, subpath: str) -> str:
    return (
        f"      - {{type: volume, source: {KEY}, target: {json.dumps(target)}, "
        f"read_only: true, volume: {{subpath: {json.dumps(subpath)}}}}}\n"
    )


def _role(role: Role, own_check: bool) -> list[str]:
    """What a role's containers get: HEARTBEAT_FILE on a tmpfs, the heartbeat
    probe unless the compose files give a check of their own, and a
    singleton's lease."""
    env = {"HEARTBEAT_FILE": HEARTBEAT_FILE}
    if role.singleton:
        env["SLIPWAY_LEASE"] = f"{LEASES_DIR}/{role.name}"
    lines = ["    environment:\n", *(f"      {k}: {json.dumps(v)}\n" for k, v in env.items())]
    # The tmpfs takes the mode of the image's folder (1777, docker/Dockerfile);
    # without that folder it is root's, 0755 (its `mode=` option did not
    # change that under compose here).
    lines.append(f"    tmpfs:\n      - {json.dumps(HEARTBEAT_DIR)}\n")
    if not own_check:
        lines.append(f"    healthcheck: !override {json.dumps(HEARTBEAT_CHECK)}\n")
    return lines


def _networks(found: Declared, service: str, internal: list[str]) -> list[str]:
    """A service's lines for the sidecars' internal network: a sidecar that
    says nothing of where it is reached is on it alone; every other service
    but the proxy joins it (beside the default network, unless it names its own)."""
    if not internal or service == PROXY_SERVICE:
        return []
    if service in internal:
        return [f"    networks: [{SIDECARS}]\n"]
    default = "" if service in found.placed else "default: {}, "
    return [f"    networks: {{{default}{SIDECARS}: {{}}}}\n"]


def _service(
    config: Config, env: Environment, found: Declared, service: str, internal: list[str]
) -> tuple[list[str], set[str]]:
    """A service's lines of the file, and the volumes it uses."""
    mounts = found.mounted.get(service, {})
    roles = found.roles(config.service, config.migrate)
    role = roles_of(env.roles, service) if service in roles else None
    lines, used = [], set()
    if mounts:
        kept = found.others.get(service, [])
        lines.append(f"    secrets: !override {json.dumps(kept)}\n")
    if service == PROXY_SERVICE and env.https is not None:
        # Beside the compose files' own HTTP port: compose adds ports up.
        lines.append(f"    ports:\n      - {json.dumps(HTTPS_PUBLISHED)}\n")
    volumes = [_mount(PROXY_CONFIG_DIR, PROXY_FOLDER)] if service == PROXY_SERVICE else []
    volumes += [_mount(target, f"{SECRETS_FOLDER}/{n}") for n, target in sorted(mounts.items())]
    used |= {KEY} if volumes else set()
    if role is not None:
        lines += _role(role, service in found.healthchecks)
        if role.singleton:
            volumes.append(f"      - {{type: volume, source: {LEASES}, target: {LEASES_DIR}}}\n")
            used.add(LEASES)
    lines += _networks(found, service, internal)
    if volumes:
        lines += ["    volumes:\n", *volumes]
    return lines, used


def text(config: Config, env: Environment) -> str:
    """The compose file that mounts the environment's volumes, sets up its
    roles and puts its sidecars on an internal network."""
    found = declared(env.compose_files)
    head = (
        "# Written by slipway, passed to compose after the environment's own files:\n"
        "# the proxy's configuration and the file secrets reach the containers from\n"
        "# a volume slipway writes through the engine, not from this checkout; the\n"
        "# release's roles get their heartbeat and a singleton its lease; sidecars\n"
        "# that say nothing of their network get an internal one.\n"
    )
    sidecars = found.sidecars(config.service, config.migrate)
    internal = [name for name in sidecars if name not in found.placed]
    out: list[str] = []
    used: set[str] = set()
    for service in sorted(found.services):
        lines, uses = _service(config, env, found, service, internal)
        used |= uses
        if lines:
            out += [f"  {json.dumps(service)}:\n", *lines]
    if not out:
        # Nothing to mount (no proxy, no file secret, no role): no volume either.
        return f"{head}services: {{}}\n"
    names = {KEY: volume_name(config, env), LEASES: f"{config.project}-{env.name}-leases"}
    declared_volumes = [
        f"  {key}:\n    name: {json.dumps(names[key])}\n"
        + ("    external: true\n" if key == KEY else "")
        for key in sorted(used)
    ]
    tail = ["volumes:\n", *declared_volumes] if declared_volumes else []
    if internal:
        # No route out, nothing published: only the stack's own services reach it.
        tail += [f"networks:\n  {SIDECARS}:\n    internal: true\n"]
    return "".join([head, "services:\n", *out, *tail])


def write(config: Config, env: Environment) -> Path:
    """Write the environment's mounts file when it changed; its path."""
    path = state.mounts_file(config, env)
    body = text(config, env)
    if not path.is_file() or path.read_text() != body:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    return path
