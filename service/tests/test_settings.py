from __future__ import annotations

from pathlib import Path

import pytest

from notes_service.settings import DEFAULT_DATABASE_URL, Settings


def test_defaults_when_environment_is_empty() -> None:
    assert Settings.from_env({}) == Settings(
        database_url=DEFAULT_DATABASE_URL,
        log_level="info",
        host="0.0.0.0",
        port=8000,
        reload=False,
        force_unhealthy=False,
    )


def test_database_url_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "database_url"
    secret.write_text("sqlite:////srv/secret.db\n", encoding="utf-8")
    settings = Settings.from_env({"DATABASE_URL_FILE": str(secret)})
    assert settings.database_url == "sqlite:////srv/secret.db"


def test_unreadable_database_url_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL_FILE"):
        Settings.from_env({"DATABASE_URL_FILE": str(tmp_path / "missing")})


def test_invalid_port_raises_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="PORT"):
        Settings.from_env({"PORT": "abc"})


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("0", False)])
def test_flags_are_parsed(raw: str, expected: bool) -> None:
    settings = Settings.from_env({"RELOAD": raw, "NOTES_FORCE_UNHEALTHY": raw})
    assert settings.reload is expected
    assert settings.force_unhealthy is expected


def test_invalid_flag_raises_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="NOTES_FORCE_UNHEALTHY"):
        Settings.from_env({"NOTES_FORCE_UNHEALTHY": "maybe"})
