"""`invoke backup [--verify]` and `invoke restore` on SQLite (prod) and PostgreSQL (prod-pg)."""

from __future__ import annotations

import re
import stat
import threading

import pytest

from tests.docker.conftest import Project, http

pytestmark = pytest.mark.docker


def backup_restore_round_trip(project: Project, env: str, suffix: str) -> None:
    """Back up, add a note, restore: the note written after the backup is gone."""
    status, kept = http("POST", f"{project.url}/notes", {"text": f"{env}: in the backup"})
    assert status == 201
    _, live = http("GET", f"{project.url}/notes?limit=1000")

    out = project.ok("backup", "--env", env, "--verify")
    written = re.search(
        rf"wrote (backups/{re.escape(env)}-\d{{8}}T\d{{6}}\.\d{{3}}Z\.{suffix})", out
    )
    assert written, out
    assert f"verify ok: integrity ok, {len(live)} notes (live at backup: {len(live)})" in out
    backup = project.root / written[1]
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(backup.parent.stat().st_mode) == 0o700

    status, newer = http("POST", f"{project.url}/notes", {"text": f"{env}: after the backup"})
    assert status == 201

    out = project.ok("restore", written[1], "--env", env)
    assert f"{env} is restored from {written[1]} ({len(live)} notes) and healthy" in out
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


def test_sqlite_backup_is_consistent_while_the_app_keeps_writing(project: Project) -> None:
    project.ok("deploy")
    out = backup_while_writing(project, "prod")
    counted = re.search(r"verify ok: integrity ok, (\d+) notes \(live at backup: (\d+)\)", out)
    assert counted, out
    assert counted[1] == counted[2]


def test_postgres_backup_is_consistent_while_the_app_keeps_writing(pg_project: Project) -> None:
    out = backup_while_writing(pg_project, "prod-pg")
    counted = re.search(r"verify ok: integrity ok, (\d+) notes \(live at backup: (\d+)\)", out)
    assert counted, out
    assert counted[1] == counted[2]
