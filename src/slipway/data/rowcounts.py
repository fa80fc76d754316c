"""Row counts by table, as slipway.data's in-container scripts report them.

A script prints one JSON object, ``{"table": rows, ...}``: never free text,
since a table may be named anything. Here it is read back, compared and
summed up for one-line messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from slipway.data.scripts import ROWS
from slipway.errors import CommandFailed

# A table name shown as it is, or as a JSON string when it holds anything odd.
_PLAIN = re.compile(r'[\w."]+')


def reported(lines: Sequence[str]) -> dict[str, int]:
    """The counts a backup script reported on stderr (``slipway-rows {...}``);
    CommandFailed with its last line of stderr when it reported none."""
    counts = [line.removeprefix(ROWS) for line in lines if line.startswith(ROWS)]
    if not counts:
        raise CommandFailed(f"the backup failed: {(list(lines) or ['no output'])[-1]}")
    return parse(counts[-1])


def loaded(out: str, *, sqlite: bool) -> tuple[str, dict[str, int]]:
    """(integrity, counts) of what a load script printed: SQLite's say both,
    ``{"integrity": "ok", "tables": {...}}``; PostgreSQL's print the counts
    only, stopping at the first failure, amcheck's included: output means intact."""
    if not sqlite:
        return "ok", parse(out)
    counts = parse(out, under="tables")  # so ``out`` is a JSON object
    return str(json.loads(out).get("integrity", "not reported")), counts


def parse(text: str, *, under: str | None = None) -> dict[str, int]:
    """The counts in a script's JSON (or under the key ``under`` of the object
    it printed); CommandFailed if they are not a table-to-integer object."""
    try:
        value = json.loads(text)
        if under is not None:
            value = value[under]
    except (ValueError, KeyError, TypeError):
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(rows, int) and not isinstance(rows, bool) for rows in value.values()
    ):
        raise CommandFailed(f"expected every table's row count as JSON, got: {text[:200]!r}")
    return {str(name): rows for name, rows in value.items()}


def verdict(integrity: str, found: Mapping[str, int], expected: Mapping[str, int]) -> str:
    """A verification's one line: the integrity check's answer, then the tables
    whose rows differ from the backup's count, or the tables and rows that match."""
    if integrity != "ok":
        return f"integrity {integrity}"
    if mismatched := differences(found, expected):
        return f"integrity ok, but {'; '.join(mismatched)}"
    rows = sum(found.values())
    return f"integrity ok, {tables(len(found))} with the rows counted at backup ({rows:,} rows)"


def differences(found: Mapping[str, int], expected: Mapping[str, int]) -> list[str]:
    """One phrase per table whose rows in ``found`` are not the ``expected``, by name."""
    phrases = []
    for name in sorted(found.keys() | expected.keys()):
        rows, wanted = found.get(name), expected.get(name)
        if rows == wanted:
            continue
        if rows is None:
            phrases.append(f"{shown(name)} is missing ({wanted:,} rows at backup)")
        elif wanted is None:
            phrases.append(f"{shown(name)} was not there at backup ({rows:,} rows)")
        else:
            phrases.append(f"{shown(name)} has {rows:,} rows ({wanted:,} at backup)")
    return phrases


def shown(name: str) -> str:
    """A table's name for a one-line message: as it is, or quoted if it holds odd characters."""
    return name if _PLAIN.fullmatch(name) else json.dumps(name)


def tables(count: int) -> str:
    """``1 table``, ``2 tables``."""
    return f"{count} {'table' if count == 1 else 'tables'}"
