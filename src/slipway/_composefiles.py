"""The proxy's published port, read from the compose files without compose.

Only for `invoke doctor` when the compose plugin is missing, so that it can
still say whether the port is free; everywhere else compose itself is the
authority (``stack.published_port``). Compose's rules are followed for what
slipway's files use: variables come from the shell first, then the env files
slipway passes (the later winning), and a later file's ``ports`` add to an
earlier one's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from slipway import _dotenv, proxy, stack, state
from slipway.config import Config, Environment
from slipway.errors import ConfigError


def variables(config: Config, env: Environment) -> dict[str, str]:
    """What compose would substitute for ``${VAR}``: env files, then the shell.

    A missing env file is read as its example: deploy creates it from that.
    """
    env_file = env.env_file if env.env_file.is_file() else env.env_example
    values: dict[str, str] = {}
    for path in (env_file, state.release_file(config, env)):
        if path.is_file():
            values.update(_dotenv.parse(path.read_text()))
    values.update(os.environ)
    return values


def long_form(spec: object, values: dict[str, str]) -> dict[str, Any]:
    """A ``ports:`` entry as `compose config` writes it (host_ip, published, target).

    Raises ValueError when a variable in it is unset or a part is not a number.
    """
    if isinstance(spec, dict):
        entry: dict[str, Any] = {}
        for key, value in spec.items():
            text = _dotenv.substitute(value, values) if isinstance(value, str) else value
            if text is None:
                raise ValueError(f"a variable in ports entry {spec} is unset")
            entry[key] = text
        return entry
    text = _dotenv.substitute(str(spec), values)
    if text is None:
        raise ValueError(f"a variable in ports entry {spec!r} is unset")
    rest, _, target = text.split("/", 1)[0].rpartition(":")
    if not rest:
        return {"target": int(target)}
    host, _, published = rest.rpartition(":")
    return {"host_ip": host.strip("[]"), "published": published, "target": int(target)}


def _proxy_ports(file: Path) -> list[object]:
    try:
        model = yaml.safe_load(file.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{file.name}: cannot be read as YAML ({exc})") from None
    services = model.get("services") if isinstance(model, dict) else None
    service = (services or {}).get(proxy.SERVICE) if isinstance(services, dict) else None
    ports = service.get("ports") if isinstance(service, dict) else None
    return list(ports) if isinstance(ports, list) else []


def proxy_address_from_files(config: Config, env: Environment) -> tuple[str, int] | None:
    """Where the environment's proxy would be published, as ``stack.proxy_address`` says."""
    values = variables(config, env)
    ports = [long_form(spec, values) for file in env.compose_files for spec in _proxy_ports(file)]
    return stack.proxy_address({"services": {proxy.SERVICE: {"ports": ports}}})
