from __future__ import annotations

from pathlib import Path

import pytest

from notes_service.__main__ import main


def test_migrate_then_check_db(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db_path}")
    assert main(["check-db"]) == 1
    assert "schema not migrated" in capsys.readouterr().err
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.startswith(f"migrated sqlite:///{db_path} to ")
    assert main(["check-db"]) == 0


def test_invalid_setting_exits_2_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "abc")
    assert main(["check-db"]) == 2
    err = capsys.readouterr().err
    assert "PORT" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("!!!SET SECRET_KEY!!!", "placeholder"),
        ("short-but-random-3f9a", "fewer than 32"),
        (None, "no secret key"),
    ],
)
def test_serve_refuses_prod_without_a_real_secret_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    key: str | None,
    reason: str,
) -> None:
    monkeypatch.setenv("APP_ENV", "prod")
    if key is not None:
        (tmp_path / "secret_key").write_text(key)
        monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "secret_key"))
    assert main(["serve"]) == 78
    err = capsys.readouterr().err
    assert err.startswith("notes-service: refusing to start in prod: ")
    assert reason in err
    assert len(err.strip().splitlines()) == 1
