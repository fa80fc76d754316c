"""The database init writes an environment for (``--database postgres``), and
the one it suggests when the package's locked dependencies name a driver.

The app reads one ``DATABASE_URL``. The compose file gives it the URL without
the password, and ``DATABASE_PASSWORD_FILE``; the image's entrypoint
(``docker/entrypoint.py``) puts the secret file's password into the URL when
the container starts, so no env file, compose file or ``docker inspect``
holds it.
"""

from __future__ import annotations

from collections.abc import Collection

# PostgreSQL drivers, in the order one is picked when the package has several:
# the locked package's name -> the SQLAlchemy URL scheme that names it.
POSTGRES_DRIVERS = {
    "psycopg": "postgresql+psycopg",
    "psycopg-binary": "postgresql+psycopg",
    "psycopg2": "postgresql+psycopg2",
    "psycopg2-binary": "postgresql+psycopg2",
    "asyncpg": "postgresql+asyncpg",
}
# Without a driver init knows: libpq's own form (psycopg, Django's
# dj-database-url and SQLAlchemy's default all read it).
PLAIN = "postgresql"
# The role and database the app uses, in the postgres service and the URL.
NAME = "app"
HOST, PORT = "db", 5432


def drivers(dependencies: Collection[str]) -> list[str]:
    """The PostgreSQL drivers among the package's locked dependencies."""
    return [name for name in POSTGRES_DRIVERS if name in dependencies]


def scheme(dependencies: Collection[str]) -> str:
    """The URL scheme for the package's driver (the first one found)."""
    found = drivers(dependencies)
    return POSTGRES_DRIVERS[found[0]] if found else PLAIN


def url(dependencies: Collection[str]) -> str:
    """``DATABASE_URL`` as the compose file holds it: no password in it."""
    return f"{scheme(dependencies)}://{NAME}@{HOST}:{PORT}/{NAME}"


def suggestion(database: str, dependencies: Collection[str]) -> str:
    """The line that suggests ``--database postgres``, or "" when it was given
    or the package uses no PostgreSQL driver."""
    found = drivers(dependencies)
    if database or not found:
        return ""
    return (
        f"the package depends on {', '.join(found)}: `slipway init --database postgres` "
        "writes a PostgreSQL service for it (a secret password, backups); to have it, "
        "remove the files written above and run that"
    )
