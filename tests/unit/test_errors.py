"""slipway.errors: one exception family, a one-line message plus optional details."""

from __future__ import annotations

import sys

import pytest

from slipway.errors import (
    AlreadyExists,
    BuildFailed,
    CheckFailed,
    CommandNotFound,
    ConfigError,
    DeployFailed,
    DockerUnavailable,
    EngineError,
    InUse,
    NotFound,
    NotRunning,
    NotSwarmManager,
    SlipwayError,
    UsageError,
    command,
)


@pytest.mark.parametrize(
    "kind",
    [ConfigError, UsageError, DockerUnavailable, BuildFailed, CheckFailed, DeployFailed],
)
def test_every_expected_failure_is_a_slipway_error(kind: type[SlipwayError]) -> None:
    with pytest.raises(SlipwayError, match=r"^what went wrong$"):
        raise kind("what went wrong")


@pytest.mark.parametrize(
    "kind", [NotFound, AlreadyExists, InUse, NotRunning, NotSwarmManager, CommandNotFound]
)
def test_a_typed_engine_failure_is_an_engine_error_with_its_output(
    kind: type[EngineError],
) -> None:
    """Callers that catch EngineError, or read its exit code, still get every one."""
    error = kind("docker rm x", "Error: it said so", return_code=125, stdout="o", stderr="e")

    assert isinstance(error, EngineError)
    assert error.exit_code == 1
    assert str(error) == "docker rm x failed: Error: it said so"
    assert (error.reason, error.return_code, error.stdout, error.stderr) == (
        "Error: it said so",
        125,
        "o",
        "e",
    )


def test_details_default_to_nothing() -> None:
    assert SlipwayError("boom").details == ""


def test_details_are_kept_apart_from_the_message() -> None:
    error = BuildFailed("building target prod failed", details="#9 RUN false\n#9 ERROR")

    assert str(error) == "building target prod failed"
    assert error.details == "#9 RUN false\n#9 ERROR"


@pytest.mark.parametrize(
    ("argv0", "said"),
    [("/home/u/.local/bin/slipway", "slipway deploy"), ("/x/invoke/__main__.py", "invoke deploy")],
)
def test_messages_name_the_command_the_user_ran(
    monkeypatch: pytest.MonkeyPatch, argv0: str, said: str
) -> None:
    monkeypatch.setattr(sys, "argv", [argv0, "status"])
    assert command("deploy") == said
