"""slipway.yaml's ``roles`` of an environment: what compose cannot say of
the release's process roles.

A role is a compose service that runs the release image (as the app does)
other than the app (the web role, behind the proxy) and its one-shot jobs:
a ``worker`` running a command with no port, say. Compose declares it;
slipway.yaml only adds how many replicas run (default 1) and whether it is
a singleton: at most one of it runs at any moment, a new release's started
only after the old one stopped, and the lease of
``docker/entrypoint.py`` holding it to that even if something else starts a
second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pydantic import Field

from slipway.config.problems import Problems
from slipway.config.values import Count, Section


@dataclass(frozen=True)
class Role:
    """How an environment runs one role of the release."""

    name: str
    replicas: int = 1
    singleton: bool = False


class RoleSettings(Section):
    """A process role of the release (a compose service running its image)."""

    replicas: Count = Field(1, description="Containers of the role")
    singleton: bool = Field(
        False,
        description=(
            "At most one runs at any moment, during a release and a rollback too "
            "(held to it by a lease with a fencing token)"
        ),
    )


def resolve(
    specs: Mapping[str, RoleSettings], key: tuple[str, ...], problems: Problems
) -> Mapping[str, Role]:
    """The roles slipway.yaml names; a singleton has one replica."""
    found = {}
    for name, spec in specs.items():
        if spec.singleton and spec.replicas > 1:
            raise problems.fail(
                (*key, name, "replicas"),
                f"a singleton runs one container: remove replicas: {spec.replicas}, "
                "or singleton: true",
            )
        found[name] = Role(name, spec.replicas, spec.singleton)
    return MappingProxyType(found)


def of(roles: Mapping[str, Role], name: str) -> Role:
    """The role ``name`` as the environment runs it (the defaults when
    slipway.yaml says nothing of it)."""
    return roles.get(name) or Role(name)
