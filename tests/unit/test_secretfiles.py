"""slipway.secretfiles: which secret files an environment reads, and creating them."""

from __future__ import annotations

import stat
from pathlib import Path

from slipway import secretfiles
from slipway.config import Config

PROD_WITH_SECRETS = """\
services:
  app:
    secrets: [secret_key]
secrets:
  secret_key:
    file: ../secrets/secret_key
  from_env:
    environment: SOME_VARIABLE
  elsewhere:
    file: /etc/ssl/private/key.pem
"""
DEV_WITH_SECRETS = """\
secrets:
  db_password:
    file: ../secrets/db_password
  secret_key:
    file: ../secrets/secret_key
"""


def with_secrets(config: Config) -> Config:
    (config.root / "compose/prod.yaml").write_text(PROD_WITH_SECRETS)
    (config.root / "compose/dev.yaml").write_text(DEV_WITH_SECRETS)
    return config


def test_generated_values_are_long_random_and_url_safe() -> None:
    values = {secretfiles.generate() for _ in range(50)}
    assert len(values) == 50
    for value in values:
        assert len(value) == 64
        assert value.replace("-", "").replace("_", "").isalnum()


def test_declared_resolves_file_secrets_against_the_first_files_folder(config: Config) -> None:
    with_secrets(config)
    files = [config.root / "compose/base.yaml", config.root / "compose/prod.yaml"]
    assert secretfiles.declared(files) == [
        (config.root / "secrets/secret_key").resolve(),
        Path("/etc/ssl/private/key.pem"),
    ]


def test_ensure_creates_only_the_missing_files_under_secrets(config: Config) -> None:
    with_secrets(config)
    folder = config.root / "secrets"
    folder.mkdir()
    (folder / "secret_key").write_text("kept as it is")

    created = secretfiles.ensure(config)

    assert created == [(folder / "db_password").resolve()]
    assert (folder / "secret_key").read_text() == "kept as it is"
    assert len((folder / "db_password").read_text()) == 64
    assert secretfiles.ensure(config) == []


def test_ensure_for_one_environment_creates_only_its_secrets(config: Config) -> None:
    with_secrets(config)
    created = secretfiles.ensure(config, config.environment("prod"))
    assert [p.name for p in created] == ["secret_key"]
    assert not (config.root / "secrets/db_password").exists()


def test_folder_is_0700_and_files_0644_for_the_container_users(config: Config) -> None:
    with_secrets(config)
    secretfiles.ensure(config)
    folder = config.root / "secrets"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_an_environment_without_secrets_creates_nothing(config: Config) -> None:
    assert secretfiles.ensure(config) == []
    assert not (config.root / "secrets").exists()
