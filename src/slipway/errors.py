"""The one exception family: every expected failure, with a line saying what to do.

Library code raises these; only the adapters (tasks.py, noxfile.py) catch
them, print the message and exit non-zero.
"""

from __future__ import annotations

import sys
from pathlib import Path


def command(args: str) -> str:
    """How the user runs a task, for messages: ``slipway deploy`` under the
    slipway command, ``invoke deploy`` under invoke."""
    program = "slipway" if Path(sys.argv[0]).name == "slipway" else "invoke"
    return f"{program} {args}"


class SlipwayError(Exception):
    """An expected failure; str(error) is one line for the user.

    ``details`` holds supporting output (a failing build step, health-check
    log lines) that the edge prints before the one-line message.
    """

    # The process's exit code when this ends a command: 1 a failure, 2 a
    # command line or input it cannot use, 3 a check that could not look.
    exit_code = 1

    def __init__(self, message: str, *, details: str = "") -> None:
        super().__init__(message)
        self.details = details


class ConfigError(SlipwayError):
    """slipway.yaml (or a file it names) is missing or invalid."""


class UsageError(SlipwayError):
    """A command was given an argument it cannot use (an unknown target...)."""

    exit_code = 2


class NotChecked(SlipwayError):
    """A check could not look (its source did not answer): never a pass."""

    exit_code = 3


class DockerUnavailable(SlipwayError):
    """The Docker daemon, buildx or compose cannot be reached."""


class EngineError(SlipwayError):
    """A docker command failed: ``<action> failed: <reason>``.

    Raised only by :mod:`slipway.engine`. It keeps what a caller branches on
    or reports in its own words: the exit code, the command's output ("" when
    it was not captured), and ``reason``, the last meaningful line the CLI
    printed.
    """

    def __init__(
        self, action: str, reason: str, *, return_code: int, stdout: str = "", stderr: str = ""
    ) -> None:
        super().__init__(f"{action} failed: {reason}")
        self.reason = reason
        self.return_code = return_code
        self.stdout = stdout
        self.stderr = stderr


# What a docker command's failure means, decided once by slipway.engine from
# the CLI's own words (python-on-whales' NoSuchImage style): callers catch the
# type, never read the text. Each keeps EngineError's message and attributes.


class NotFound(EngineError):
    """No such container, image, network, volume or service."""


class AlreadyExists(EngineError):
    """An object of that name exists already (a network, a container)."""


class InUse(EngineError):
    """The engine refused because something still uses the object: a container
    made from the image, a network with active endpoints, a mounted volume."""


class NotRunning(EngineError):
    """The container is not running, or the service has no running container."""


class NotSwarmManager(EngineError):
    """The engine is not a swarm manager (no swarm, or a worker node)."""


class CommandNotFound(EngineError):
    """The command a container was to run is not in its image: no such
    executable on its PATH, or no file at the path given."""


class BuildFailed(SlipwayError):
    """An image build failed."""


class CheckFailed(SlipwayError):
    """An image or stack check did not pass."""


class PortInUse(SlipwayError):
    """The host port a stack publishes is held by another program."""


class DeployFailed(SlipwayError):
    """A stack did not come up healthy."""


class Reverted(DeployFailed):
    """The orchestrator rolled a failed release back itself (Swarm's
    ``failure_action: rollback``); the message says what serves now."""


class CommandFailed(SlipwayError):
    """A command run in a container exited non-zero."""


class Locked(SlipwayError):
    """Another command holds the environment's deploy lock."""
