"""Service configuration, read from the environment once per process."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL

DEFAULT_DATABASE_URL = "sqlite:////app/data/notes.db"
POSTGRES_DRIVER = "postgresql+psycopg"
POSTGRES_PORT = 5432
# APP_ENV value under which the service insists on real secrets.
PRODUCTION = "prod"
# token_urlsafe(48), what `invoke secrets` writes, is 64 characters.
MIN_SECRET_KEY_LENGTH = 32
# What example files and tutorials put where a secret belongs.
_PLACEHOLDER = re.compile(r"!!!|change.?me|placeholder|example|^(.)\1*$", re.IGNORECASE)
# /ready reports not ready below this much free space on SQLite's volume:
# 1 MiB is some 250 pages of headroom, small beside any real volume.
DEFAULT_MIN_FREE_BYTES = 1024 * 1024
LOG_LEVELS = frozenset({"critical", "error", "warning", "info", "debug", "trace"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def _read_secret_file(variable: str, path: str) -> str:
    """Read a value from the file named by a ``*_FILE`` variable (Docker secrets style)."""
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{variable}: cannot read {path!r}: {exc.strerror or exc}") from exc
    if not value:
        raise ValueError(f"{variable}: file {path!r} is empty")
    return value


def _parse_bool(variable: str, raw: str | None) -> bool:
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{variable} must be one of 1/true/yes/on or 0/false/no/off, got {raw!r}")


def _parse_int(variable: str, raw: str | None, default: int, *, low: int, high: int) -> int:
    """An integer setting within [low, high]; empty or unset means ``default``."""
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"{variable} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{variable} must be between {low} and {high}, got {value}")
    return value


def _parse_port(variable: str, raw: str | None, default: int) -> int:
    return _parse_int(variable, raw, default, low=1, high=65535)


def _parse_bytes(variable: str, raw: str | None, default: int) -> int:
    """Bytes; 0 turns the check that uses it off."""
    return _parse_int(variable, raw, default, low=0, high=2**63 - 1)


def _parse_log_level(variable: str, raw: str | None) -> str:
    if raw is None or not raw.strip():
        return "info"
    level = raw.strip().lower()
    if level not in LOG_LEVELS:
        choices = ", ".join(sorted(LOG_LEVELS))
        raise ValueError(f"{variable} must be one of {choices}, got {raw!r}")
    return level


def _required(environ: Mapping[str, str], variable: str, why: str) -> str:
    value = environ.get(variable, "").strip()
    if not value:
        raise ValueError(f"{variable} must be set {why}")
    return value


def _postgres_url(environ: Mapping[str, str]) -> str:
    """A PostgreSQL URL from DATABASE_HOST, _PORT, _NAME, _USER and _PASSWORD_FILE."""
    why = "when DATABASE_HOST is"
    password = _read_secret_file(
        "DATABASE_PASSWORD_FILE", _required(environ, "DATABASE_PASSWORD_FILE", why)
    )
    url = URL.create(
        POSTGRES_DRIVER,
        username=_required(environ, "DATABASE_USER", why),
        password=password,
        host=_required(environ, "DATABASE_HOST", why),
        port=_parse_port("DATABASE_PORT", environ.get("DATABASE_PORT"), POSTGRES_PORT),
        database=_required(environ, "DATABASE_NAME", why),
    )
    # URL.create escapes the password; rendering keeps it (it is the real URL).
    return url.render_as_string(hide_password=False)


def _parse_database_url(environ: Mapping[str, str]) -> str:
    # DATABASE_URL_FILE wins over DATABASE_URL, so a secret can override a
    # default; a whole URL wins over one assembled from DATABASE_HOST and co.
    file_path = environ.get("DATABASE_URL_FILE")
    if file_path:
        return _read_secret_file("DATABASE_URL_FILE", file_path)
    url = environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    if environ.get("DATABASE_HOST", "").strip():
        return _postgres_url(environ)
    return DEFAULT_DATABASE_URL


def _parse_secret_key(environ: Mapping[str, str]) -> str | None:
    # Like DATABASE_URL: the file (a compose secret) wins over the variable.
    file_path = environ.get("SECRET_KEY_FILE")
    if file_path:
        return _read_secret_file("SECRET_KEY_FILE", file_path)
    return environ.get("SECRET_KEY", "").strip() or None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service can be configured with."""

    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "info"
    host: str = "0.0.0.0"
    port: int = 8000
    reload: bool = False
    force_unhealthy: bool = False
    app_env: str = "dev"
    # Free space below which /ready fails on a SQLite database's volume (0: never).
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES
    # The host name of the proxy in front, whose X-Forwarded-For and
    # X-Forwarded-Proto are honoured (no one else's); None: nobody's.
    trusted_proxy: str | None = None
    # The worker's queue (notes_service.queue); None: the worker polls.
    redis_url: str | None = None
    # Kept out of repr so it never reaches a log or a traceback.
    secret_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default: ``os.environ``).

        Raises ``ValueError`` naming the offending variable for invalid values.
        """
        env = os.environ if environ is None else environ
        return cls(
            database_url=_parse_database_url(env),
            log_level=_parse_log_level("LOG_LEVEL", env.get("LOG_LEVEL")),
            host=env.get("HOST", "").strip() or "0.0.0.0",
            port=_parse_port("PORT", env.get("PORT"), 8000),
            reload=_parse_bool("RELOAD", env.get("RELOAD")),
            force_unhealthy=_parse_bool("NOTES_FORCE_UNHEALTHY", env.get("NOTES_FORCE_UNHEALTHY")),
            app_env=env.get("APP_ENV", "").strip().lower() or "dev",
            min_free_bytes=_parse_bytes(
                "NOTES_MIN_FREE_BYTES", env.get("NOTES_MIN_FREE_BYTES"), DEFAULT_MIN_FREE_BYTES
            ),
            trusted_proxy=env.get("TRUSTED_PROXY", "").strip() or None,
            redis_url=env.get("REDIS_URL", "").strip() or None,
            secret_key=_parse_secret_key(env),
        )

    def production_problem(self) -> str | None:
        """Why these settings must not serve production, or None.

        Outside APP_ENV=prod anything goes; in prod the secret key must be
        set, not a placeholder, and at least MIN_SECRET_KEY_LENGTH long.
        """
        if self.app_env != PRODUCTION:
            return None
        key = self.secret_key
        fix = "run `invoke secrets` (or put a random value in secrets/secret_key)"
        if key is None:
            return f"no secret key (set SECRET_KEY_FILE): {fix}"
        if _PLACEHOLDER.search(key):
            return f"the secret key is a placeholder: {fix}"
        if len(key) < MIN_SECRET_KEY_LENGTH:
            return (
                f"the secret key has {len(key)} characters, fewer than "
                f"{MIN_SECRET_KEY_LENGTH}: {fix}"
            )
        return None
