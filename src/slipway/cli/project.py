"""The project: slipway's files for an existing uv project."""

from __future__ import annotations

from pathlib import Path

from invoke.context import Context
from invoke.tasks import task

from slipway.cli.edge import edge


@task(
    help={
        "package": "the package to ship, by name: needed in a uv workspace (default: the project)",
        "command": "how to start the server (default: inferred: uvicorn, gunicorn, a script)",
        "migrate": "the migration command, or 'none' (default: inferred: alembic, Django)",
        "port": "the port the server listens on in its container (default 8000)",
        "health-path": "the path that answers 200 while the server lives (default /health)",
        "database": "'postgres': a PostgreSQL service, its secret password, backups (default none)",
        "worker": "a worker role's command: the image runs it beside the server (default none)",
    }
)
@edge
def init(  # noqa: PLR0913, PLR0917 (invoke makes each flag a parameter)
    c: Context,
    package: str = "",
    command: str = "",
    migrate: str = "",
    port: int = 8000,
    health_path: str = "/health",
    database: str = "",
    worker: str = "",
) -> None:
    """Write slipway's files into this uv project; never overwrites one."""
    from slipway import init

    flags = init.Flags(package, command, migrate, port, health_path, database, worker)
    project = init.inspect(Path.cwd(), flags)
    print(init.summary(init.init(project), project))
