"""slipway.yaml's ``tests``: what `nox -s tests` and `nox -s docker_tests` run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from slipway.config.problems import Problems
from slipway.config.values import Paths, Section


@dataclass(frozen=True)
class Tests:
    """What `nox -s tests` (unit: no engine) and `nox -s docker_tests` (engine) run."""

    unit: tuple[Path, ...]
    engine: tuple[Path, ...]


class TestSettings(Section):
    """What `nox -s tests` (no engine) and `nox -s docker_tests` (engine) run."""

    unit: Paths | None = Field(None, description="Unit test paths (default: tests/ if present)")
    engine: Paths = Field(default_factory=list, description="Tests against the real engine")


def resolve(settings: TestSettings, root: Path, problems: Problems) -> Tests:
    """The paths, which must exist; ``unit`` is tests/ by default, if there is one."""
    default_unit = ["tests"] if (root / "tests").is_dir() else []
    unit = default_unit if settings.unit is None else settings.unit
    return Tests(
        unit=tuple(problems.existing(root, p, ("tests", "unit")) for p in unit),
        engine=tuple(problems.existing(root, p, ("tests", "engine")) for p in settings.engine),
    )
