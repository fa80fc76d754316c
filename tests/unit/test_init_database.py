"""`slipway init --database postgres`: the PostgreSQL environment it writes,
the suggestion when the package uses a PostgreSQL driver, and the project's
own migration script offered as the migrate command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from slipway import init
from slipway.config import load
from slipway.data.backup import Database, database
from slipway.data.files import Kind
from slipway.errors import UsageError
from slipway.init.project import dependencies

PYPROJECT = """\
[project]
name = "Shop_API"
version = "0.1.0"
dependencies = ["fastapi", "uvicorn", "{driver}"]
"""
# uv.lock as uv writes it: the project, its dependencies, an extra followed
# through (psycopg[binary] -> psycopg-binary), and a package only a dev group uses.
PROJECT_LOCK = """\
[[package]]
name = "shop-api"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "fastapi" }, { name = "uvicorn" }, DEPS]
[package.dev-dependencies]
dev = [{ name = "asyncpg" }]
[[package]]
name = "psycopg"
version = "3.2.0"
[package.optional-dependencies]
binary = [{ name = "psycopg-binary" }]
"""
OTHERS = ("fastapi", "uvicorn", "asyncpg", "psycopg-binary", "psycopg2-binary")
LOCK = (
    "version = 1\n"
    + PROJECT_LOCK
    + "".join(f'[[package]]\nname = "{name}"\nversion = "1.0"\n' for name in OTHERS)
)
PSYCOPG = '{ name = "psycopg", extra = ["binary"] }'


def _project(root: Path, driver: str = "psycopg[binary]", deps: str = PSYCOPG) -> Path:
    root.mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT.format(driver=driver))
    (root / "uv.lock").write_text(LOCK.replace("DEPS", deps))
    (root / "src/shop_api").mkdir(parents=True)
    (root / "src/shop_api/__init__.py").write_text("")
    (root / "src/shop_api/main.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n")
    (root / "alembic.ini").write_text("[alembic]\n")
    return root


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return _project(tmp_path)


def test_the_locked_dependencies_are_followed_through_extras_but_not_dev_groups(
    shop: Path,
) -> None:
    assert dependencies(shop, "Shop_API") == {"fastapi", "uvicorn", "psycopg", "psycopg-binary"}


def test_postgres_writes_the_database_service_secret_and_the_url_without_password(
    shop: Path,
) -> None:
    written = init.files(init.inspect(shop, init.Flags(database="postgres")))
    compose = yaml.safe_load(written["compose/postgres.yaml"])
    db = compose["services"]["db"]
    assert db["image"] == "postgres:17"
    assert db["networks"] == ["db"]
    assert compose["networks"]["db"]["internal"] is True
    assert "pg-data" in compose["volumes"]
    assert compose["secrets"]["db_password"]["file"] == "../secrets/db_password"
    for service in ("app", "migrate"):
        env = compose["services"][service]["environment"]
        assert env["DATABASE_URL"] == "postgresql+psycopg://app@db:5432/app"
        assert env["DATABASE_PASSWORD_FILE"] == "/run/secrets/db_password"  # noqa: S105 (a path)
        assert compose["services"][service]["secrets"] == ["db_password"]
    # Backups find it as they find the reference service's database.
    assert database(compose, "app") == Database(Kind.POSTGRES, "db", "app", "app")
    assert "ENTRYPOINT [" in written["docker/Dockerfile"]
    assert "docker/entrypoint.py" in written


def test_postgres_is_in_prod_and_dev_and_the_config_loads(shop: Path) -> None:
    project = init.inspect(shop, init.Flags(database="postgres"))
    init.init(project)
    config = load(shop / "slipway.yaml")
    for env in ("prod", "dev"):
        names = [p.name for p in config.environment(env).compose_files]
        assert names[-1] == "postgres.yaml"
        assert "migrate.yaml" in names


def test_without_a_migration_the_postgres_file_names_no_migrate_service(shop: Path) -> None:
    project = init.inspect(shop, init.Flags(database="postgres", migrate="none"))
    compose = yaml.safe_load(init.files(project)["compose/postgres.yaml"])
    assert set(compose["services"]) == {"db", "app"}


@pytest.mark.parametrize(
    ("driver", "deps", "scheme"),
    [
        ("psycopg2-binary", '{ name = "psycopg2-binary" }', "postgresql+psycopg2"),
        ("asyncpg", '{ name = "asyncpg" }', "postgresql+asyncpg"),
        ("sqlalchemy", '{ name = "fastapi" }', "postgresql"),
    ],
)
def test_the_url_scheme_names_the_packages_driver(
    tmp_path: Path, driver: str, deps: str, scheme: str
) -> None:
    project = init.inspect(_project(tmp_path, driver, deps), init.Flags(database="postgres"))
    compose = yaml.safe_load(init.files(project)["compose/postgres.yaml"])
    url = compose["services"]["app"]["environment"]["DATABASE_URL"]
    assert url == f"{scheme}://app@db:5432/app"


def test_without_the_flag_no_database_is_written_and_init_suggests_it(shop: Path) -> None:
    project = init.inspect(shop)
    done = init.init(project)
    assert not (shop / "compose/postgres.yaml").exists()
    lines = init.summary(done, project).splitlines()
    suggested = [line for line in lines if "--database postgres" in line]
    assert suggested == [
        "suggestion: the package depends on psycopg, psycopg-binary: `slipway init --database "
        "postgres` writes a PostgreSQL service for it (a secret password, backups); to have "
        "it, remove the files written above and run that"
    ]


def test_no_suggestion_without_a_postgres_driver_or_with_the_flag(tmp_path: Path) -> None:
    plain = _project(tmp_path / "plain", "sqlalchemy", '{ name = "fastapi" }')
    project = init.inspect(plain)
    assert "suggestion" not in init.summary(init.init(project), project)
    pg = _project(tmp_path / "pg")
    project = init.inspect(pg, init.Flags(database="postgres"))
    out = init.summary(init.init(project), project)
    assert "suggestion" not in out
    assert "database: PostgreSQL 17 (compose/postgres.yaml)" in out


def test_another_database_is_one_line_and_nothing_is_written(shop: Path) -> None:
    before = sorted(shop.rglob("*"))
    with pytest.raises(UsageError) as caught:
        init.inspect(shop, init.Flags(database="mysql"))
    assert str(caught.value) == (
        "--database: expected postgres, got 'mysql' (leave it out for none)"
    )
    slipway = str(Path(sys.executable).parent / "slipway")
    argv = [slipway, "init", "--database", "sqlite"]
    done = subprocess.run(argv, cwd=shop, capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "slipway: --database: expected postgres, got 'sqlite' (leave it out for none)"
    )
    assert sorted(shop.rglob("*")) == before


@pytest.mark.parametrize(
    ("path", "first_line", "argv"),
    [
        ("scripts/prestart.sh", "#! /usr/bin/env bash", ("bash", "scripts/prestart.sh")),
        ("prestart.sh", "#!/bin/sh", ("sh", "prestart.sh")),
        ("scripts/migrate.sh", "set -e", ("sh", "scripts/migrate.sh")),
    ],
)
def test_the_projects_migration_script_is_offered_over_alembic(
    shop: Path, path: str, first_line: str, argv: tuple[str, ...]
) -> None:
    (shop / path).parent.mkdir(exist_ok=True)
    (shop / path).write_text(f"{first_line}\nalembic upgrade head\n")
    project = init.inspect(shop)
    assert project.migrate == argv
    assert f"migrates with: {' '.join(argv)}" in init.summary(init.init(project), project)
    assert init.inspect(shop, init.Flags(migrate="none")).migrate is None
    assert init.inspect(shop, init.Flags(migrate="make migrate")).migrate == ("make", "migrate")
