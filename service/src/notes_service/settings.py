"""Service configuration, read from the environment once per process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:////app/data/notes.db"
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


def _parse_port(variable: str, raw: str | None, default: int) -> int:
    if raw is None or not raw.strip():
        return default
    try:
        port = int(raw.strip())
    except ValueError:
        raise ValueError(f"{variable} must be an integer port number, got {raw!r}") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{variable} must be between 1 and 65535, got {port}")
    return port


def _parse_log_level(variable: str, raw: str | None) -> str:
    if raw is None or not raw.strip():
        return "info"
    level = raw.strip().lower()
    if level not in LOG_LEVELS:
        choices = ", ".join(sorted(LOG_LEVELS))
        raise ValueError(f"{variable} must be one of {choices}, got {raw!r}")
    return level


def _parse_database_url(environ: Mapping[str, str]) -> str:
    # DATABASE_URL_FILE wins over DATABASE_URL, so a secret can override a default.
    file_path = environ.get("DATABASE_URL_FILE")
    if file_path:
        return _read_secret_file("DATABASE_URL_FILE", file_path)
    url = environ.get("DATABASE_URL", "").strip()
    return url or DEFAULT_DATABASE_URL


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service can be configured with."""

    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "info"
    host: str = "0.0.0.0"
    port: int = 8000
    reload: bool = False
    force_unhealthy: bool = False

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
        )
