"""What tasks and sessions print from library results: plain-text tables,
or the same rows as JSON (`--json`) for scripts and CI."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from slipway.backends import ServiceStatus
from slipway.checks import CheckResult, sizes
from slipway.checks.audit import Audit
from slipway.checks.sizes import MB, SizeRow
from slipway.deploy import DeployResult
from slipway.errors import command
from slipway.history import Release
from slipway.retention import Pruned


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return dataclasses.asdict(value)


def as_json(value: Any) -> str:
    """Dataclasses, lists of them, or a mapping of such, as indented JSON."""
    return json.dumps(_plain(value), indent=2)


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
        [(r.name, ("note" if r.note else "ok") if r.ok else "FAIL", r.detail) for r in results],
    )


def history_table(rows: Sequence[Release], env: str = "") -> str:
    """`invoke history`: one line per deploy or rollback."""
    if not rows:
        return f"{env}: no deploys yet"
    return table(
        ("time", "image", "id", "outcome", "switch", "sbom", "detail"),
        [
            (
                r.time,
                r.image,
                r.image_id.removeprefix("sha256:")[:12] or "-",
                r.outcome,
                "-" if r.switch_seconds is None else f"{r.switch_seconds:.2f}s",
                (r.sbom_sha256 or "-")[:12],
                r.detail[:80],
            )
            for r in rows
        ],
    )


def timeline_table(rows: Sequence[Release], env: str = "") -> str:
    """`invoke history --timeline`: each deploy's phases and their seconds,
    from the command's start to the release's record (a deploy's last phases,
    prune among them, come after it: `deploy --json` has them)."""
    timed = [r for r in rows if r.timeline]
    if not timed:
        return f"{env}: no deploy with a timeline yet"
    return table(
        ("time", "image", "outcome", "total", "phases"),
        [
            (
                r.time,
                r.image,
                r.outcome,
                f"{sum(seconds for _, seconds in r.timeline):.2f}s",
                ", ".join(f"{phase} {seconds:.2f}s" for phase, seconds in r.timeline),
            )
            for r in timed
        ],
    )


def status_table(rows: Sequence[ServiceStatus], env: str = "") -> str:
    """`invoke status`: one line per container, the proxy and each replica."""
    if not rows:
        return f"{env}: nothing is running ({command(f'deploy --env {env}')} starts it)"
    if any(r.node for r in rows):
        # A swarm's tasks: where each runs, and the digest it runs.
        return table(
            ("service", "node", "state", "health", "image", "digest"),
            [(r.service, r.node, r.state, r.health, r.image, r.image_id) for r in rows],
        )
    return table(
        ("service", "state", "health", "image", "id", "ports"),
        [(r.service, r.state, r.health, r.image, r.image_id, r.ports) for r in rows],
    )


def audit_table(done: Audit) -> str:
    """`invoke audit`: the vulnerable packages, or the one line saying none;
    then the packages it could not check, and the project's own it skipped."""
    if not done.findings:
        lines = [
            f"{done.checked} locked packages checked against {done.source}: "
            "no known vulnerabilities"
        ]
    else:
        lines = [
            table(
                ("package", "version", "vulnerabilities"),
                [(f.package, f.version, ", ".join(f.vulnerabilities)) for f in done.findings],
            )
        ]
    if done.not_checked:
        named = ", ".join(f"{u.package} {u.version} ({u.source})" for u in done.not_checked)
        lines.append(f"NOT checked (not from PyPI, OSV cannot know them): {named}")
    if done.own:
        lines.append(f"not audited (the project's own workspace members): {', '.join(done.own)}")
    return "\n".join(lines)


def size_table(rows: Sequence[SizeRow]) -> str:
    """The size table, then the largest layers of every image over budget."""
    parts = [table(sizes.HEADERS, [r.cells() for r in rows])]
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


def check_output(rows: Sequence[SizeRow], results: Sequence[CheckResult], *, json: bool) -> str:
    """`invoke check`: the sizes, then every check's result (or both as JSON)."""
    if json:
        return as_json({"sizes": rows, "checks": results})
    return f"{size_table(rows)}\n{results_table(results)}"


def deployed_line(result: DeployResult) -> str:
    """`invoke deploy`'s last line: where it serves and which release."""
    image = result.image
    return f"{result.environment} is healthy at {result.url} running {image.ref} ({image.short_id})"


def pruned_lines(done: Pruned, env: str) -> str:
    """`invoke prune`: each image removed, then what that freed and what is kept."""
    lines = [f"removed {ref}" for ref in done.removed]
    lines.append(
        f"{env}: removed {len(done.removed)} release image(s), {done.freed_bytes / 1e6:.1f} MB "
        f"freed; kept {', '.join(done.kept) or 'none'}"
    )
    return "\n".join(lines)
