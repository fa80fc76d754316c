"""`invoke doctor` against the real engine: every row passes on a healthy copy,
each broken item is named, and `--json` carries the table's rows."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from pathlib import Path

import pytest

from slipway import config
from slipway.backends.compose import stack
from tests.docker.conftest import Project, make_project

pytestmark = pytest.mark.docker

Row = tuple[str, str, str]

# What the table must cover (the list), on this project.
EXPECTED_ROWS = [
    "engine",
    "buildx",
    "compose",
    "compose watch",
    "compose up --wait",
    "uv",
    "uv.lock",
    "python",
    "env prod",
    "env prod-pg",
    "env dev",
    "secret secrets/secret_key",
    "secret secrets/db_password",
    "port prod",
    "port prod-pg",
    "port dev",
    "image ghcr.io/astral-sh/uv:0.13.9",
    "image python:3.13-slim-trixie",
    "image haproxy:3.0",
    "image postgres:17",
    "image redis:8",
    "disk",
]


def ready(root: Path) -> Project:
    """A copy as a user has it once slipway has run: secret files from
    `invoke secrets`, env files created from their examples as deploy does."""
    copy = make_project(root)
    copy.ok("secrets")
    for env in config.load(copy.root / "slipway.yaml").environments.values():
        stack.ensure_env_file(env)
    return copy


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Project:
    # Nothing is built or started: doctor only looks, so there is nothing to remove.
    return ready(tmp_path_factory.mktemp("doctor"))


def table_rows(text: str) -> list[Row]:
    """The rows of a results table, cut at the columns its header rule marks."""
    lines = text.rstrip("\n").splitlines()
    starts = [m.start() for m in re.finditer(r"-+", lines[1])]
    ends = [*starts[1:], None]
    return [
        tuple(line[a:b].strip() for a, b in zip(starts, ends, strict=True))  # type: ignore[misc]
        for line in lines[2:]
    ]


def test_healthy_copy_passes_every_row(healthy: Project) -> None:
    result = healthy.invoke("doctor")

    rows = table_rows(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [name for name, _, _ in rows] == EXPECTED_ROWS
    assert [r for r in rows if r[1] != "ok"] == []
    assert ("port prod", "ok", f"127.0.0.1:{healthy.port} free") in rows


def test_each_broken_item_is_named(tmp_path: Path) -> None:
    copy = ready(tmp_path / "project")
    # 1. A key the example has, gone from the real env file.
    env_file = copy.root / "env/prod.env"
    env_file.write_text(
        "".join(ln for ln in env_file.read_text().splitlines(True) if "LOG_LEVEL" not in ln)
    )
    # 2. A secret file deleted, of an environment that has run a release here
    #    (of one never used it would be a note: deploy creates it).
    (copy.root / "secrets/db_password").unlink()
    (copy.root / ".slipway/prod-pg.env").write_text("SLIPWAY_IMAGE=slipway/notes:0123456789ab\n")
    # 3. No compose plugin: the docker CLI answers `docker compose` as 28.x
    #    does without the plugin; everything else reaches the real docker.
    real = shutil.which("docker")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(
        "#!/bin/sh\n"
        'if [ "$1" = compose ]; then\n'
        "  printf \"docker: unknown command: docker compose\\n\\nRun 'docker --help' "
        'for more information\\n" >&2; exit 1\n'
        "fi\n"
        f'exec {real} "$@"\n'
    )
    (bin_dir / "docker").chmod(0o755)
    # 4. The copy's port held by another program.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", copy.port))
        holder.listen()
        result = copy.invoke("doctor", PATH=f"{bin_dir}:{os.environ['PATH']}")

    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    rows = {name: (verdict, detail) for name, verdict, detail in table_rows(result.stdout)}
    in_use = f"prod: port 127.0.0.1:{copy.port} is in use"
    assert rows["env prod"] == (
        "FAIL",
        "env/prod.env lacks LOG_LEVEL (in env/prod.env.example): add them",
    )
    assert rows["secret secrets/db_password"] == (
        "FAIL",
        "secrets/db_password is missing (needed by prod-pg): `invoke secrets` creates it",
    )
    assert rows["port prod"][0] == "FAIL"
    assert rows["port prod"][1].startswith(in_use)
    assert rows["compose"] == (
        "FAIL",
        "the docker compose v2 plugin is missing: install docker-compose-plugin",
    )
    # What is not broken still passes: the failures are the four items'.
    for name in ("engine", "env dev", "secret secrets/secret_key", "image python:3.13-slim-trixie"):
        assert rows[name][0] == "ok", (name, rows[name])
    # The one line on stderr names every broken item too.
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("slipway: ")
    for named in (
        "env/prod.env lacks LOG_LEVEL",
        "secrets/db_password is missing",
        in_use,
        "the docker compose v2 plugin is missing",
    ):
        assert named in last


def test_json_rows_are_the_tables_rows(healthy: Project) -> None:
    table = table_rows(healthy.invoke("doctor").stdout)
    as_json = healthy.invoke("doctor", "--json")

    rows = [
        (r["name"], "ok" if r["ok"] else "FAIL", r["detail"]) for r in json.loads(as_json.stdout)
    ]
    assert as_json.returncode == 0, as_json.stderr
    # Free disk may move between the two runs (another build writing); the
    # rest is the same machine looked at twice.
    assert [r for r in rows if r[0] != "disk"] == [r for r in table if r[0] != "disk"]
    assert [r[:2] for r in rows] == [r[:2] for r in table]
    assert re.fullmatch(r"\d+\.\d GB free for the engine", {r[0]: r[2] for r in rows}["disk"])


def test_a_fresh_clone_passes_with_notes_for_what_deploy_creates(tmp_path: Path) -> None:
    # No env file, no secret: each environment's first deploy creates them.
    fresh = make_project(tmp_path / "fresh")
    assert not (fresh.root / "env/prod.env").exists()

    result = fresh.invoke("doctor")

    assert result.returncode == 0, result.stdout + result.stderr
    rows = {name: (verdict, detail) for name, verdict, detail in table_rows(result.stdout)}
    for name in (
        "env prod",
        "env prod-pg",
        "secret secrets/secret_key",
        "secret secrets/db_password",
    ):
        assert rows[name][0] == "note", (name, rows[name])
    assert rows["env prod"][1].startswith(
        "env/prod.env is not there yet: `invoke deploy --env prod`"
    )
    assert [r for r in rows.values() if r[0] == "FAIL"] == []

    one = fresh.invoke("doctor", "--env", "prod")
    names = [name for name, _, _ in table_rows(one.stdout)]
    assert one.returncode == 0, one.stdout + one.stderr
    assert [n for n in names if n.startswith(("env ", "port ", "secret "))] == [
        "env prod",
        "secret secrets/secret_key",
        "port prod",
    ]
