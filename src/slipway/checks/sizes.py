"""Image sizes against their budgets, and where the bytes come from.

The rows are measured by the check job (:func:`slipway.checks.size_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from python_on_whales import DockerClient

from slipway import engine
from slipway.build.images import BuiltImage
from slipway.config import Config, Target

if TYPE_CHECKING:
    # The checks measure the rows (and import this module): the type only.
    from slipway.checks import CheckResult

MB = 1_000_000


@dataclass(frozen=True)
class Layer:
    size: int
    created_by: str


@dataclass(frozen=True)
class SizeRow:
    """One target's size, its budget, its base and what it adds over it."""

    image: BuiltImage
    budget_mb: int | None
    base_size: int
    check: CheckResult
    largest_layers: tuple[Layer, ...]

    @property
    def added(self) -> int:
        return self.image.size - self.base_size

    def cells(self) -> tuple[str, str, str, str, str, str]:
        budget = f"{self.budget_mb} MB" if self.budget_mb is not None else "-"
        return (
            self.image.ref,
            f"{self.image.size / MB:.1f} MB",
            budget,
            f"{self.base_size / MB:.1f} MB",
            f"{self.added / MB:+.1f} MB",
            "ok" if self.check.ok else "OVER",
        )


HEADERS = ("image", "size", "budget", "base", "added", "result")


def layers(docker: DockerClient, ref: str) -> list[Layer]:
    """The image's layers, newest first, with the instruction that made each."""
    found = []
    for row in engine.image_history(docker, ref):
        created_by = " ".join(str(row.get("CreatedBy") or "").split())
        found.append(Layer(int(row.get("Size") or 0), created_by or "(imported base layer)"))
    return found


def budgeted(config: Config) -> list[Target]:
    """The targets slipway.yaml gives a size budget."""
    return [t for t, settings in config.targets.items() if settings.size_budget_mb is not None]
