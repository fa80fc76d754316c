"""slipway.backup: which database a stack has, backup file names, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from slipway import backup
from slipway.backup import Database, Kind
from slipway.errors import UsageError

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
    assert backup.database({"services": {"app": {}}}, "app").name == "/app/data/notes.db"


def test_an_external_database_is_refused_with_what_to_do() -> None:
    model = {"services": {"app": {"environment": {"DATABASE_URL": "postgresql://h/db"}}}}
    with pytest.raises(UsageError, match="back that database up with its own tools"):
        backup.database(model, "app")
