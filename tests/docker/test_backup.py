"""`invoke backup [--verify]` and `invoke restore` on SQLite (prod) and PostgreSQL (prod-pg).

Both databases hold the service's four tables (notes, alembic_version with one
row, the worker's fence and runs): every table is counted, and verification
compares them one by one.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import stat
import threading

import pytest
from python_on_whales import Container

from slipway import handle
from slipway.config import load as load_config
from slipway.data import backup
from tests.docker.conftest import Project, app_containers, http, same_note

pytestmark = pytest.mark.docker

# The service's tables: its notes, alembic's revision, the worker's fence and runs.
SCHEMA = {"alembic_version", "notes", "worker_fence", "worker_runs"}
TABLES = len(SCHEMA)
# `wrote ...: N bytes, 4 tables, 1,003 rows, in 0.55s` and `verify ok: integrity
# ok, 4 tables with the rows counted at backup (1,003 rows)`.
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
        rf"[\d,]+ bytes, {TABLES} tables, ([\d,]+) rows, in",
        out,
    )
    assert written, out
    rows = written[2]
    # The notes, alembic's one row, the worker's fence and its runs.
    assert int(rows.replace(",", "")) >= len(live) + 3, out
    counted = f"{TABLES} tables with the rows counted at backup ({rows} rows)"
    assert f"verify ok: integrity ok, {counted}" in out
    backup = project.root / written[1]
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(backup.parent.stat().st_mode) == 0o700

    status, newer = http("POST", f"{project.url}/notes", {"text": f"{env}: after the backup"})
    assert status == 201

    out = project.ok("restore", written[1], "--env", env)
    assert f"{env} is restored from {written[1]} ({TABLES} tables, {rows} rows) and healthy" in out
    assert same_note(http("GET", f"{project.url}/notes/{kept['id']}"), kept)
    assert http("GET", f"{project.url}/notes/{newer['id']}")[0] == 404
    assert http("GET", f"{project.url}/ready")[0] == 200
    assert_the_data_restore_replaced_was_kept(project, out, env, suffix, newer["text"])


def assert_the_data_restore_replaced_was_kept(
    project: Project, out: str, env: str, suffix: str, text: str
) -> None:
    """Before stopping the app, restore backed up what it replaced (the note
    written after the backup included), said where, and said what it does."""
    kept = re.search(
        rf"kept {re.escape(env)}'s current data in (backups/before-restore/{re.escape(env)}-"
        rf"\S+\.{suffix}) \({TABLES} tables, [\d,]+ rows\): restore that file to undo",
        out,
    )
    assert kept, out
    assert f"replaces all of {env}'s data" in out
    # The worker writes the data too: it stops with the app.
    assert out.index(kept[0]) < out.index("stopping app, worker")
    before = project.root / kept[1]
    assert stat.S_IMODE(before.stat().st_mode) == 0o600
    data = before.read_bytes()
    if suffix == "pgdump":
        assert data.startswith(b"PGDMP")  # compressed: the note is not plain text in it
        return
    assert data.startswith(b"SQLite format 3\x00")
    assert text.encode() in data  # the note the restore took away is in it


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
    assert result.returncode == 2
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
    assert verified[1] == str(TABLES)


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
    prod = handle.of(config, "prod")
    done = backup.backup(prod)
    assert set(done.tables) == SCHEMA, done.tables
    assert backup.verify(prod, done).ok

    with sqlite3.connect(done.path) as db:
        db.execute("DELETE FROM notes WHERE id = (SELECT min(id) FROM notes)")
    db.close()
    check = backup.verify(prod, done)
    notes = done.tables["notes"]
    assert not check.ok
    assert check.detail == f"integrity ok, but notes has {notes - 1:,} rows ({notes:,} at backup)"


def test_postgres_verification_names_the_table_whose_rows_differ_from_the_count(
    pg_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup said to hold one note more than it does: notes alone differs."""
    monkeypatch.setenv("APP_PORT", str(pg_project.port))
    config = load_config(pg_project.root / "slipway.yaml")
    prod_pg = handle.of(config, "prod-pg")
    done = backup.backup(prod_pg)
    assert set(done.tables) == SCHEMA, done.tables
    assert backup.verify(prod_pg, done).ok

    notes = done.tables["notes"]
    said = dataclasses.replace(done, tables={**done.tables, "notes": notes + 1})
    check = backup.verify(prod_pg, said)
    assert not check.ok
    assert check.detail == f"integrity ok, but notes has {notes:,} rows ({notes + 1:,} at backup)"


