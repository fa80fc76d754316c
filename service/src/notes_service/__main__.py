"""Command line: ``notes-service {serve,worker,migrate,check-db}``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from notes_service import __version__
from notes_service.db import create_db_engine, redact_url
from notes_service.migrate import current_revision, upgrade
from notes_service.readiness import check_readiness
from notes_service.settings import Settings

PACKAGE_DIR = Path(__file__).resolve().parent
GRACEFUL_SHUTDOWN_SECONDS = 5
# sysexits.h EX_CONFIG: the configuration, not the code, is wrong.
EXIT_CONFIG = 78


def _serve(settings: Settings) -> int:
    problem = settings.production_problem()
    if problem is not None:
        # One line, then a non-zero exit: the container fails visibly instead
        # of serving production with a guessable key.
        print(f"notes-service: refusing to start in prod: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    uvicorn.run(
        "notes_service.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        reload=settings.reload,
        reload_dirs=[str(PACKAGE_DIR)] if settings.reload else None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # The app honours the proxy's headers itself, from TRUSTED_PROXY only
        # (notes_service.proxied), not from whatever uvicorn would trust.
        proxy_headers=False,
    )
    return 0


def _migrate(settings: Settings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        upgrade(settings.database_url)
        engine = create_db_engine(settings.database_url)
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
    except (SQLAlchemyError, OSError) as exc:
        print(f"notes-service: migration failed: {exc}", file=sys.stderr)
        return 1
    print(f"migrated {redact_url(settings.database_url)} to {revision}")
    return 0


def _check_db(settings: Settings) -> int:
    engine = create_db_engine(settings.database_url)
    try:
        result = check_readiness(engine, min_free_bytes=settings.min_free_bytes)
    finally:
        engine.dispose()
    if result.ready:
        print(f"ready: schema at {result.revision}")
        return 0
    print(f"not ready: {result.reason}", file=sys.stderr)
    return 1


def _worker(settings: Settings) -> int:
    # Imported here: only this command needs it.
    from notes_service import worker

    return worker.run(settings)


COMMANDS = {"serve": _serve, "worker": _worker, "migrate": _migrate, "check-db": _check_db}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notes-service",
        description="Notes web service. Configured by environment variables "
        "(DATABASE_URL[_FILE] or DATABASE_HOST/_PORT/_NAME/_USER/_PASSWORD_FILE, "
        "SECRET_KEY[_FILE], APP_ENV, HOST, PORT, LOG_LEVEL, RELOAD, NOTES_FORCE_UNHEALTHY, "
        "NOTES_MIN_FREE_BYTES).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("serve", help="run the HTTP server (uvicorn)")
    sub.add_parser("worker", help="process new notes in the background until SIGTERM")
    sub.add_parser("migrate", help="upgrade the database schema to head")
    sub.add_parser("check-db", help="exit 0 if the database is reachable and at head")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"notes-service: invalid setting: {exc}", file=sys.stderr)
        return 2
    return COMMANDS[args.command](settings)


if __name__ == "__main__":
    sys.exit(main())
