"""Building the Dockerfile's targets and describing the images."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import cast

from python_on_whales import DockerClient, Image

from slipway.build import failures, ignore
from slipway.config import Config, Target
from slipway.engine import docker_errors
from slipway.errors import BuildFailed, EngineError
from slipway.handle import Report


@dataclass(frozen=True)
class BuiltImage:
    """What a build produced, as `docker image inspect` describes it."""

    ref: str
    id: str
    size: int
    user: str
    has_healthcheck: bool

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]


def describe(image: Image, ref: str) -> BuiltImage:
    config = image.config
    healthcheck = config.healthcheck
    test = list(healthcheck.test or []) if healthcheck is not None else []
    return BuiltImage(
        ref=ref,
        id=image.id,
        size=int(image.size),
        user=config.user or "",
        has_healthcheck=bool(test) and test[0] != "NONE",
    )


# The dev user when the host user is root: a dev image never runs as root.
FALLBACK_DEV_ID = 1000


def dev_ids() -> tuple[int, int]:
    """The uid and gid the dev image runs as: the invoking user's, unless root."""
    uid, gid = os.getuid(), os.getgid()
    return (uid, gid) if uid != 0 else (FALLBACK_DEV_ID, FALLBACK_DEV_ID)


def build_args(target: Target) -> dict[str, str]:
    """The dev image runs as the invoking user, so bind-mounted files stay theirs."""
    if target is Target.DEV:
        uid, gid = dev_ids()
        return {"UID": str(uid), "GID": str(gid)}
    return {}


# The internal stage every target starts from: the runtime, nothing of ours.
BASE_STAGE = "base"


@dataclass(frozen=True)
class Built:
    """Images built for the checks: the targets asked for, and the base stage
    they are measured against."""

    base: BuiltImage
    targets: Mapping[Target, BuiltImage]


def build_for_checks(
    docker: DockerClient, config: Config, targets: Iterable[Target], *, report: Report | None = None
) -> Built:
    """Build the base stage and ``targets`` (BuildKit's cache makes unchanged
    ones quick): checks take built images and build nothing themselves."""
    base = build(docker, config, BASE_STAGE, report=report)
    return Built(base, {t: build(docker, config, t, report=report) for t in Target if t in targets})


def build(
    docker: DockerClient,
    config: Config,
    target: Target | str,
    *,
    report: Report | None = None,
    cache: bool = True,
    labels: Mapping[str, str] | None = None,
    engine: str = failures.THIS_ENGINE,
) -> BuiltImage:
    """Build one target with BuildKit (or, by name, any stage of the
    Dockerfile: the internal ones too), tag it ``<image>:<stage>``, return it.

    Every log line goes to ``report`` (when given); a failure raises
    BuildFailed whose one line names the failing step and its cause
    (:func:`slipway.build.failures.message`), with the step's output in
    ``details``.
    """
    stage = target.value if isinstance(target, Target) else target
    args = build_args(target) if isinstance(target, Target) else {}
    ref = f"{config.image}:{stage}"
    lines: list[str] = []
    try:
        with docker_errors(f"building target {stage}"):
            logs = docker.build(
                str(config.context),
                file=str(ignore.dockerfile(config)),
                target=stage,
                tags=[ref],
                build_args=args,
                labels=dict(labels or {}),
                cache=cache,
                progress="plain",
                stream_logs=True,
            )
            # stream_logs=True makes build() return the log lines, lazily.
            for line in cast(Iterator[str], logs):
                lines.append(line.rstrip("\n"))
                if report is not None:
                    report(lines[-1])
    except EngineError as exc:
        # The one line names the cause; the failing step's output goes above it.
        raise BuildFailed(
            failures.message(stage, lines, exc.reason, engine=engine),
            details=failures.failing_step(lines)[1],
        ) from None
    with docker_errors(f"inspecting {ref}"):
        return describe(docker.image.inspect(ref), ref)


def present(docker: DockerClient, config: Config) -> set[str]:
    """Every tag of the project's image repository the engine holds."""
    with docker_errors("docker image ls"):
        return {tag for image in docker.image.list(config.image) for tag in image.repo_tags}
