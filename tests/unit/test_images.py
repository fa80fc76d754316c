"""slipway.build.images: build arguments, the failing build step, and what a build produced."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from python_on_whales.exceptions import DockerException

from slipway.build import failures, images
from slipway.build.images import BuiltImage
from slipway.config import Config, Target
from slipway.errors import BuildFailed

MakeDockerError = Callable[..., DockerException]

# BuildKit's plain progress of a build whose `RUN false` failed while another
# stage ran in parallel (and was cancelled), as `docker build --progress plain` prints it.
FAILED_BUILD = [
    '#0 building with "default" instance using docker driver',
    "",
    "#1 [internal] load build definition from Dockerfile",
    "#1 transferring dockerfile: 1.92kB done",
    "#1 DONE 0.0s",
    "#5 [base 1/1] FROM docker.io/library/python:3.12-slim@sha256:0f3a",
    "#5 CACHED",
    "#8 [builder 2/5] COPY pyproject.toml uv.lock ./",
    "#8 DONE 0.1s",
    "#9 [builder 3/5] RUN false",
    "#10 [runtime 2/4] RUN useradd --uid 10001 --create-home app",
    "#9 0.214 about to fail",
    "#10 0.301 useradd: warning: the home directory already exists.",
    "#10 CANCELED",
    '#9 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1',
    "------",
    " > [builder 3/5] RUN false:",
    "0.214 about to fail",
    "------",
    "Dockerfile:14",
    "--------------------",
    "  13 |     COPY pyproject.toml uv.lock ./",
    "  14 | >>> RUN false",
    "--------------------",
    'ERROR: failed to solve: process "/bin/sh -c false" did not complete successfully: '
    "exit code: 1",
]


# --- failing_step -------------------------------------------------------------------


def test_failing_step_names_the_instruction_that_failed() -> None:
    step, _output = failures.failing_step(FAILED_BUILD)

    assert step == "RUN false"


def test_failing_step_output_is_only_that_steps_lines() -> None:
    _step, output = failures.failing_step(FAILED_BUILD)

    assert output.splitlines() == [
        "#9 [builder 3/5] RUN false",
        "#9 0.214 about to fail",
        '#9 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1',
    ]


def test_failing_step_does_not_mix_up_step_1_with_step_10() -> None:
    lines = [
        "#1 [internal] load build definition from Dockerfile",
        "#10 [builder 4/5] RUN uv sync --locked",
        "#10 1.2 Resolved 12 packages",
        "#1 ERROR: failed to read dockerfile: open Dockerfile: no such file or directory",
    ]

    step, output = failures.failing_step(lines)

    assert step == ["[internal", "load build definition from Dockerfile"][1]
    assert output.splitlines() == [lines[0], lines[3]]


def test_failing_step_keeps_the_last_30_lines_of_a_long_step() -> None:
    lines = ["#7 [builder 4/5] RUN uv sync --locked"]
    lines += [f"#7 0.{n:03d} line {n}" for n in range(50)]
    lines.append("#7 ERROR: process did not complete successfully: exit code: 2")

    step, output = failures.failing_step(lines)

    assert step == "RUN uv sync --locked"
    assert output.splitlines() == lines[-30:]


def test_failing_step_without_error_line_gives_no_step_and_the_last_20_lines() -> None:
    lines = [f"#{n} [builder {n}/30] RUN step {n}" for n in range(1, 26)]

    step, output = failures.failing_step(lines)

    assert step == ""
    assert output.splitlines() == lines[-20:]


def test_failing_step_of_no_output_is_empty() -> None:
    assert failures.failing_step([]) == ("", "")


# --- build_args -------------------------------------------------------------------


def _run_as(monkeypatch: pytest.MonkeyPatch, uid: int, gid: int) -> None:
    monkeypatch.setattr(images.os, "getuid", lambda: uid)
    monkeypatch.setattr(images.os, "getgid", lambda: gid)


def test_dev_image_is_built_for_the_invoking_user(monkeypatch: pytest.MonkeyPatch) -> None:
    _run_as(monkeypatch, 1234, 5678)

    assert images.build_args(Target.DEV) == {"UID": "1234", "GID": "5678"}


def test_dev_image_built_by_root_runs_as_1000(monkeypatch: pytest.MonkeyPatch) -> None:
    _run_as(monkeypatch, 0, 0)

    assert images.build_args(Target.DEV) == {"UID": "1000", "GID": "1000"}


@pytest.mark.parametrize("target", [Target.TEST, Target.PROD])
def test_test_and_prod_images_take_no_build_args(
    monkeypatch: pytest.MonkeyPatch, target: Target
) -> None:
    _run_as(monkeypatch, 1234, 5678)

    assert images.build_args(target) == {}


# --- describe ---------------------------------------------------------------------


def _inspected(
    *,
    user: str | None = "10001:10001",
    healthcheck: object = None,
    size: int = 123_456_789,
) -> Any:
    """What python-on-whales' docker.image.inspect returns, reduced to what slipway reads."""
    return SimpleNamespace(
        id="sha256:4f2c9e1a7b3d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f",
        size=size,
        config=SimpleNamespace(user=user, healthcheck=healthcheck),
    )


