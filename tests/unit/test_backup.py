"""slipway.data.backup: which database a stack has, backup file names, retention, and
the row counts of every table: the SQLite scripts run here with this Python."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from slipway import handle
from slipway.config import Config
from slipway.data import backup, files, restore, rowcounts, scripts
from slipway.data.backup import BackupResult, Database, Kind, verification
from slipway.errors import CommandFailed, UsageError

WHEN = datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)


def test_file_name_holds_environment_utc_time_and_kind() -> None:
    assert backup.file_name("prod", Kind.SQLITE, WHEN) == "prod-20260102T030405.678Z.sqlite3"
    local = WHEN.astimezone(timezone(timedelta(hours=2)))
    assert (
        backup.file_name("prod-pg", Kind.POSTGRES, local) == "prod-pg-20260102T030405.678Z.pgdump"
    )


def test_parse_name_reads_back_what_file_name_wrote() -> None:
    name = backup.file_name("prod-pg", Kind.POSTGRES, WHEN)
    assert backup.parse_name(name) == ("prod-pg", "20260102T030405.678Z", Kind.POSTGRES)


@pytest.mark.parametrize(
    "name", ["notes.db", "prod-20260102.sqlite3", "prod-20260102T030405.678Z.tar", ".partial"]
)
def test_other_files_are_not_backups(name: str) -> None:
    assert backup.parse_name(name) is None


def names(env: str, count: int, kind: Kind = Kind.SQLITE) -> list[str]:
    return [backup.file_name(env, kind, WHEN + timedelta(hours=i)) for i in range(count)]


def test_retention_prunes_all_but_the_newest_per_environment() -> None:
    prod, prod_pg = names("prod", 5), names("prod-pg", 3, Kind.POSTGRES)
    listing = [*reversed(prod), *prod_pg, "README.txt"]
    assert backup.to_prune(listing, "prod", 2) == prod[:3]
    assert backup.to_prune(listing, "prod-pg", 2) == prod_pg[:1]


def test_retention_keeps_everything_under_the_limit() -> None:
    assert backup.to_prune(names("prod", 3), "prod", 7) == []


def test_a_postgres_service_makes_it_a_postgres_backup() -> None:
    model = {
        "services": {
            "app": {"image": "slipway/notes:prod", "environment": {"DATABASE_URL": ""}},
            "db": {
                "image": "postgres:17",
                "environment": {"POSTGRES_USER": "notes", "POSTGRES_DB": "notesdb"},
            },
        }
    }
    assert backup.database(model, "app") == Database(Kind.POSTGRES, "db", "notesdb", "notes")


def test_without_postgres_the_apps_sqlite_file_is_backed_up() -> None:
    model = {"services": {"app": {"environment": {"DATABASE_URL": "sqlite:////app/data/x.db"}}}}
    assert backup.database(model, "app") == Database(Kind.SQLITE, "app", "/app/data/x.db")


@pytest.mark.parametrize("environment", [{}, {"DATABASE_URL": ""}])
def test_without_postgres_or_a_database_url_it_says_what_to_set(
    environment: dict[str, str],
) -> None:
    model = {"services": {"app": {"environment": environment}}}
    with pytest.raises(UsageError, match=r"set DATABASE_URL=sqlite:////.* in app's environment"):
        backup.database(model, "app")


def test_an_external_database_is_refused_with_what_to_do() -> None:
    model = {"services": {"app": {"environment": {"DATABASE_URL": "postgresql://h/db"}}}}
    with pytest.raises(UsageError, match="back that database up with its own tools"):
        backup.database(model, "app")


# --- row counts: every table, compared table by table ------------------------

ODD = 'we"ird, name\nwith a newline'


def a_database(path: Path, notes: int) -> Path:
    """What the notes service's migrations leave, plus a table named oddly."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num TEXT PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('0001')")
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT)")
        db.executemany("INSERT INTO notes (text) VALUES (?)", [("n",)] * notes)
        quoted = ODD.replace('"', '""')
        db.execute(f'CREATE TABLE "{quoted}" (x)')
    db.close()
    return path


def run_script(script: str, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", script, *args], input=stdin, capture_output=True, check=True
    )


