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


def test_database_url_is_built_from_parts_with_the_password_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "password").write_text("p@ss/w:rd\n")
    settings = Settings.from_env(
        {
            "DATABASE_HOST": "db",
            "DATABASE_NAME": "notes",
            "DATABASE_USER": "notes",
            "DATABASE_PASSWORD_FILE": str(tmp_path / "password"),
        }
    )
    assert settings.database_url == "postgresql+psycopg://notes:p%40ss%2Fw%3Ard@db:5432/notes"


def test_a_whole_database_url_wins_over_the_parts() -> None:
    settings = Settings.from_env({"DATABASE_URL": "sqlite:////x.db", "DATABASE_HOST": "db"})
    assert settings.database_url == "sqlite:////x.db"


@pytest.mark.parametrize("missing", ["DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD_FILE"])
def test_database_parts_name_the_missing_variable(tmp_path: Path, missing: str) -> None:
    (tmp_path / "password").write_text("secret")
    parts = {
        "DATABASE_HOST": "db",
        "DATABASE_NAME": "notes",
        "DATABASE_USER": "notes",
        "DATABASE_PASSWORD_FILE": str(tmp_path / "password"),
    }
    del parts[missing]
    with pytest.raises(ValueError, match=missing):
        Settings.from_env(parts)


def test_secret_key_file_wins_and_stays_out_of_repr(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("k" * 10 + "from-the-file" + "\n")
    settings = Settings.from_env({"SECRET_KEY_FILE": str(tmp_path / "key"), "SECRET_KEY": "env"})
    assert settings.secret_key == "kkkkkkkkkkfrom-the-file"  # noqa: S105 (a test value)
    assert "from-the-file" not in repr(settings)


@pytest.mark.parametrize(
    ("app_env", "key", "problem"),
    [
        ("dev", None, None),
        ("prod", None, "no secret key"),
        ("prod", "!!!SET SECRET_KEY!!!", "placeholder"),
        ("prod", "changeme-changeme-changeme-changeme", "placeholder"),
        ("prod", "x" * 40, "placeholder"),
        ("prod", "tooShort-9f3a", "fewer than 32"),
        ("prod", "Zq3x9-mK2_pLw8Rt4vYb7NcE1uHs6DfGa0JkTzQo", None),
    ],
)
def test_production_needs_a_real_secret_key(
    app_env: str, key: str | None, problem: str | None
) -> None:
    found = Settings(app_env=app_env, secret_key=key).production_problem()
    assert found is None if problem is None else problem in (found or "")


def test_min_free_bytes_defaults_to_one_mib_and_is_read() -> None:
    assert Settings.from_env({}).min_free_bytes == 1024 * 1024
    assert Settings.from_env({"NOTES_MIN_FREE_BYTES": "0"}).min_free_bytes == 0
    assert Settings.from_env({"NOTES_MIN_FREE_BYTES": " 65536 "}).min_free_bytes == 65536


@pytest.mark.parametrize("raw", ["1M", "-1", "lots"])
def test_invalid_min_free_bytes_raises_naming_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match="NOTES_MIN_FREE_BYTES"):
        Settings.from_env({"NOTES_MIN_FREE_BYTES": raw})
