"""How the package starts its server and migrates, inferred from its files:
Django (gunicorn, manage.py migrate), an ASGI app (uvicorn, alembic when
there is an alembic.ini), or the project's one script."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from slipway.errors import UsageError
from slipway.init.project import python_files

# Assignments that make an ASGI app: `app = FastAPI(...)`, Starlette, Litestar.
_ASGI = re.compile(r"^(\w+)\s*(?::\s*\w+\s*)?=\s*(FastAPI|Starlette|Litestar)\(", re.MULTILINE)
# A project's own migration script, where such projects keep one (FastAPI's
# full-stack template: scripts/prestart.sh running `alembic upgrade head`).
MIGRATION_SCRIPTS = ("scripts/prestart.sh", "prestart.sh", "scripts/migrate.sh")
_DJANGO_SETTINGS = re.compile(r"DJANGO_SETTINGS_MODULE['\"]\s*,\s*['\"]([\w.]+)\.settings['\"]")


def server(
    root: Path, data: dict[str, Any], port: int, locked: set[str]
) -> tuple[tuple[str, ...], ...]:
    """(command, dev command, migrate command or ()) inferred from the files
    of the package in ``root``; ``locked`` names every package in uv.lock."""
    manage = root / "manage.py"
    if manage.is_file():
        return _django(manage, port, locked)
    for path in python_files(root):
        match = _ASGI.search(path.read_text(errors="replace"))
        if match is None:
            continue
        if "uvicorn" not in locked:
            raise UsageError(f"{match.group(2)} needs an ASGI server: uv add uvicorn")
        app = f"{_module_of(root, path)}:{match.group(1)}"
        command = ("uvicorn", app, "--host", "0.0.0.0", "--port", str(port))
        migrate = ("alembic", "upgrade", "head") if (root / "alembic.ini").is_file() else ()
        return command, (*command, "--reload"), migrate
    scripts = list((data["project"].get("scripts") or {}).keys())
    if len(scripts) == 1:
        return (scripts[0],), (scripts[0],), ()
    raise UsageError(
        "cannot tell how to start the server: pass --command, e.g. "
        f"--command 'uvicorn myapp:app --host 0.0.0.0 --port {port}'"
    )


def _django(manage: Path, port: int, locked: set[str]) -> tuple[tuple[str, ...], ...]:
    """A Django project: gunicorn serves the settings' WSGI application."""
    found = _DJANGO_SETTINGS.search(manage.read_text())
    if found is None:
        raise UsageError("manage.py names no settings module: pass --command")
    if "gunicorn" not in locked:
        raise UsageError("a Django project needs gunicorn to serve: uv add gunicorn")
    wsgi = f"{found.group(1)}.wsgi:application"
    command = ("gunicorn", wsgi, "--bind", f"0.0.0.0:{port}", "--access-logfile", "-")
    dev = ("python", "manage.py", "runserver", f"0.0.0.0:{port}")
    return command, dev, ("python", "manage.py", "migrate", "--noinput")


def migration_script(root: Path) -> tuple[str, ...]:
    """The project's own migration script, run by the shell its first line
    names (bash, else sh); () when it has none."""
    for name in MIGRATION_SCRIPTS:
        path = root / name
        if path.is_file():
            first = path.read_text(errors="replace").partition("\n")[0]
            return ("bash" if "bash" in first else "sh", name)
    return ()


def _module_of(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[0] == "src":
        parts = parts[1:]
    return ".".join(parts)
