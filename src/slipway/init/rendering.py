"""The files init writes: slipway's templates (in ``slipway/templates/``)
filled in with what init learned of the project."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from slipway.config import CONFIG_NAME, check_text
from slipway.errors import ConfigError, UsageError
from slipway.init import database
from slipway.init.project import Project, below

TEMPLATES = Path(__file__).parent.parent / "templates"
DEFAULT_UV = "0.13.9"
# Files copied as they are: Python that ships into the image.
_VERBATIM = ("docker/healthcheck.py", "docker/heartbeat.py", "docker/entrypoint.py")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
# Where each file goes: its template's name in TEMPLATES.
_NAMES = {
    "slipway.yaml": "slipway.yaml",
    "docker/Dockerfile": "docker/Dockerfile",
    "docker/healthcheck.py": "docker/healthcheck.py",
    "docker/heartbeat.py": "docker/heartbeat.py",
    "docker/entrypoint.py": "docker/entrypoint.py",
    "compose/base.yaml": "compose/base.yaml",
    "compose/prod.yaml": "compose/prod.yaml",
    "compose/dev.yaml": "compose/dev.yaml",
    "env/prod.env.example": "env/prod.env.example",
    "env/dev.env.example": "env/dev.env.example",
    ".dockerignore": "dockerignore",
    "tasks.py": "tasks.py",
    "noxfile.py": "noxfile.py",
    "Makefile": "Makefile",
}


def files(project: Project) -> dict[str, str]:
    """Every file init writes, by path relative to the project, with its text."""
    names = dict(_NAMES)
    if project.migrate:
        names["compose/migrate.yaml"] = "compose/migrate.yaml"
    if project.worker:
        names["compose/worker.yaml"] = "compose/worker.yaml"
    if project.database == "postgres":
        names["compose/postgres.yaml"] = "compose/postgres.yaml"
    values = _values(project)
    out = {}
    for target, template in names.items():
        text = (TEMPLATES / template).read_text()
        if template not in _VERBATIM:
            # One pass: a value holding {{...}} (a command's text) stays as it is.
            text = _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), text)
        out[target] = text
    _loadable(out[CONFIG_NAME], project.root / CONFIG_NAME)
    return out


def _values(project: Project) -> dict[str, str]:
    """What each template's ``{{name}}`` becomes."""
    base = ["compose/base.yaml", *(["compose/migrate.yaml"] if project.migrate else [])]
    base += ["compose/worker.yaml"] if project.worker else []
    # The database's compose file last: it adds to the app and the migration.
    db = ["compose/postgres.yaml"] if project.database == "postgres" else []
    tests = below(project.member, "tests")
    unit = [tests] if (project.root / tests).is_dir() else []
    return {
        "project": project.name,
        "package": project.name,
        "port": str(project.port),
        "health_path": project.health_path,
        "prod_files": ", ".join([*base, "compose/prod.yaml", *db]),
        "dev_files": ", ".join([*base, "compose/dev.yaml", *db]),
        "unit_tests": ", ".join(unit),
        "uv_version": _uv_version(),
        "python": project.python.version,
        "debian": project.python.debian,
        "command": _exec_form(project.command),
        "dev_command": _exec_form(project.dev_command),
        # In a compose file: $$ is a $ compose leaves alone (exec form: no shell expands it).
        "migrate": _exec_form(project.migrate or ()).replace("$", "$$"),
        "test_groups": "".join(f" --group {g}" for g in project.test_groups),
        "watch": _watch(project),
        **_workspace(project),
        "database_url": database.url(project.dependencies),
        "migrate_database": (
            (TEMPLATES / "compose/postgres-migrate.yaml").read_text() if project.migrate else ""
        ),
        "worker": _exec_form(project.worker).replace("$", "$$"),
        "worker_database": (
            (TEMPLATES / "compose/postgres-worker.yaml").read_text() if project.worker else ""
        ),
        "roles": _ROLES if project.worker else "",
    }


# slipway.yaml's prod environment, with a worker role.
_ROLES = """    # The worker (compose/worker.yaml), a role of the release: its own
    # replicas; `singleton: true` holds it to one at any moment.
    roles:
      worker:
        replicas: 1
"""


def _uv_version() -> str:
    uv = shutil.which("uv")
    if uv is None:
        return DEFAULT_UV
    out = subprocess.run([uv, "--version"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"\d+\.\d+\.\d+", out)
    return found.group(0) if found else DEFAULT_UV


def _exec_form(argv: tuple[str, ...]) -> str:
    return json.dumps(list(argv))


def _watch(project: Project) -> str:
    """compose watch: sync the sources, rebuild on the lock or a pyproject."""
    rules = [
        f"        - action: sync\n          path: ../{item}\n          target: /app/{item}"
        for item in project.source
    ]
    for item in ("pyproject.toml", *(f"{m}/pyproject.toml" for m in project.members), "uv.lock"):
        rules.append(f"        - action: rebuild\n          path: ../{item}")
    return "\n".join(rules)


def _workspace(project: Project) -> dict[str, str]:
    """The Dockerfile's lines that differ for a workspace member: uv must see
    every member's pyproject.toml, sync only the package, and the stages that
    run it start in its folder."""
    if not project.member and not project.members:
        return {
            "member_mounts": "",
            "package_flag": "",
            "no_install": "--no-install-project",
            "workdir": "",
        }
    mounts = "".join(
        f"    --mount=type=bind,source={m}/pyproject.toml,target={m}/pyproject.toml \\\n"
        for m in project.members
    )
    return {
        "member_mounts": mounts,
        "package_flag": f" --package {project.name}",
        "no_install": "--no-install-workspace",
        "workdir": f"WORKDIR /app/{project.member}\n" if project.member else "",
    }


def _loadable(text: str, path: Path) -> None:
    """Refuse to write a slipway.yaml that every later command would refuse."""
    try:
        check_text(text, path)
    except ConfigError as exc:
        raise UsageError(
            f"slipway init would write a {CONFIG_NAME} that does not load: {exc}"
        ) from None
