"""Which release each environment ran, when, and how the deploy ended."""

from __future__ import annotations

import enum
import json
from collections.abc import Container
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from slipway.config import Config, Environment


class Outcome(enum.StrEnum):
    """How a deploy or rollback ended; the values are what history.jsonl holds."""

    OK = "ok"  # deployed, healthy, taking traffic
    FAILED = "failed"  # never healthy: it took no traffic
    ROLLED_BACK = "rolled back"  # after a failure, the previous release was started again
    ROLLBACK = "rollback"  # `invoke rollback` put this earlier release back


OK, FAILED, ROLLED_BACK, ROLLBACK = (
    Outcome.OK,
    Outcome.FAILED,
    Outcome.ROLLED_BACK,
    Outcome.ROLLBACK,
)
# Outcomes of a release that came up healthy.
GOOD = (OK, ROLLBACK)


@dataclass(frozen=True)
class Release:
    time: str
    environment: str
    image: str
    image_id: str
    outcome: Outcome
    detail: str = ""
    # Seconds the proxy took to move traffic to this release, when it moved.
    switch_seconds: float | None = None
    # sha256 of the release's SBOM file (.slipway/sbom/<tag>.cdx.json).
    sbom_sha256: str | None = None


def _path(config: Config) -> Path:
    return config.state_dir() / "history.jsonl"


def record(  # noqa: PLR0913 (a history row's fields, the optional ones by keyword)
    config: Config,
    env: Environment,
    image: str,
    image_id: str,
    outcome: Outcome,
    detail: str = "",
    *,
    switch_seconds: float | None = None,
    sbom_sha256: str | None = None,
) -> Release:
    entry = Release(
        datetime.now(UTC).isoformat(timespec="seconds"),
        env.name,
        image,
        image_id,
        outcome,
        detail,
        None if switch_seconds is None else round(switch_seconds, 3),
        sbom_sha256,
    )
    config.state_dir().mkdir(parents=True, exist_ok=True)
    with _path(config).open("a") as out:
        out.write(json.dumps(asdict(entry)) + "\n")
    return entry


def _parse(row: dict[str, object]) -> Release:
    return Release(**{**row, "outcome": Outcome(row["outcome"])})  # type: ignore[arg-type]


def releases(config: Config, env: Environment) -> list[Release]:
    """Oldest first."""
    try:
        with _path(config).open() as lines:
            entries = [_parse(json.loads(line)) for line in lines if line.strip()]
    except FileNotFoundError:
        return []
    return [e for e in entries if e.environment == env.name]


def last_good(
    config: Config,
    env: Environment,
    *,
    other_than: str | None = None,
    present: Container[str] | None = None,
) -> Release | None:
    """The newest release that came up healthy, skipping ``other_than`` and,
    given ``present``, releases whose image is no longer there (pruned)."""
    for entry in reversed(releases(config, env)):
        if entry.outcome not in GOOD or entry.image == other_than:
            continue
        if present is None or entry.image in present:
            return entry
    return None
