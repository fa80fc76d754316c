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
    # The test environment the test image runs in, with the services its
    # tests need (compose/test.yaml when there is one); () runs it alone.
    compose_files: tuple[Path, ...] = ()


class TestSettings(Section):
    """What `nox -s tests` (no engine) and `nox -s docker_tests` (engine) run."""

    unit: Paths | None = Field(None, description="Unit test paths (default: tests/ if present)")
    engine: Paths = Field(default_factory=list, description="Tests against the real engine")
    compose_files: Paths | None = Field(
        None,
        description=(
            "The test environment: compose files with a `tests` service (the test image) "
            "and the services its tests need (default: compose/test.yaml if present)"
        ),
    )


def resolve(settings: TestSettings, root: Path, problems: Problems) -> Tests:
    """The paths, which must exist; ``unit`` is tests/ by default, if there is one."""
    default_unit = ["tests"] if (root / "tests").is_dir() else []
    unit = default_unit if settings.unit is None else settings.unit
    default_compose = [DEFAULT_COMPOSE] if (root / DEFAULT_COMPOSE).is_file() else []
    compose = default_compose if settings.compose_files is None else settings.compose_files
    return Tests(
        unit=tuple(problems.existing(root, p, ("tests", "unit")) for p in unit),
        engine=tuple(problems.existing(root, p, ("tests", "engine")) for p in settings.engine),
        compose_files=tuple(
            problems.existing(root, p, ("tests", "compose_files")) for p in compose
        ),
    )


# The test environment's compose file, when slipway.yaml names none.
DEFAULT_COMPOSE = "compose/test.yaml"
