"""Tool versions as the tools print them, compared by their numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_VERSION = re.compile(r"(?<![\w.])v?(\d+)\.(\d+)(?:\.(\d+))?[\w.+~-]*")


@dataclass(frozen=True, order=True)
class Version:
    """A version as a tool prints it (``2.26.1-4``, ``v2.29.0``), ordered by its numbers."""

    numbers: tuple[int, int, int]
    text: str = field(compare=False)

    def __str__(self) -> str:
        return self.text


def parse_version(text: str) -> Version | None:
    """The first version in a tool's output, e.g. ``Docker Compose version 2.26.1-4``."""
    match = _VERSION.search(text)
    if match is None:
        return None
    major, minor, patch = match.groups()
    return Version((int(major), int(minor), int(patch or 0)), match.group(0))
