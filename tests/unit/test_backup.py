"""slipway.backup: which database a stack has, backup file names, retention, and
the row counts of every table: the SQLite scripts run here with this Python."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from slipway import _backup_scripts as scripts
from slipway import _rowcounts as rowcounts
from slipway import backup
from slipway.backup import BackupResult, Database, Kind, Verification
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
    check = Verification("ok", dict(COUNTED), COUNTED)
    assert check.ok
    assert check.detail == "integrity ok, 2 tables with the rows counted at backup (1,001 rows)"
    assert backup.summary({"notes": 1}) == "1 table, 1 rows"


def test_one_table_off_by_one_row_fails_verification_naming_that_table() -> None:
    check = Verification("ok", {"alembic_version": 1, "notes": 999}, COUNTED)
    assert not check.ok
    assert check.detail == "integrity ok, but notes has 999 rows (1,000 at backup)"


def test_a_missing_or_an_extra_table_fails_verification_naming_it() -> None:
    check = Verification("ok", {"notes": 1000, ODD: 0}, COUNTED)
    assert not check.ok
    assert check.detail == (
        "integrity ok, but alembic_version is missing (1 rows at backup); "
        f"{json.dumps(ODD)} was not there at backup (0 rows)"
    )


def test_a_failed_integrity_check_fails_verification_whatever_the_counts() -> None:
    check = Verification("*** in database main ***", dict(COUNTED), COUNTED)
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
    check = Verification(*rowcounts.loaded(out, sqlite=True), expected)
    assert not check.ok
    assert check.detail == "integrity ok, but notes has 9 rows (10 at backup)"