# --- restore checks before it acts; backup --verify prunes only after a pass --


def deployed(project: Project) -> list[Container]:
    """prod's app containers, deploying it first unless it is running."""
    if not app_containers(project):
        project.ok("deploy")
    return app_containers(project)


def started(containers: list[Container]) -> list[tuple[str, str, str]]:
    """Each container's id, status and start time: what stopping it would change."""
    return [(c.id, (state := c.state).status, str(state.started_at)) for c in containers]


def test_restore_checks_the_file_before_it_touches_the_running_app(project: Project) -> None:
    """`restore --help` shows the help; a file that is not a backup for this
    environment is one line and exit 2: the app is never stopped."""
    before = started(deployed(project))
    backups = project.root / "backups"
    backups.mkdir(mode=0o700, exist_ok=True)
    text = backups / "prod-20990101T000000.000Z.sqlite3"
    text.write_text("not a database\n")
    dump = backups / "prod-20990101T000000.000Z.pgdump"
    dump.write_bytes(b"PGDMP" + bytes(64))

    helped = project.invoke("restore", "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("Usage: inv")
    assert "stopping" not in helped.stdout
    cases = {
        str(text.relative_to(project.root)): "is not a SQLite database",
        str(dump.relative_to(project.root)): "is not a .sqlite3 backup",
        "backups/nosuch.sqlite3": "no such backup file",
    }
    try:
        for file, why in cases.items():
            result = project.invoke("restore", file, "--env", "prod")
            assert result.returncode == 2, result.stdout + result.stderr
            assert result.stderr.startswith("slipway: "), result.stderr
            assert len(result.stderr.splitlines()) == 1, result.stderr
            assert why in result.stderr
            assert "stopping" not in result.stdout
    finally:
        text.unlink()
        dump.unlink()

    assert started(app_containers(project)) == before
    assert not (backups / "before-restore").exists() or all(
        "20990101" not in p.name for p in (backups / "before-restore").iterdir()
    )
    assert http("GET", f"{project.url}/ready")[0] == 200


# A table whose one row breaks its CHECK constraint: SQLite's integrity
# check fails on it, in the live database and in any backup of it.
BREAK = """\
import os, sqlite3
db = sqlite3.connect(os.environ["DATABASE_URL"].removeprefix("sqlite:///"))
db.execute("CREATE TABLE slipway_test_bad (x INTEGER CHECK (x > 0))")
db.execute("PRAGMA ignore_check_constraints = ON")
db.execute("INSERT INTO slipway_test_bad VALUES (-1)")
db.commit()
"""
MEND = """\
import os, sqlite3
db = sqlite3.connect(os.environ["DATABASE_URL"].removeprefix("sqlite:///"))
db.execute("DROP TABLE IF EXISTS slipway_test_bad")
db.commit()
"""


def prod_backups(project: Project) -> list[str]:
    names = (p.name for p in (project.root / "backups").iterdir())
    return sorted(n for n in names if (parsed := backup.parse_name(n)) and parsed[0] == "prod")


def test_a_backup_that_fails_verification_is_set_aside_and_prunes_no_good_one(
    project: Project,
) -> None:
    app = deployed(project)[0]
    keep = load_config(project.root / "slipway.yaml").backups.keep
    good = project.root / re.findall(r"wrote (\S+):", project.ok("backup", "--env", "prod"))[0]
    for days in range(1, keep - len(prod_backups(project)) + 1):  # older good ones, up to keep
        older = good.with_name(f"prod-2000{days:02d}01T000000.000Z.sqlite3")
        older.write_bytes(good.read_bytes())
    kept = prod_backups(project)
    assert len(kept) == keep

    app.execute(["python", "-c", BREAK])
    try:
        failed = project.invoke("backup", "--env", "prod", "--verify")
    finally:
        app.execute(["python", "-c", MEND])

    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "verify FAILED: integrity CHECK constraint failed in slipway_test_bad" in failed.stdout
    assert "removed" not in failed.stdout
    aside = re.search(
        r"set aside as (backups/prod-\S+\.sqlite3\.failed) \(not counted", failed.stderr
    )
    assert aside, failed.stderr
    assert (project.root / aside[1]).is_file()
    assert prod_backups(project) == kept  # every good backup is still there

    passed = project.ok("backup", "--env", "prod", "--verify")
    assert "verify ok" in passed
    assert f"removed backups/{kept[0]} (keeping the newest {keep})" in passed
    assert len(prod_backups(project)) == keep
    assert (project.root / aside[1]).is_file()  # set aside: never counted, never pruned