def test_describe_reads_id_size_user_and_healthcheck() -> None:
    probe = SimpleNamespace(test=["CMD", "python", "-c", "print('ok')"])

    built = images.describe(_inspected(healthcheck=probe), "slipway/notes:prod")

    assert built == BuiltImage(
        ref="slipway/notes:prod",
        id="sha256:4f2c9e1a7b3d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f",
        size=123_456_789,
        user="10001:10001",
        has_healthcheck=True,
    )


@pytest.mark.parametrize(
    "healthcheck",
    [
        None,
        SimpleNamespace(test=None),
        SimpleNamespace(test=[]),
        SimpleNamespace(test=["NONE"]),
    ],
    ids=["no-healthcheck", "no-test", "empty-test", "disabled"],
)
def test_describe_counts_a_disabled_or_missing_healthcheck_as_none(healthcheck: object) -> None:
    built = images.describe(_inspected(healthcheck=healthcheck), "slipway/notes:prod")

    assert built.has_healthcheck is False


def test_describe_treats_an_unset_user_as_empty() -> None:
    assert images.describe(_inspected(user=None), "slipway/notes:prod").user == ""


def test_short_id_is_12_hex_digits_without_the_algorithm() -> None:
    built = images.describe(_inspected(), "slipway/notes:prod")

    assert built.short_id == "4f2c9e1a7b3d"


# --- build, with a fake docker client ------------------------------------------------


class _FakeBuilder:
    """docker.build that streams the given log lines, then optionally fails."""

    def __init__(self, lines: list[str], error: DockerException | None = None) -> None:
        self.lines, self.error = lines, error
        self.image = SimpleNamespace(inspect=self._inspect)

    def build(self, _context: str, **_options: Any) -> Iterator[str]:
        return self._stream()

    def _stream(self) -> Iterator[str]:
        yield from (line + "\n" for line in self.lines)
        if self.error is not None:
            raise self.error

    def _inspect(self, _ref: str) -> Any:
        return _inspected(healthcheck=SimpleNamespace(test=["CMD", "true"]))


def test_build_tags_the_target_and_reports_every_log_line(config: Config) -> None:
    fake = _FakeBuilder(["#1 [internal] load build definition from Dockerfile", "#1 DONE 0.0s"])
    seen: list[str] = []

    built = images.build(fake, config, Target.PROD, report=seen.append)  # type: ignore[arg-type]

    assert seen == ["#1 [internal] load build definition from Dockerfile", "#1 DONE 0.0s"]
    assert built.ref == "slipway/notes:prod"
    assert built.has_healthcheck


def test_failed_build_names_the_step_and_carries_its_output(
    config: Config, docker_error: MakeDockerError
) -> None:
    error = docker_error("\n".join(FAILED_BUILD), command=("docker", "buildx", "build"))
    fake = _FakeBuilder(FAILED_BUILD, error)

    with pytest.raises(BuildFailed) as caught:
        images.build(fake, config, Target.PROD)  # type: ignore[arg-type]

    assert (
        str(caught.value)
        == "building target prod failed at `RUN false`: about to fail (exit code 1)"
    )
    assert caught.value.details == failures.failing_step(FAILED_BUILD)[1]


def test_failed_build_without_a_failing_step_shows_the_last_lines(
    config: Config, docker_error: MakeDockerError
) -> None:
    error = docker_error("ERROR: failed to read dockerfile: no such file")
    fake = _FakeBuilder(['#0 building with "default" instance using docker driver'], error)

    with pytest.raises(BuildFailed) as caught:
        images.build(fake, config, "base")  # type: ignore[arg-type]

    assert str(caught.value) == (
        "building target base failed: ERROR: failed to read dockerfile: no such file"
    )
    assert caught.value.details == '#0 building with "default" instance using docker driver'
