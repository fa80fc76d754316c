"""What every backend keeps the same way: the release pointer under
`.slipway/`, and the state the environment's engine keeps (pulled before a
command reads it, pushed back under the deploy lock)."""

from __future__ import annotations

from python_on_whales import DockerClient

from slipway import shared, state
from slipway.config import Config, Environment
from slipway.kept import Kept


class KeptPointer:
    """The release pointer and the engine's state, for a backend built on
    one client for one environment."""

    docker: DockerClient
    config: Config
    env: Environment

    def release(self) -> str | None:
        return state.release(self.config, self.env)

    def forget(self) -> None:
        state.drop_staged(self.config, self.env)
        state.forget_release(self.config, self.env)

    def pull(self) -> None:
        shared.pull(Kept.of(self.docker, self.config, self.env), self.config, self.env)

    def push(self) -> None:
        shared.push(Kept.of(self.docker, self.config, self.env), self.config, self.env)
