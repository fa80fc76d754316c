"""The container's entrypoint: the database password into DATABASE_URL, then
the command. Ships with slipway; standard library only.

`slipway init` writes this file as docker/entrypoint.py; the Dockerfile's
base stage copies it to /usr/local/lib/slipway/entrypoint.py and names it as
the ENTRYPOINT, so the command (the image's CMD, or compose's `command:`, as
for the one-shot migration) runs through it.

Apps read one DATABASE_URL with the password inside it. The compose files
give the URL without the password, and DATABASE_PASSWORD_FILE, the secret
file that holds it (/run/secrets/db_password). This reads the file,
percent-encodes the password into the URL's user part, removes
DATABASE_PASSWORD_FILE from the environment and replaces itself with the
command (exec: the same process, so the init's signals reach the server
directly and the health probe's watchdog finds it as the init's child). The
password is thus only in the app's own process environment: in no env file,
compose file, label or `docker inspect`.

A singleton role (slipway.yaml's ``roles: {NAME: {singleton: true}}``) gets
SLIPWAY_LEASE, a file on a volume every container of the role mounts. Before
the command runs, this takes the lease: an exclusive flock on that file,
waited for while another process holds it. The kernel lets it go the moment
the holder dies (SIGKILL too), so it never goes stale, and the descriptor is
kept open through the exec, so the command holds it as long as it lives.
Each taking writes the next fencing token into the file and gives it to the
command as SLIPWAY_FENCING_TOKEN: a process can tag its writes with it, and
a store that refuses a lower token than it has seen fences out an old holder.

Without DATABASE_PASSWORD_FILE, or with DATABASE_URL set empty on purpose
(the app assembles its URL from parts and reads the file itself), the
environment is passed on as it is. A file that cannot
be read, or a URL with no user to put the password beside, is one line on
stderr and exit code 78 (EX_CONFIG): the container stops at once, saying why.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

PASSWORD_FILE = "DATABASE_PASSWORD_FILE"
URL = "DATABASE_URL"
EX_CONFIG = 78  # sysexits.h: a configuration error
LEASE = "SLIPWAY_LEASE"
TOKEN = "SLIPWAY_FENCING_TOKEN"
EX_NOTFOUND = 127  # as a shell says of a command it cannot find


class ConfigError(Exception):
    """What is wrong with the environment, in one line."""


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` percent-encoded beside its user (any password
    the URL had is replaced); ConfigError when it names no user."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    if not at or not user:
        raise ConfigError(
            f"{URL} names no user to give the password to: write it as scheme://USER@HOST:PORT/NAME"
        )
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def read_password(path: str) -> str:
    """The password in ``path``, without the line end a file may close with
    (as PostgreSQL's image reads POSTGRES_PASSWORD_FILE)."""
    try:
        password = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        why = f"{PASSWORD_FILE}={path}: cannot be read ({reason})"
        raise ConfigError(why) from None
    if not password:
        raise ConfigError(f"{PASSWORD_FILE}={path}: the file is empty")
    return password


def prepared(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment the command gets: DATABASE_URL with the password
    from DATABASE_PASSWORD_FILE, which is removed; unchanged without it."""
    env = dict(environ)
    path = env.get(PASSWORD_FILE, "")
    if not path or env.get(URL) == "":
        # None, or DATABASE_URL blanked on purpose: the app assembles its URL
        # from parts and reads the file itself.
        return env
    del env[PASSWORD_FILE]
    if not env.get(URL):
        why = f"{PASSWORD_FILE} is set but {URL} is not: set both, or neither"
        raise ConfigError(why)
    env[URL] = with_password(env[URL], read_password(path))
    return env


def take_lease(path: str) -> tuple[int, int]:
    """Hold the lease at ``path`` (waiting while another holds it) and take
    the next fencing token: (the open descriptor, which holds the lease,
    inheritable so the command keeps it; the token)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        why = f"{LEASE}={path}: cannot be opened ({exc.strerror})"
        raise ConfigError(why) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.stderr.write(f"entrypoint: waiting for the lease {path}: held by another\n")
        sys.stderr.flush()
        fcntl.flock(fd, fcntl.LOCK_EX)
    raw = os.pread(fd, 64, 0).strip()
    token = (int(raw) if raw.isdigit() else 0) + 1
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{token}\n".encode(), 0)
    os.fsync(fd)
    os.set_inheritable(fd, True)
    return fd, token


def main(argv: list[str], environ: MutableMapping[str, str]) -> int:
    """Prepare the environment and exec the command; an exit code on failure."""
    if not argv:
        sys.stderr.write("entrypoint: no command to run\n")
        return EX_CONFIG
    try:
        env = prepared(environ)
        if env.get(LEASE):
            env[TOKEN] = str(take_lease(env[LEASE])[1])
    except ConfigError as exc:
        sys.stderr.write(f"entrypoint: {exc}\n")
        return EX_CONFIG
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        sys.stderr.write(f"entrypoint: cannot run {argv[0]}: {exc.strerror}\n")
        return EX_NOTFOUND
    return 0  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
