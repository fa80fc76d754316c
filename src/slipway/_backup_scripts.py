"""The scripts slipway.backup runs in containers, kept apart from the logic.

The SQLite ones run with the app image's Python (``python -c``); the
PostgreSQL ones with ``sh -c`` in the database's container, PGUSER and
PGDATABASE set. Each writes a backup to stdout, or reads one from stdin,
and reports the notes it saw: on stderr as ``slipway-notes N`` while
backing up, on stdout otherwise.
"""

from __future__ import annotations

# argv[1]: the live database. Snapshot to the one-shot's tmpfs, count, stream out.
SQLITE_BACKUP = """\
import os, shutil, sqlite3, sys, tempfile
live = sys.argv[1]
if not os.path.exists(live):
    sys.exit(f"no database at {live}: deploy the environment first")
source = sqlite3.connect(live)
with tempfile.TemporaryDirectory() as scratch:
    path = os.path.join(scratch, "backup.db")
    copy = sqlite3.connect(path)
    source.backup(copy)  # in one step: a consistent snapshot; writers are not blocked (WAL)
    notes = copy.execute("SELECT count(*) FROM notes").fetchone()[0]
    copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    copy.close()
    source.close()
    print(f"slipway-notes {notes}", file=sys.stderr)
    with open(path, "rb") as snapshot:
        shutil.copyfileobj(snapshot, sys.stdout.buffer)
"""

# stdin: a backup. Into a scratch file on tmpfs, integrity check, count; with
# argv[1] (the live database) and only if intact, copy it over the live one.
SQLITE_LOAD = """\
import json, shutil, sqlite3, sys, tempfile
with tempfile.NamedTemporaryFile(suffix=".db") as scratch:
    shutil.copyfileobj(sys.stdin.buffer, scratch)
    scratch.flush()
    try:
        db = sqlite3.connect(scratch.name)
        integrity = "; ".join(row[0] for row in db.execute("PRAGMA integrity_check"))
        notes = db.execute("SELECT count(*) FROM notes").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        integrity, notes = str(exc), -1
    if len(sys.argv) > 1:
        if integrity != "ok":
            sys.exit(f"the backup failed its integrity check ({integrity}): nothing restored")
        live = sqlite3.connect(sys.argv[1])
        db.backup(live)
        live.close()
    print(json.dumps({"integrity": integrity, "notes": notes}))
"""

# PGUSER/PGDATABASE set. The count and pg_dump share one exported snapshot.
PG_BACKUP = """psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SELECT pg_export_snapshot() AS snapshot, count(*) AS notes FROM notes \\gset
\\setenv SLIPWAY_SNAPSHOT :snapshot
\\warn slipway-notes :notes
\\! exec pg_dump --format=custom --snapshot="$SLIPWAY_SNAPSHOT"
COMMIT;
SQL"""

# stdin: a dump. Into a scratch database (always dropped), amcheck, count.
PG_VERIFY = """set -e
scratch="slipway_verify_$$"
createdb "$scratch"
trap 'dropdb --if-exists "$scratch"' EXIT
pg_restore --exit-on-error --no-owner --dbname="$scratch"
pg_amcheck --install-missing --heapallindexed "$scratch" >&2
psql -X -A -t --dbname="$scratch" -c 'SELECT count(*) FROM notes'"""

# stdin: a dump. Replace the live database's objects, all or nothing.
PG_RESTORE = """set -e
pg_restore --clean --if-exists --single-transaction --exit-on-error --no-owner \
  --dbname="$PGDATABASE"
psql -X -A -t -c 'SELECT count(*) FROM notes'"""
