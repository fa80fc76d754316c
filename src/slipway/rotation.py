"""`slipway secrets --env ENV --rotate NAME`: a new value for a secret the
environment's engine keeps, and everything that must change with it.

Under the environment's deploy lock: when the secret is PostgreSQL's own
password (the database service reads it as ``POSTGRES_PASSWORD_FILE``), the
database's role gets the new value first, over the database container's own
socket, never in a command line or a log; then the engine keeps the new value
(and this checkout's file, when it has one, holds it too); then the release
that runs rolls onto it by the zero-downtime path, since the running
containers read the old one. With nothing running, the next deploy rolls:
the recorded configuration says which secrets were rotated
(:data:`slipway.state.ROTATED`), and a deploy of the same release is never
"nothing to roll" until it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from slipway import engine, secretfiles, state
from slipway.data import backup
from slipway.data.files import Kind
from slipway.deploy import under_lock
from slipway.engine import mounts
from slipway.errors import SlipwayError, UsageError
from slipway.handle import Handle
from slipway.kept import Kept


@dataclass(frozen=True)
class Rotated:
    name: str
    # The database role that now has the new value as its password, if any.
    role: str | None
    # The release rolled onto it (None: nothing ran, the next deploy rolls).
    rolled: str | None
    # This checkout's file, when it holds the new value too.
    file: Path | None


def rotate(handle: Handle, name: str) -> Rotated:
    """Give the secret ``name`` of the environment a new random value
    everywhere it is used (see the module)."""
    config, env = handle.config, handle.env
    with under_lock(handle, command=f"secrets --env {env.name} --rotate {name}"):
        used = secretfiles.used(env)
        if name not in used:
            which = ", ".join(used) or "none"
            raise UsageError(
                f"{env.name}'s services read no secret {name} (theirs: {which}): name one of them"
            )
        kept = Kept.of(handle.docker, config, env)
        kept.ensure()
        value = secretfiles.generate().encode()
        role = _database_role(handle, name)
        where = f"{mounts.SECRETS_FOLDER}/{name}"
        before = kept.read(mounts.SECRETS_FOLDER).get(name)
        # The engine keeps the new value before the database has it: a value
        # the database has is never one that nothing else keeps.
        kept.write({where: value}, mode=secretfiles.KEPT_MODE)
        if role is not None:
            try:
                _set_password(handle, role, value)
            except SlipwayError:
                if before is not None:
                    kept.write({where: before}, mode=secretfiles.KEPT_MODE)
                raise
            handle.report(f"PostgreSQL's role {role.user} has the new {name}")
        path = used[name]
        file = path if path.is_file() else None
        if file is not None:
            secretfiles.replace(file, value)
        handle.report(
            f"{engine.where(env)} keeps the new {name}"
            + (f", and so does {config.show(file)}" if file is not None else "")
        )
        state.mark_rotated(config, env, name)
        current = handle.backend.release()
        if current is not None:
            handle.report(f"rolling {current} onto it")
            handle.backend.roll(current, migrations=False, report=handle.report)
    return Rotated(name, role.user if role else None, current, file)


def _database_role(handle: Handle, name: str) -> backup.Database | None:
    """The PostgreSQL database whose own password is the secret ``name``, if
    any; SlipwayError when it is not running to be told the new one."""
    model = handle.backend.model()
    try:
        db = backup.database(model, handle.config.service)
    except UsageError:
        return None
    if db.kind is not Kind.POSTGRES:
        return None
    environment = (model.get("services") or {}).get(db.service, {}).get("environment") or {}
    password_file = str(environment.get("POSTGRES_PASSWORD_FILE") or "")
    if Path(password_file).name != name:
        return None
    running = {r.service for r in handle.backend.status() if r.state == "running"}
    if db.service not in running:
        env = handle.env.name
        raise SlipwayError(
            f"{name} is also the password PostgreSQL keeps in {env}'s data, and {db.service} "
            f"is not running to be told the new one: deploy {env} first, then rotate it"
        )
    return db


def _set_password(handle: Handle, db: backup.Database, value: bytes) -> None:
    """ALTER ROLE over the database container's socket; the SQL goes on stdin."""
    # token_urlsafe: letters, digits, - and _, nothing to quote.
    sql = f"ALTER ROLE \"{db.user}\" PASSWORD '{value.decode()}';\n".encode()
    command = backup.script_command(handle.backend, db, "psql -X -q -v ON_ERROR_STOP=1")
    backup.feed(command, sql, db, f"setting {db.user}'s password")
