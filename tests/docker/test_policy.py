"""`nox -s policy`: every prod service hardened, judged on `docker compose config`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.docker.conftest import Project
from tests.docker.test_checks import nox

pytestmark = pytest.mark.docker


def test_policy_passes_on_the_repositorys_prod_files(project: Project) -> None:
    result = nox(project, "policy")
    assert result.returncode == 0, result.stdout + result.stderr
    for service in ("prod: app", "prod: migrate", "prod-pg: app", "prod-pg: db"):
        assert f"{service}: " in result.stderr
    assert "one-shot: restart and healthcheck exempt" in result.stderr


def test_policy_fails_naming_service_and_rule_when_read_only_is_removed(
    project: Project, tmp_path: Path
) -> None:
    broken = project.root / f"compose-{tmp_path.name}"
    broken.mkdir()
    (broken / "base.yaml").write_text((project.root / "compose/base.yaml").read_text())
    prod = (project.root / "compose/prod.yaml").read_text()
    assert "  read_only: true\n" in prod
    (broken / "prod.yaml").write_text(prod.replace("  read_only: true\n", ""))
    settings = yaml.safe_load((project.root / "slipway.yaml").read_text())
    settings["environments"] = {
        "prod": {
            "target": "prod",
            "compose_files": [f"{broken.name}/base.yaml", f"{broken.name}/prod.yaml"],
            "env_file": "env/prod.env",
        }
    }
    variant = project.root / f"slipway-{tmp_path.name}.yaml"
    variant.write_text(yaml.safe_dump(settings))

    result = nox(project, "policy", SLIPWAY_CONFIG=str(variant))

    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert "prod: app: read_only: set read_only: true" in out
    assert "prod: migrate: read_only: set read_only: true" in out
    # Only the broken rule fails; the others still pass.
    assert "prod: app: init:" not in out
    assert "prod: app: cap_drop ALL:" not in out
