"""What a benchmark measures: a named figure with its samples, and their summary."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Report = Callable[[str], None]


class BenchError(Exception):
    """A benchmark could not run; the message says what to do."""


@dataclass(frozen=True)
class Figure:
    """One measured quantity: every sample, summarised by median, min and max."""

    section: str
    name: str
    unit: str
    samples: tuple[float, ...]
    # What was run to get the samples, as a user would type it.
    command: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": round(self.median, 4),
            "min": round(self.min, 4),
            "max": round(self.max, 4),
            "runs": len(self.samples),
            "samples": [round(s, 4) for s in self.samples],
            "command": self.command,
        }


def ratios(section: str, name: str, over: Sequence[float], under: Sequence[float]) -> Figure:
    """Run-by-run ratio of two paired series (slipway's time over the raw CLI's)."""
    return Figure(section, name, "x", tuple(a / b for a, b in zip(over, under, strict=True)))


def fmt(value: float, unit: str) -> str:
    """A figure as the table shows it, with precision suited to its unit."""
    if unit == "count":
        return f"{value:.0f}"
    if unit == "x":
        return f"{value:.2f}x"
    if unit in {"ms", "s"} and value < 10:
        return f"{value:.2f} {unit}"
    if unit == "MB":
        return f"{value:.1f} MB"
    return f"{value:.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
