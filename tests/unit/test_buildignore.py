"""What never enters an image: the project's own ignore lines, then slipway's,
in the Dockerfile-specific ignore file beside the Dockerfile it builds."""

from __future__ import annotations

from pathlib import Path

from slipway.build import ignore
from slipway.config import Config


def test_a_project_ignore_that_excludes_nothing_still_keeps_every_secret_out(
    config: Config,
) -> None:
    (config.context / ".dockerignore").write_text(".venv\n__pycache__\n")

    lines = ignore.ignore_text(config).splitlines()

    assert lines[:2] == [".venv", "__pycache__"]
    after = lines[lines.index(ignore.HEADER) :]
    for pattern in (".git", ".slipway", ".env", "**/.env", "**/.env.*", "secrets", "backups"):
        assert pattern in after
    assert "env/prod.env" in after
    assert "env/*.env" in after


def test_slipways_lines_come_last_so_no_negation_lets_a_secret_back_in(config: Config) -> None:
    (config.context / ".dockerignore").write_text("*\n!secrets\n!env/prod.env\n")

    lines = ignore.ignore_text(config).splitlines()

    assert lines.index("!secrets") < lines.index("secrets")
    assert lines.index("!env/prod.env") < lines.index("env/prod.env")


def test_the_dockerfile_specific_ignore_file_is_the_one_read(config: Config) -> None:
    (config.context / ".dockerignore").write_text("from-the-context\n")
    config.dockerfile.with_name("Dockerfile.dockerignore").write_text("for-this-dockerfile\n")

    assert ignore.ignore_text(config).splitlines()[0] == "for-this-dockerfile"


def test_compose_file_secrets_are_kept_out(config: Config, project_root: Path) -> None:
    (project_root / "compose/prod.yaml").write_text(
        "secrets:\n  api_key:\n    file: ../keys/api key[1].txt\n"
    )

    assert "keys/api key\\[1].txt" in ignore.never(config)


def test_the_build_uses_a_copy_of_the_dockerfile_beside_its_ignore_file(config: Config) -> None:
    config.dockerfile.write_text("FROM scratch\n")

    built = ignore.dockerfile(config)

    assert built == config.root / ".slipway/build/Dockerfile"
    assert built.read_text() == "FROM scratch\n"
    written = built.with_name("Dockerfile.dockerignore").read_text()
    assert written == ignore.ignore_text(config)
