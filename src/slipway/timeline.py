"""Where a deploy's seconds go: its phases, one after another, from the
moment the command's process started to the last mark.

A job marks each phase as it ends (:meth:`Timeline.mark`); a phase's
duration runs from the previous mark, so the phases add up to the wall time
the command took up to its last mark, its start-up (the interpreter, the
imports, reading slipway.yaml) included as the first phase.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def _process_started() -> float:
    """When this process started, on the monotonic clock; now where Linux's
    /proc does not say (the start-up phase then only counts from here)."""
    now = time.monotonic()
    try:
        stat = Path("/proc/self/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        # Field 22, counted after the command's name (which may hold spaces).
        ticks = int(stat.rpartition(")")[2].split()[19])
        age = uptime - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return now
    return now - age if 0 <= age < 3600 else now


@dataclass
class Timeline:
    """A command's phases, in order: (name, seconds)."""

    phases: list[tuple[str, float]] = field(default_factory=list)
    _last: float = field(default_factory=_process_started)

    def mark(self, phase: str) -> None:
        """``phase`` just ended: it took the time since the previous mark."""
        now = time.monotonic()
        self.phases.append((phase, now - self._last))
        self._last = now


# What a job marks a phase with: Timeline.mark, or mark_nothing.
Mark = Callable[[str], None]


def mark_nothing(_phase: str) -> None:
    """A timeline that keeps nothing (a job run without one)."""
