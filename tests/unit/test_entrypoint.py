"""The entrypoint slipway ships (templates/docker/entrypoint.py): the password
of DATABASE_PASSWORD_FILE into DATABASE_URL, then the command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.unit.conftest import TEMPLATES, load_template

entrypoint = load_template("entrypoint")
URL = "postgresql+psycopg://app@db:5432/app"


@pytest.mark.parametrize(
    "password",
    ["plain", "p@ss:w/rd?#%", "with space+plus", "ünï€ode", "100%[]&=;'\""],
)
def test_the_password_is_percent_encoded_and_reads_back_as_it_was(password: str) -> None:
    url = entrypoint.with_password(URL, password)
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port, parts.path) == (
        "postgresql+psycopg",
        "db",
        5432,
        "/app",
    )
    assert parts.username == "app"
    assert unquote(parts.password or "") == password
    assert url.count("@") == 1


def test_a_password_already_in_the_url_is_replaced() -> None:
    assert entrypoint.with_password("postgresql://app:old@db/app", "new") == (
        "postgresql://app:new@db/app"
    )


@pytest.mark.parametrize("url", ["postgresql://db:5432/app", "postgresql://:x@db/app"])
def test_a_url_without_a_user_is_one_line(url: str) -> None:
    with pytest.raises(entrypoint.ConfigError) as caught:
        entrypoint.with_password(url, "secret")
    assert "DATABASE_URL names no user" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_the_file_variable_is_removed_and_the_url_completed(tmp_path: Path) -> None:
    secret = tmp_path / "db_password"
    secret.write_text("s3cr:et\n")
    env = entrypoint.prepared(
        {"DATABASE_URL": URL, "DATABASE_PASSWORD_FILE": str(secret), "PATH": "/bin"}
    )
    assert env == {"DATABASE_URL": "postgresql+psycopg://app:s3cr%3Aet@db:5432/app", "PATH": "/bin"}


def test_without_the_file_variable_the_environment_is_unchanged() -> None:
    assert entrypoint.prepared({"DATABASE_URL": "sqlite:////app/data/x.db"}) == {
        "DATABASE_URL": "sqlite:////app/data/x.db"
    }


@pytest.mark.parametrize(
    ("content", "environ", "message"),
    [
        (None, {"DATABASE_URL": URL}, "cannot be read (No such file or directory)"),
        ("\n", {"DATABASE_URL": URL}, "the file is empty"),
        ("pw", {}, "DATABASE_PASSWORD_FILE is set but DATABASE_URL is not"),
    ],
)
def test_what_cannot_be_done_is_one_line(
    tmp_path: Path, content: str | None, environ: dict[str, str], message: str
) -> None:
    secret = tmp_path / "db_password"
    if content is not None:
        secret.write_text(content)
    with pytest.raises(entrypoint.ConfigError) as caught:
        entrypoint.prepared({**environ, "DATABASE_PASSWORD_FILE": str(secret)})
    assert message in str(caught.value)


def _run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    """The entrypoint run as the container runs it, with ``env`` and a PATH."""
    argv = (sys.executable, str(TEMPLATES / "docker/entrypoint.py"), *argv)
    env = {"PATH": "/usr/bin:/bin", **env}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)


def test_the_command_runs_in_its_place_with_the_url(tmp_path: Path) -> None:
    secret = tmp_path / "db_password"
    secret.write_text("pw/1")
    script = "import os, sys; print(os.getpid(), os.environ['DATABASE_URL'], "
    script += "'DATABASE_PASSWORD_FILE' in os.environ); sys.exit(3)"
    env = {"DATABASE_URL": URL, "DATABASE_PASSWORD_FILE": str(secret)}
    done = _run(env, sys.executable, "-c", script)
    assert done.returncode == 3  # the command's own exit code: it replaced the entrypoint
    assert done.stdout.split()[1:] == ["postgresql+psycopg://app:pw%2F1@db:5432/app", "False"]


def test_an_unreadable_file_stops_the_container_with_one_line(tmp_path: Path) -> None:
    env = {"DATABASE_URL": URL, "DATABASE_PASSWORD_FILE": str(tmp_path / "missing")}
    done = _run(env, "true")
    assert done.returncode == entrypoint.EX_CONFIG
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("entrypoint: DATABASE_PASSWORD_FILE=")


def test_a_command_that_does_not_exist_is_one_line() -> None:
    done = _run({}, "no-such-command-here")
    assert done.returncode == entrypoint.EX_NOTFOUND
    assert done.stderr == "entrypoint: cannot run no-such-command-here: No such file or directory\n"
    assert _run({}).returncode == entrypoint.EX_CONFIG
