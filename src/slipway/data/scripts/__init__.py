"""The scripts slipway.data runs in containers, as the files beside this one.

``sqlite.py`` runs with the app image's Python (``python -c``: the file,
then a line calling ``backup()`` or ``load()``). The PostgreSQL ones,
``pg_backup.sh``, ``pg_verify.sh`` and ``pg_restore.sh``, run with ``sh -c``
in the database's container, PGUSER and PGDATABASE set; where one says
``{pg_count.sql}``, the query in ``pg_count.sql`` is put. A file's leading
comment lines are for the reader and are not sent.

Each script writes a backup to stdout, or reads one from stdin, and reports
the rows of every table it saw as one JSON object, ``{"table": rows, ...}``:
on stderr as ``slipway-rows {...}`` while backing up (stdout is the backup),
on stdout otherwise. JSON, never free text: a table may be named anything.
"""

from __future__ import annotations

from itertools import dropwhile
from pathlib import Path

__all__ = ["PG_BACKUP", "PG_RESTORE", "PG_VERIFY", "ROWS", "SQLITE_BACKUP", "SQLITE_LOAD"]

# The prefix of the stderr line that carries a backup's counts (the backup
# scripts write it as it is).
ROWS = "slipway-rows "

_HERE = Path(__file__).parent
_COUNT = "{pg_count.sql}"


def _read(name: str) -> str:
    """The file ``name`` of this folder without its leading comment lines."""
    lines = (_HERE / name).read_text().splitlines(keepends=True)
    return "".join(dropwhile(lambda line: line.startswith(("#", "--")), lines))


def _sqlite(command: str) -> str:
    return f"{(_HERE / 'sqlite.py').read_text()}\n{command}()\n"


def _pg(name: str) -> str:
    """A PostgreSQL script, with the count query where it says so."""
    return _read(name).rstrip("\n").replace(_COUNT, _read("pg_count.sql").rstrip("\n"))


# argv[1]: the live database. Snapshot to the one-shot's tmpfs, count, stream out.
SQLITE_BACKUP = _sqlite("backup")
# stdin: a backup. Into a scratch file on tmpfs, integrity check, count; with
# argv[1] (the live database) and only if intact, copy it over the live one.
SQLITE_LOAD = _sqlite("load")
# The counts and pg_dump share one exported snapshot: the rows counted are
# exactly the rows dumped.
PG_BACKUP = _pg("pg_backup.sh")
# stdin: a dump. Into a scratch database (always dropped), amcheck, count.
PG_VERIFY = _pg("pg_verify.sh")
# stdin: a dump. Replace the live database's objects, all or nothing; count.
PG_RESTORE = _pg("pg_restore.sh")
