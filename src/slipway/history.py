"""Which release each environment ran, when, and how the deploy ended.

``.slipway/history.jsonl`` holds one JSON object a line. Each is appended
whole, in one write to a file opened for appending, and synced: two
commands appending at once never interleave, and a crash can leave at most
its own last line unfinished. A line that cannot be read (unfinished,
edited by hand, an outcome this version does not know) is skipped with one
warning on stderr: the history is a record, never a reason to fail.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from collections.abc import Container, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slipway import state
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
    # A deploy's phases up to this record, in order: (phase, seconds).
    timeline: tuple[tuple[str, float], ...] = ()


_REQUIRED = ("time", "environment", "image", "image_id", "outcome")
_FIELDS = frozenset(f.name for f in fields(Release))
# The unreadable lines already warned about, by file and line: a command
# reading the history twice warns once.
_warned: set[tuple[Path, int, bytes]] = set()


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
    timeline: Sequence[tuple[str, float]] = (),
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
        tuple((phase, round(seconds, 3)) for phase, seconds in timeline),
    )
    path = state.history_file(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    append(path, json.dumps(asdict(entry)))
    return entry


def append(path: Path, line: str) -> None:
    """Add ``line`` to ``path`` whole: one write with O_APPEND, then fsync.

    After an unfinished last line (a crash mid-write, or an older slipway),
    the line starts on a line of its own: it is never glued to the torn one.
    """
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
        data = (("\n" if torn else "") + line + "\n").encode()
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"{path}: wrote {written} of {len(data)} bytes (is the disk full?)")
        os.fsync(fd)
    finally:
        os.close(fd)


class _Unreadable(Exception):
    """A history line that holds no release this version can read: why."""


def _phases(value: Any) -> tuple[tuple[str, float], ...]:
    """A row's timeline: [[phase, seconds], ...]; _Unreadable when it is not."""
    pairs = value if isinstance(value, list) else None
    if pairs is None or not all(
        isinstance(pair, list)
        and len(pair) == 2
        and isinstance(pair[0], str)
        and isinstance(pair[1], int | float)
        and not isinstance(pair[1], bool)
        for pair in pairs
    ):
        raise _Unreadable("timeline not a list of [phase, seconds]")
    return tuple((phase, float(seconds)) for phase, seconds in pairs)


def _parse(row: Any) -> Release:
    """The release a line's JSON holds; _Unreadable saying what is wrong with it.
    Fields this version does not know (a newer slipway's) are left out."""
    if not isinstance(row, dict):
        raise _Unreadable("not a JSON object")
    if missing := [name for name in _REQUIRED if name not in row]:
        raise _Unreadable(f"no {', '.join(missing)}")
    known = {name: value for name, value in row.items() if name in _FIELDS}
    strings = ["time", "environment", "image", "image_id", "detail"]
    if wrong := [name for name in strings if not isinstance(known.get(name, ""), str)]:
        raise _Unreadable(f"{', '.join(wrong)} not a string")
    seconds = known.get("switch_seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)):
        raise _Unreadable("switch_seconds not a number")
    if not isinstance(known.get("sbom_sha256") or "", str):
        raise _Unreadable("sbom_sha256 not a string")
    known["timeline"] = _phases(known.get("timeline") or [])
    try:
        outcome = Outcome(known["outcome"])
    except ValueError:
        raise _Unreadable(f"unknown outcome {known['outcome']!r}") from None
    return Release(**{**known, "outcome": outcome})


def _line(line: bytes) -> Release | str:
    """The release one line holds, or why it holds none."""
    try:
        row = json.loads(line)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        return "not a whole JSON line"
    try:
        return _parse(row)
    except _Unreadable as exc:
        return str(exc)


def _read(path: Path, shown: str) -> Iterator[Release]:
    """Every readable line's release, oldest first; one warning on stderr for
    the lines that are not (the first one's number and why, and how many)."""
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        entry = _line(line)
        if isinstance(entry, Release):
            yield entry
        elif (path, number, line) not in _warned:
            _warned.add((path, number, line))
            bad.append((number, entry))
    if bad:
        _warn(shown, bad)


def _warn(shown: str, bad: list[tuple[int, str]]) -> None:
    number, why = bad[0]
    more = f" and {len(bad) - 1} more line(s)" if len(bad) > 1 else ""
    sys.stderr.write(
        f"slipway: warning: skipped line {number} of {shown} ({why}){more}: not a release "
        "record this version can read; the rest of the history is used\n"
    )


def releases(config: Config, env: Environment) -> list[Release]:
    """Oldest first; unreadable lines are skipped with a warning."""
    path = state.history_file(config)
    return [e for e in _read(path, config.show(path)) if e.environment == env.name]


def last_good(
    config: Config,
    env: Environment,
    *,
    other_than: str | None = None,
    present: Container[str] | None = None,
    image: str | None = None,
) -> Release | None:
    """The newest release that came up healthy, skipping ``other_than`` and,
    given ``present``, releases whose image is no longer there (pruned);
    given ``image``, only that one."""
    for entry in reversed(releases(config, env)):
        if entry.outcome not in GOOD or entry.image == other_than:
            continue
        if image is not None and entry.image != image:
            continue
        if present is None or entry.image in present:
            return entry
    return None


def served(entries: Sequence[Release]) -> list[Release]:
    """The releases an environment served, oldest first, as its deploys and
    rollbacks left them: a deploy adds its release; a rollback (and the
    automatic one after a failed deploy) goes back to its release, and those
    after it are no longer in the line."""
    line: list[Release] = []
    for entry in entries:
        if entry.outcome is OK:
            line.append(entry)
        elif entry.outcome in (ROLLBACK, ROLLED_BACK):
            images = [r.image for r in line]
            if entry.image in images:
                del line[len(images) - images[::-1].index(entry.image) :]
            else:
                line.append(entry)
    return line


def before(
    config: Config, env: Environment, current: str | None, *, present: Container[str]
) -> Release | None:
    """The release ``env`` served before ``current``, whose image is still
    ``present``: where a rollback goes (a second rollback goes further back)."""
    line = served(releases(config, env))
    while line and line[-1].image == current:
        line.pop()
    return next((r for r in reversed(line) if r.image != current and r.image in present), None)
