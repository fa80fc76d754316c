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


def _mount(target: str, subpath: str) -> str:
    return (
        f"      - {{type: volume, source: {KEY}, target: {json.dumps(target)}, "
        f"read_only: true, volume: {{subpath: {json.dumps(subpath)}}}}}\n"
    )


def text(config: Config, env: Environment) -> str:
    """The compose file that mounts the environment's volume."""
    found = declared(env.compose_files)
    head = (
        "# Written by slipway, passed to compose after the environment's own files:\n"
        "# the proxy's configuration and the file secrets reach the containers from\n"
        "# a volume slipway writes through the engine, not from this checkout.\n"
    )
    out = []
    for service in sorted(found.services):
        mounts = found.mounted.get(service, {})
        if service != PROXY_SERVICE and not mounts:
            continue
        out.append(f"  {json.dumps(service)}:\n")
        if mounts:
            kept = found.others.get(service, [])
            out.append(f"    secrets: !override {json.dumps(kept)}\n")
        if service == PROXY_SERVICE and env.https is not None:
            # Beside the compose files' own HTTP port: compose adds ports up.
            out.append(f"    ports:\n      - {json.dumps(HTTPS_PUBLISHED)}\n")
        out.append("    volumes:\n")
        if service == PROXY_SERVICE:
            out.append(_mount(PROXY_CONFIG_DIR, PROXY_FOLDER))
        out.extend(
            _mount(target, f"{SECRETS_FOLDER}/{name}") for name, target in sorted(mounts.items())
        )
    if not out:
        # Nothing to mount (no proxy, no file secret): no volume either.
        return f"{head}services: {{}}\n"
    out.append(
        f"volumes:\n  {KEY}:\n    name: {json.dumps(volume_name(config, env))}\n"
        "    external: true\n"
    )
    return "".join([head, "services:\n", *out])


def write(config: Config, env: Environment) -> Path:
    """Write the environment's mounts file when it changed; its path."""
    path = state.mounts_file(config, env)
    body = text(config, env)
    if not path.is_file() or path.read_text() != body:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    return path
