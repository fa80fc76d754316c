"""The scripts slipway.backup runs in containers, kept apart from the logic.

The SQLite ones run with the app image's Python (``python -c``); the
PostgreSQL ones with ``sh -c`` in the database's container, PGUSER and
PGDATABASE set. Each writes a backup to stdout, or reads one from stdin,
and reports the rows of every table it saw as one JSON object, ``{"table":
rows, ...}``: on stderr as ``slipway-rows {...}`` while backing up (stdout
is the backup), on stdout otherwise. JSON, never free text: a table may be
named anything.
"""

from __future__ import annotations

# The prefix of the stderr line that carries a backup's counts.
ROWS = "slipway-rows "

# Every table but SQLite's own (sqlite_sequence, sqlite_stat1 ...), counted.
_SQLITE_COUNT = """\
def counted(db):
    names = [row[0] for row in db.execute(
        "SELECT name FROM sqlite_master"
        " WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name"
    )]
    quoted = {name: '"' + name.replace('"', '""') + '"' for name in names}
    return {name: db.execute(f"SELECT count(*) FROM {quoted[name]}").fetchone()[0]
            for name in names}
"""

# argv[1]: the live database. Snapshot to the one-shot's tmpfs, count, stream out.
SQLITE_BACKUP = f"""\
import json, os, shutil, sqlite3, sys, tempfile
{_SQLITE_COUNT}
live = sys.argv[1]
if not os.path.exists(live):
    sys.exit(f"no database at {{live}}: deploy the environment first")
source = sqlite3.connect(live)
with tempfile.TemporaryDirectory() as scratch:
    path = os.path.join(scratch, "backup.db")
    copy = sqlite3.connect(path)
    source.backup(copy)  # in one step: a consistent snapshot; writers are not blocked (WAL)
    rows = counted(copy)
    copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    copy.close()
    source.close()
    print({ROWS!r} + json.dumps(rows), file=sys.stderr)
    with open(path, "rb") as snapshot:
        shutil.copyfileobj(snapshot, sys.stdout.buffer)
"""

# stdin: a backup. Into a scratch file on tmpfs, integrity check, count; with
# argv[1] (the live database) and only if intact, copy it over the live one.
SQLITE_LOAD = f"""\
import json, shutil, sqlite3, sys, tempfile
{_SQLITE_COUNT}
with tempfile.NamedTemporaryFile(suffix=".db") as scratch:
    shutil.copyfileobj(sys.stdin.buffer, scratch)
    scratch.flush()
    try:
        db = sqlite3.connect(scratch.name)
        integrity = "; ".join(row[0] for row in db.execute("PRAGMA integrity_check"))
        rows = counted(db)
    except sqlite3.DatabaseError as exc:
        integrity, rows = str(exc), {{}}
    if len(sys.argv) > 1:
        if integrity != "ok":
            sys.exit(f"the backup failed its integrity check ({{integrity}}): nothing restored")
        live = sqlite3.connect(sys.argv[1])
        db.backup(live)
        live.close()
    print(json.dumps({{"integrity": integrity, "tables": rows}}))
"""

# One JSON object: every ordinary or partitioned table (partitions count in
# their parent) of the schemas the user owns (itself, or through a role such
# as pg_database_owner, public's owner), but the system's; named as a query
# on the default search_path would name it: `orders`, `"Odd name"`,
# `audit.events`. query_to_xml runs each count in the calling transaction,
# hence in its snapshot: no function to create, so it works READ ONLY.
_PG_COUNT = """\
SELECT coalesce(json_object_agg(t.name, t.counted ORDER BY t.name), '{}') AS counted
FROM (
  SELECT
    CASE WHEN n.nspname = 'public' THEN quote_ident(c.relname)
      ELSE format('%I.%I', n.nspname, c.relname) END AS name,
    (xpath('/row/n/text()', query_to_xml(
      format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, ''
    )))[1]::text::bigint AS counted
  FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
    AND pg_has_role(n.nspowner, 'USAGE')
) AS t"""

# PGUSER/PGDATABASE set. The counts and pg_dump share one exported snapshot
# (REPEATABLE READ: every statement of the transaction sees the snapshot of its
# first): the rows counted are exactly the rows dumped, however busy the writers.
PG_BACKUP = f"""psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SELECT pg_export_snapshot() AS snapshot \\gset
{_PG_COUNT} \\gset
\\setenv SLIPWAY_SNAPSHOT :snapshot
\\warn {ROWS}:counted
\\! exec pg_dump --format=custom --snapshot="$SLIPWAY_SNAPSHOT"
COMMIT;
SQL"""

# stdin: a dump. Into a scratch database (always dropped), amcheck, count.
PG_VERIFY = f"""set -e
scratch="slipway_verify_$$"
createdb "$scratch"
trap 'dropdb --if-exists "$scratch"' EXIT
pg_restore --exit-on-error --no-owner --dbname="$scratch"
pg_amcheck --install-missing --heapallindexed "$scratch" >&2
psql -X -q -A -t -v ON_ERROR_STOP=1 --dbname="$scratch" <<'SQL'
{_PG_COUNT};
SQL"""

# stdin: a dump. Replace the live database's objects, all or nothing; count.
PG_RESTORE = f"""set -e
pg_restore --clean --if-exists --single-transaction --exit-on-error --no-owner \\
  --dbname="$PGDATABASE"
psql -X -q -A -t -v ON_ERROR_STOP=1 <<'SQL'
{_PG_COUNT};
SQL"""
