"""Where and how an environment's stack runs: the :class:`Backend` protocol,
and :data:`BACKENDS`, the registry of its implementations by the name an
environment gives in slipway.yaml (``orchestrator:``, default ``compose``).

doc2dash's ``Parser`` protocol with its ``DOCTYPES`` registry is the model:
deploy, rollback, dev, backup, restore, retention and the stack tasks see only
the protocol and never ask which backend they hold. The methods are what those
jobs ask of a stack. One backend is built per command, for one environment, on
the command's one client (:mod:`slipway.handle`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from python_on_whales import DockerClient

from slipway.backends.compose import ComposeBackend
from slipway.backends.protocol import Backend, Rollout, ServiceStatus
from slipway.backends.swarm import SwarmBackend
from slipway.config import Config, Environment

__all__ = ["BACKENDS", "Backend", "BackendKind", "Rollout", "ServiceStatus", "of"]


class BackendKind(Protocol):
    """What the registry holds: how to build a backend for one command."""

    def __call__(self, docker: DockerClient, config: Config, env: Environment) -> Backend: ...


# Every backend, by the name an environment gives it in slipway.yaml (`orchestrator:`).
BACKENDS: Mapping[str, BackendKind] = {"compose": ComposeBackend, "swarm": SwarmBackend}


def of(docker: DockerClient, config: Config, env: Environment) -> Backend:
    """The backend the environment names, on the command's client."""
    return BACKENDS[env.backend](docker, config, env)
