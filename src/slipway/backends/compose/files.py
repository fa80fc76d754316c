"""The proxy's published port, as the compose files say it.

:func:`proxy_address` reads it from a `docker compose config` model
(``stack.published_port`` hands it compose's own); :func:`port_setting`
reads the files as written, to say how to move the proxy to another port.

Without compose, only for `invoke doctor` when the compose plugin is
missing, so that it can still say whether the port is free
(:func:`proxy_address_from_files`); everywhere else compose itself is the
authority. Compose's rules are followed for what slipway's files use:
variables come from the shell first, then the env files slipway passes (the
later winning), and a later file's ``ports`` add to an earlier one's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from slipway import proxy, state
from slipway.config import Config, Environment, dotenv
from slipway.errors import ConfigError


def proxy_address(model: Mapping[str, Any], target: int = proxy.PORT) -> tuple[str, int] | None:
    """Where a `docker compose config` model publishes the proxy's port
    ``target`` (HTTP unless said): host address and port."""
    for port in model.get("services", {}).get(proxy.SERVICE, {}).get("ports") or []:
        if int(port.get("target", 0)) == target and port.get("published"):
            return str(port.get("host_ip") or "0.0.0.0"), int(port["published"])
    return None


# ${NAME...} or $NAME in a compose file's value.
_VARIABLE = re.compile(r"\$\{(\w+)[^}]*\}|\$(\w+)")
# How to move the proxy when the compose files do not say.
ANOTHER_PORT = "publish the proxy on another host port in the environment's compose files"


def _published_part(spec: object) -> tuple[str, str] | None:
    """A ``ports:`` entry's (published, target) text, variables unresolved."""
    if isinstance(spec, dict):
        return str(spec.get("published") or ""), str(spec.get("target") or "")
    # Mask variables first: a default (${APP_PORT:-8000}) has a colon of its own.
    found: list[str] = []

    def mask(match: re.Match[str]) -> str:
        found.append(match.group(0))
        return f"\0{len(found) - 1}\0"

    parts = _VARIABLE.sub(mask, str(spec).split("/", 1)[0]).split(":")
    if len(parts) < 2:
        return None

    def unmask(text: str) -> str:
        return re.sub(r"\0(\d+)\0", lambda m: found[int(m.group(1))], text)

    return unmask(parts[-2]), unmask(parts[-1])


def port_setting(config: Config, env: Environment) -> str:
    """How to move the proxy to another host port, in the project's own terms:
    the variable its compose files publish the proxy's port from, in the
    environment's env file, or the compose file that writes the port itself."""
    setting = ANOTHER_PORT
    for file in env.compose_files:
        try:
            model = yaml.safe_load(file.read_text())
            ports = model["services"][proxy.SERVICE].get("ports") or []
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
            continue
        for spec in ports:
            parts = _published_part(spec)
            if parts is None or not parts[0]:
                continue
            published, target = parts
            if target != str(proxy.PORT) and not _VARIABLE.search(target):
                continue
            names = [m.group(1) or m.group(2) for m in _VARIABLE.finditer(published)]
            if names:
                setting = f"set {names[0]} in {config.show(env.env_file)}"
            else:
                setting = f"change the proxy's published port ({published}) in {config.show(file)}"
    return setting


def variables(config: Config, env: Environment) -> dict[str, str]:
    """What compose would substitute for ``${VAR}``: env files, then the shell.

    A missing env file is read as its example: deploy creates it from that.
    """
    env_file = env.env_file if env.env_file.is_file() else env.env_example
    values: dict[str, str] = {}
    for path in (env_file, state.release_file(config, env)):
        if path.is_file():
            values.update(dotenv.parse(path.read_text()))
    values.update(os.environ)
    return values


def long_form(spec: object, values: dict[str, str]) -> dict[str, Any]:
    """A ``ports:`` entry as `compose config` writes it (host_ip, published, target).

    Raises ValueError when a variable in it is unset or a part is not a number.
    """
    if isinstance(spec, dict):
        entry: dict[str, Any] = {}
        for key, value in spec.items():
            text = dotenv.substitute(value, values) if isinstance(value, str) else value
            if text is None:
                raise ValueError(f"a variable in ports entry {spec} is unset")
            entry[key] = text
        return entry
    text = dotenv.substitute(str(spec), values)
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
    """Where the environment's proxy would be published, as :func:`proxy_address` says."""
    values = variables(config, env)
    ports = [long_form(spec, values) for file in env.compose_files for spec in _proxy_ports(file)]
    return proxy_address({"services": {proxy.SERVICE: {"ports": ports}}})
