"""Build times of the prod target: `invoke build` against `docker buildx build`.

Three situations, each timed through both (see bench/pairs.py); the last two
also through the `slipway` command (bench/slipway_command.py):

- cold: `docker builder prune -af` before every build, so nothing is cached,
  not even the uv cache mount. Images are kept, above all the base stand-ins
  (python:3.13-slim-trixie, ghcr.io/astral-sh/uv), which cannot be pulled here.
  The prune empties the whole engine's build cache, not only the bench's.
- warm: a one-line change to the service's source before every build.
- noop: nothing changed since the last build.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.figures import Figure, Report
from bench.pairs import compare, nothing
from bench.workspace import Workspace

TARGET = "prod"
PRUNE = ("docker", "builder", "prune", "-af")


def _build(ws: Workspace, via: str) -> list[str]:
    return (ws.slipway if via == "slipway" else ws.invoke)("build", "--target", TARGET)


def _builds(
    ws: Workspace,
    section: str,
    runs: int,
    before: Callable[[], object],
    report: Report,
    *,
    via: str = "invoke",
) -> list[Figure]:
    """The build through ``via`` (`invoke` or `slipway`), then raw buildx."""
    return compare(
        ws,
        section,
        runs=runs,
        sides={
            f"{via} build --target {TARGET}": _build(ws, via),
            f"docker buildx build --target {TARGET}": ws.buildx(TARGET),
        },
        before=before,
        report=report,
    )


def cold(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    """Builds with an empty build cache."""
    return _builds(ws, "cold", runs, lambda: ws.run(PRUNE), report)


def warm(
    ws: Workspace, runs: int, report: Report, *, section: str = "warm", via: str = "invoke"
) -> list[Figure]:
    """Rebuilds after a one-line change to the service's source."""
    ws.run(_build(ws, via))
    figures = _builds(ws, section, runs, ws.edit_source, report, via=via)
    ws.restore_source()
    return figures


def noop(
    ws: Workspace, runs: int, report: Report, *, section: str = "noop", via: str = "invoke"
) -> list[Figure]:
    """Builds with every step cached."""
    ws.run(_build(ws, via))
    return _builds(ws, section, runs, nothing, report, via=via)
