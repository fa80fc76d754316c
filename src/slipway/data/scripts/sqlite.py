"""What slipway runs next to a SQLite database, with the app image's Python.

Standard library only: it runs in the app's image, never where slipway is
installed. slipway sends this file's text with ``python -c``, followed by a
line calling one of its commands, :func:`backup` or :func:`load`. Each
reports the rows of every table but SQLite's own as one JSON object,
``{"table": rows, ...}``: never free text, since a table may be named
anything.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

# The prefix of the stderr line that carries a backup's counts.
ROWS = "slipway-rows "


def counted(db: sqlite3.Connection) -> dict[str, int]:
    """Every table but SQLite's own (sqlite_sequence, sqlite_stat1 ...), counted."""
    names = [
        str(row[0])
        for row in db.execute(
            "SELECT name FROM sqlite_master"
            " WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name"
        )
    ]
    quoted = {name: '"' + name.replace('"', '""') + '"' for name in names}
    # Each name is quoted as an identifier: nothing in it is read as SQL.
    return {
        name: int(db.execute(f"SELECT count(*) FROM {quoted[name]}").fetchone()[0])  # noqa: S608
        for name in names
    }


def backup() -> None:
    """argv[1]: the live database. Snapshot it to the one-shot's tmpfs, count,
    stream the snapshot to stdout; the counts go to stderr (``slipway-rows {...}``)."""
    live = sys.argv[1]
    if not Path(live).exists():
        sys.exit(f"no database at {live}: deploy the environment first")
    source = sqlite3.connect(live)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "backup.db"
        copy = sqlite3.connect(path)
        source.backup(copy)  # in one step: a consistent snapshot; writers are not blocked (WAL)
        rows = counted(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        copy.close()
        source.close()
        print(ROWS + json.dumps(rows), file=sys.stderr)
        with path.open("rb") as snapshot:
            shutil.copyfileobj(snapshot, sys.stdout.buffer)


def load() -> None:
    """stdin: a backup. Into a scratch file on tmpfs, integrity check, count;
    with argv[1] (the live database) and only if intact, copy it over the live
    one. stdout: ``{"integrity": "ok", "tables": {...}}``."""
    with tempfile.NamedTemporaryFile(suffix=".db") as scratch:
        shutil.copyfileobj(sys.stdin.buffer, scratch)
        scratch.flush()
        try:
            db = sqlite3.connect(scratch.name)
            integrity = "; ".join(str(row[0]) for row in db.execute("PRAGMA integrity_check"))
            rows = counted(db)
        except sqlite3.DatabaseError as exc:
            integrity, rows = str(exc), {}
        if len(sys.argv) > 1:
            if integrity != "ok":
                sys.exit(f"the backup failed its integrity check ({integrity}): nothing restored")
            live = sqlite3.connect(sys.argv[1])
            db.backup(live)
            live.close()
        print(json.dumps({"integrity": integrity, "tables": rows}))
