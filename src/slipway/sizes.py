"""Image sizes against their budgets, and where the bytes come from."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from python_on_whales import DockerClient
from python_on_whales.utils import run

from slipway import images
from slipway.checks import CheckResult, within_budget
from slipway.config import Config
from slipway.engine import docker_errors
from slipway.images import BuiltImage, Report
from slipway.tables import table

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
    with docker_errors(f"docker image history {ref}"):
        out = run(
            [
                *docker.docker_cmd,
                "image",
                "history",
                "--no-trunc",
                "--human=false",
                "--format",
                "{{json .}}",
                ref,
            ]
        )
    found = []
    for line in str(out).splitlines():
        row = json.loads(line)
        created_by = " ".join(str(row.get("CreatedBy") or "").split())
        found.append(Layer(int(row.get("Size") or 0), created_by or "(imported base layer)"))
    return found


def size_rows(
    docker: DockerClient, config: Config, *, report: Report | None = None
) -> list[SizeRow]:
    """Build every target that has a budget (cached builds are quick) and measure it."""
    base = images.build_stage(docker, config, images.BASE_STAGE, report=report)
    rows = []
    for target, settings in config.targets.items():
        if settings.size_budget_mb is None:
            continue
        image = images.build(docker, config, target, report=report)
        check = within_budget(image, settings.size_budget_mb)
        top = sorted(layers(docker, image.ref), key=lambda layer: layer.size, reverse=True)[:5]
        rows.append(SizeRow(image, settings.size_budget_mb, base.size, check, tuple(top)))
    return rows


def render(rows: Sequence[SizeRow]) -> str:
    """The size table, then the largest layers of every image over budget."""
    parts = [table(HEADERS, [r.cells() for r in rows])]
    for row in rows:
        if not row.check.ok:
            parts.append(f"largest layers of {row.image.ref}:")
            parts.append(
                table(
                    ("size", "instruction"),
                    [
                        (f"{layer.size / MB:.1f} MB", layer.created_by[:110])
                        for layer in row.largest_layers
                    ],
                )
            )
    return "\n".join(parts)
