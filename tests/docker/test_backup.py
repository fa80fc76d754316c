"""`invoke backup [--verify]` and `invoke restore` on SQLite (prod) and PostgreSQL (prod-pg).

Both databases hold the service's two tables, notes and alembic_version (one
row): every table is counted, and verification compares them one by one.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import stat
import threading

import pytest

from slipway import backup
from slipway.config import load as load_config
from tests.docker.conftest import Project, http

pytestmark = pytest.mark.docker

# `wrote ...: N bytes, 2 tables, 1,001 rows, in 0.55s` and `verify ok: integrity
# ok, 2 tables with the rows counted at backup (1,001 rows)`.
WROTE = re.compile(r"wrote (\S+): ([\d,]+) bytes, (\d+) tables, ([\d,]+) rows, in ([\d.]+)s")
VERIFIED = re.compile(
    r"verify ok: integrity ok, (\d+) tables with the rows counted at backup \(([\d,]+) rows\)"
)


def backup_restore_round_trip(project: Project, env: str, suffix: str) -> None:
    """Back up, add a note, restore: the note written after the backup is gone."""
    status, kept = http("POST", f"{project.url}/notes", {"text": f"{env}: in the backup"})
    assert status == 201
    _, live = http("GET", f"{project.url}/notes?limit=1000")

    out = project.ok("backup", "--env", env, "--verify")
    written = re.search(
        rf"wrote (backups/{re.escape(env)}-\d{{8}}T\d{{6}}\.\d{{3}}Z\.{suffix}): "
        rf"[\d,]+ bytes, 2 tables, {len(live) + 1:,} rows, in",
        out,
    )
    assert written, out
    counted = f"2 tables with the rows counted at backup ({len(live) + 1:,} rows)"
    assert f"verify ok: integrity ok, {counted}" in out
    backup = project.root / written[1]
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(backup.parent.stat().st_mode) == 0o700

    status, newer = http("POST", f"{project.url}/notes", {"text": f"{env}: after the backup"})
    assert status == 201

    out = project.ok("restore", written[1], "--env", env)
    restored = f"(2 tables, {len(live) + 1:,} rows)"
    assert f"{env} is restored from {written[1]} {restored} and healthy" in out
    assert http("GET", f"{project.url}/notes/{kept['id']}") == (200, kept)
    assert http("GET", f"{project.url}/notes/{newer['id']}")[0] == 404
    assert http("GET", f"{project.url}/ready")[0] == 200


def test_sqlite_backup_verifies_and_restore_brings_back_the_backed_up_notes(
    project: Project,
) -> None:
    project.ok("deploy")
    backup_restore_round_trip(project, "prod", "sqlite3")


def test_postgres_backup_verifies_and_restore_brings_back_the_backed_up_notes(
    pg_project: Project,
) -> None:
    backup_restore_round_trip(pg_project, "prod-pg", "pgdump")


def test_restore_refuses_a_backup_of_the_other_database_kind(pg_project: Project) -> None:
    out = pg_project.ok("backup", "--env", "prod-pg")
    written = re.search(r"wrote (\S+\.pgdump)", out)
    assert written, out
    result = pg_project.invoke("restore", written[1], "--env", "prod")
    assert result.returncode == 1
    assert result.stderr.startswith("slipway: ")
    assert "is not a .sqlite3 backup" in result.stderr


def backup_while_writing(project: Project, env: str) -> str:
    """`backup --verify` while four clients keep adding notes."""
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            http("POST", f"{project.url}/notes", {"text": "written during the backup"})

    writers = [threading.Thread(target=write) for _ in range(4)]
    for writer in writers:
        writer.start()
    try:
        return project.ok("backup", "--env", env, "--verify")
    finally:
        stop.set()
        for writer in writers:
            writer.join()


def assert_the_restore_holds_the_rows_counted_at_backup(out: str) -> None:
    """Verification passed (every table as counted in the backup's snapshot),
    and its totals are the backup's."""
    wrote, verified = WROTE.search(out), VERIFIED.search(out)
    assert wrote, out
    assert verified, out
    assert (verified[1], verified[2]) == (wrote[3], wrote[4])
    assert verified[1] == "2"


def test_sqlite_backup_is_consistent_while_the_app_keeps_writing(project: Project) -> None:
    project.ok("deploy")
    assert_the_restore_holds_the_rows_counted_at_backup(backup_while_writing(project, "prod"))


def test_postgres_backup_is_consistent_while_the_app_keeps_writing(pg_project: Project) -> None:
    out = backup_while_writing(pg_project, "prod-pg")
    assert_the_restore_holds_the_rows_counted_at_backup(out)


def test_a_sqlite_backup_changed_after_its_count_fails_verification_naming_the_table(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One note deleted from the backup file: notes differs, alembic_version does not."""
    monkeypatch.setenv("APP_PORT", str(project.port))
    config = load_config(project.root / "slipway.yaml")
    project.ok("deploy")
    done = backup.backup(config, "prod")
    assert set(done.tables) == {"alembic_version", "notes"}, done.tables
    assert backup.verify(config, "prod", done).ok

    with sqlite3.connect(done.path) as db:
        db.execute("DELETE FROM notes WHERE id = (SELECT min(id) FROM notes)")
    db.close()
    check = backup.verify(config, "prod", done)
    notes = done.tables["notes"]
    assert not check.ok
    assert check.detail == f"integrity ok, but notes has {notes - 1:,} rows ({notes:,} at backup)"


def test_postgres_verification_names_the_table_whose_rows_differ_from_the_count(
    pg_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup said to hold one note more than it does: notes alone differs."""
    monkeypatch.setenv("APP_PORT", str(pg_project.port))
    config = load_config(pg_project.root / "slipway.yaml")
    done = backup.backup(config, "prod-pg")
    assert set(done.tables) == {"alembic_version", "notes"}, done.tables
    assert backup.verify(config, "prod-pg", done).ok

    notes = done.tables["notes"]
    said = dataclasses.replace(done, tables={**done.tables, "notes": notes + 1})
    check = backup.verify(config, "prod-pg", said)
    assert not check.ok
    assert check.detail == f"integrity ok, but notes has {notes:,} rows ({notes + 1:,} at backup)"
