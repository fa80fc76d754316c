"""slipway.errors: one exception family, a one-line message plus optional details."""

from __future__ import annotations

import sys

import pytest

from slipway.errors import (
    BuildFailed,
    CheckFailed,
    ConfigError,
    DeployFailed,
    DockerUnavailable,
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
