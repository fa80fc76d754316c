"""Plain-text tables: what tasks and sessions print from library results."""

from __future__ import annotations

from collections.abc import Sequence

from slipway.checks import CheckResult


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
