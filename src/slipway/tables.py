"""What tasks and sessions print from library results: plain-text tables,
or the same rows as JSON (`--json`) for scripts and CI."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from slipway.checks import CheckResult
from slipway.history import Release
from slipway.stack import ServiceStatus


def as_json(value: Any) -> str:
    """Dataclasses (or lists of them) as indented JSON."""
    if isinstance(value, list | tuple):
        data: Any = [dataclasses.asdict(v) for v in value]
    else:
        data = dataclasses.asdict(value)
    return json.dumps(data, indent=2)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, with a header rule."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def results_table(results: Sequence[CheckResult]) -> str:
    """The table `nox -s non_root` and `invoke check` print."""
    return table(
        ("check", "result", "detail"),
        [(r.name, "ok" if r.ok else "FAIL", r.detail) for r in results],
    )


def history_table(rows: Sequence[Release]) -> str:
    """`invoke history`: one line per deploy or rollback."""
    return table(
        ("time", "image", "outcome", "switch", "detail"),
        [
            (
                r.time,
                r.image,
                r.outcome,
                "-" if r.switch_seconds is None else f"{r.switch_seconds:.2f}s",
                r.detail[:80],
            )
            for r in rows
        ],
    )


def status_table(rows: Sequence[ServiceStatus]) -> str:
    """`invoke status`: one line per container, the proxy and each replica."""
    return table(
        ("service", "state", "health", "image", "ports"),
        [(r.service, r.state, r.health, r.image, r.ports) for r in rows],
    )
