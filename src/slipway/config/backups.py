"""slipway.yaml's ``backups``: where `backup` writes, and how many it keeps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from slipway.config.values import Count, Section, Text


@dataclass(frozen=True)
class Backups:
    """Where `invoke backup` writes, and how many backups it keeps per environment."""

    dir: Path
    keep: int


class BackupSettings(Section):
    """Where `backup` writes, and how many it keeps per environment."""

    dir: Text = "backups"
    keep: Count = 7


def resolve(settings: BackupSettings, root: Path) -> Backups:
    """The section, with its folder inside the project."""
    return Backups(dir=root / settings.dir, keep=settings.keep)