def test_the_sqlite_backup_counts_every_table_and_the_scratch_load_finds_the_same(
    tmp_path: Path,
) -> None:
    live = a_database(tmp_path / "live.db", notes=1000)
    done = run_script(scripts.SQLITE_BACKUP, str(live))
    expected = {"alembic_version": 1, "notes": 1000, ODD: 0}  # sqlite_sequence is SQLite's
    assert rowcounts.reported(done.stderr.decode().splitlines()) == expected

    loaded = json.loads(run_script(scripts.SQLITE_LOAD, stdin=done.stdout).stdout)
    assert loaded == {"integrity": "ok", "tables": expected}


def test_the_postgres_scripts_hold_the_count_query_and_report_what_rowcounts_reads() -> None:
    """The scripts are files in slipway/data/scripts/; what runs holds the query itself."""
    for script in (scripts.PG_BACKUP, scripts.PG_VERIFY, scripts.PG_RESTORE):
        assert "{pg_count.sql}" not in script
        assert "json_object_agg" in script
    assert f"\\warn {scripts.ROWS}:counted" in scripts.PG_BACKUP


def test_a_backup_that_reports_no_counts_fails_with_its_last_line() -> None:
    with pytest.raises(CommandFailed, match="the backup failed: no database at /x"):
        rowcounts.reported(["Container x Creating", "no database at /x: deploy first"])


@pytest.mark.parametrize("text", ["1000", '{"notes": "1000"}', '{"notes": true}', "notes 1000"])
def test_counts_that_are_not_a_table_to_integer_object_are_refused(text: str) -> None:
    with pytest.raises(CommandFailed, match="expected every table's row count as JSON"):
        rowcounts.parse(text)


COUNTED = {"alembic_version": 1, "notes": 1000}


def test_the_summaries_give_the_tables_and_the_rows_in_all() -> None:
    result = BackupResult(Path("b"), 278_528, 0.554, COUNTED, ())
    assert result.detail == "278,528 bytes, 2 tables, 1,001 rows, in 0.55s"
    check = verification("ok", dict(COUNTED), COUNTED)
    assert check.ok
    assert check.detail == "integrity ok, 2 tables with the rows counted at backup (1,001 rows)"
    assert backup.summary({"notes": 1}) == "1 table, 1 rows"


def test_one_table_off_by_one_row_fails_verification_naming_that_table() -> None:
    check = verification("ok", {"alembic_version": 1, "notes": 999}, COUNTED)
    assert not check.ok
    assert check.detail == "integrity ok, but notes has 999 rows (1,000 at backup)"


def test_a_missing_or_an_extra_table_fails_verification_naming_it() -> None:
    check = verification("ok", {"notes": 1000, ODD: 0}, COUNTED)
    assert not check.ok
    assert check.detail == (
        "integrity ok, but alembic_version is missing (1 rows at backup); "
        f"{json.dumps(ODD)} was not there at backup (0 rows)"
    )


def test_a_failed_integrity_check_fails_verification_whatever_the_counts() -> None:
    check = verification("*** in database main ***", dict(COUNTED), COUNTED)
    assert not check.ok
    assert check.detail == "integrity *** in database main ***"


def test_a_tampered_sqlite_backup_fails_verification_naming_the_table(tmp_path: Path) -> None:
    done = run_script(scripts.SQLITE_BACKUP, str(a_database(tmp_path / "live.db", notes=10)))
    expected = rowcounts.reported(done.stderr.decode().splitlines())
    copy = tmp_path / "copy.db"
    copy.write_bytes(done.stdout)
    with sqlite3.connect(copy) as db:
        db.execute("DELETE FROM notes WHERE id = 1")
    db.close()
    out = run_script(scripts.SQLITE_LOAD, stdin=copy.read_bytes()).stdout.decode()
    check = verification(*rowcounts.loaded(out, sqlite=True), expected)
    assert not check.ok
    assert check.detail == "integrity ok, but notes has 9 rows (10 at backup)"


# --- a restore checks the file before it touches anything ---------------------

SLIPWAY = str(Path(sys.executable).with_name("slipway"))


def a_pgdump(path: Path) -> Path:
    """What pg_dump --format=custom writes first: its magic, then its header."""
    path.write_bytes(b"PGDMP\x01\x10\x00\x04\x08\x08\x01\x01" + b"\x00" * 64)
    return path


