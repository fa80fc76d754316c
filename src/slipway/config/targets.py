"""slipway.yaml's ``targets``: the Dockerfile stages users build, each with
an optional size budget (``prod:`` alone means none)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pydantic import Field

from slipway.config.values import Count, Section, TargetName
from slipway.errors import UsageError


class Target(enum.StrEnum):
    """The Dockerfile stages users build; values equal the stage names."""

    DEV = "dev"
    TEST = "test"
    PROD = "prod"

    @classmethod
    def parse(cls, name: str) -> Target:
        try:
            return cls(name)
        except ValueError:
            choices = ", ".join(t.value for t in cls)
            raise UsageError(f"unknown target {name!r}: choose one of {choices}") from None


@dataclass(frozen=True)
class TargetConfig:
    target: Target
    size_budget_mb: int | None


class TargetSettings(Section):
    """A Dockerfile target users build; `prod:` alone means no size budget."""

    size_budget_mb: Count | None = Field(None, description="Largest size the image may reach")


def resolve(targets: Mapping[TargetName, TargetSettings | None]) -> Mapping[Target, TargetConfig]:
    """Each target slipway.yaml names, with its budget."""
    return MappingProxyType(
        {
            Target(name): TargetConfig(Target(name), (spec or TargetSettings()).size_budget_mb)
            for name, spec in targets.items()
        }
    )