def test_a_sqlite_backup_and_a_pg_dump_are_told_by_their_first_bytes(tmp_path: Path) -> None:
    sqlite = a_database(tmp_path / "prod-20260102T030405.678Z.sqlite3", notes=3)
    dump = a_pgdump(tmp_path / "prod-pg-20260102T030405.678Z.pgdump")

    assert files.kind_of(sqlite) is Kind.SQLITE
    assert files.kind_of(dump) is Kind.POSTGRES
    assert sqlite.read_bytes()[:16] == b"SQLite format 3\x00"


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("nosuch.sqlite3", None, "nosuch.sqlite3: no such backup file"),
        ("notes.db", b"SQLite format 3\x00", "notes.db is not a backup: slipway's are named"),
        ("prod-x.sqlite3", b"just text\n", "named like a .sqlite3 backup but is not a SQLite"),
        ("prod-x.pgdump", b"-- PostgreSQL dump\n", "not a pg_dump custom-format archive"),
        ("prod-x.pgdump", b"", "not a pg_dump custom-format archive"),
        ("prod-x.sqlite3", b"SQLite format 3\x00" + b"\x00" * 84, "not an intact SQLite"),
    ],
    ids=["missing", "suffix", "text", "plain-sql", "empty", "truncated"],
)
def test_a_file_that_is_not_a_backup_is_refused_naming_what_is_wrong(
    tmp_path: Path, name: str, content: bytes | None, why: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError, match=re.escape(why)):
        files.kind_of(path)
    if content is not None:
        assert path.read_bytes() == content  # looked at, never written


def test_a_folder_is_not_a_backup(tmp_path: Path) -> None:
    (tmp_path / "prod.sqlite3").mkdir()
    with pytest.raises(UsageError, match="is not a file"):
        files.kind_of(tmp_path / "prod.sqlite3")


def test_restore_refuses_a_bad_file_before_any_docker_command(config: Config) -> None:
    """The unit tests' docker CLI fails any call: the refusal comes first."""
    bogus = config.root / "prod-20260102T030405.678Z.sqlite3"
    bogus.write_text("not a database")
    for file in (bogus, config.root / "nosuch.sqlite3"):
        with pytest.raises(UsageError, match=r"nothing was touched|no such backup file"):
            restore.restore(handle.of(config, "prod", report=print), file)


@pytest.mark.parametrize("args", [("--help",), ("-h",), ("--env", "dev", "--help")])
def test_restore_help_is_the_help_and_acts_on_nothing(tmp_path: Path, args: tuple[str]) -> None:
    """invoke hands `--help` to the task as its FILE: it shows the help,
    outside any project, and writes nothing."""
    done = subprocess.run(
        [SLIPWAY, "restore", *args], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: slipway [--core-opts] restore [--options]")
    assert "the backup file to restore" in done.stdout
    assert done.stderr == ""
    assert list(tmp_path.iterdir()) == []


def test_restore_says_it_replaces_the_data_and_a_dump_runs_its_sql(config: Config) -> None:
    env = config.environment("prod")
    pg = Database(Kind.POSTGRES, "db", "notesdb", "notes")
    sqlite = Database(Kind.SQLITE, "app", "/app/data/notes.db")
    assert restore.warning(env, pg, Path("backups/x.pgdump")) == (
        "restoring x.pgdump replaces all of prod's data (notesdb) and runs the SQL the dump "
        "holds as notes: restore only backups you trust"
    )
    assert "replaces all of prod's data (/app/data/notes.db): " in restore.warning(
        env, sqlite, Path("x.sqlite3")
    )


# --- backup --verify: a failed backup is set aside, never counted -------------


def test_a_backup_set_aside_is_never_counted_nor_pruned(tmp_path: Path) -> None:
    for name in names("prod", 3):
        (tmp_path / name).write_bytes(b"good")
    newest = tmp_path / backup.file_name("prod", Kind.SQLITE, WHEN + timedelta(days=1))
    newest.write_bytes(b"bad")

    aside = backup.set_aside(newest)

    assert aside.name == f"{newest.name}.failed"
    assert not newest.exists()
    assert files.prune(tmp_path, "prod", 3) == ()
    assert files.prune(tmp_path, "prod", 2) == (tmp_path / names("prod", 1)[0],)
    assert aside.read_bytes() == b"bad"
