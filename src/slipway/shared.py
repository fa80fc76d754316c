"""An environment's state as its engine keeps it, so that every checkout and
CI runner deploying there sees the same: which release runs (the release
pointer), the configuration it was rolled out with, and its history.

The engine keeps them under ``state/`` of the environment's volume
(:mod:`slipway.kept`): ``release.env``, ``applied.json`` and
``history.jsonl`` (the environment's lines only). A command that reads them
first pulls them into ``.slipway/``, which is only a cache: deleted, it is
made again from the engine. A command that changes them (deploy, rollback,
down) pulls them once it holds the deploy lock and pushes them back before
it lets go, so two checkouts never write over each other.

An engine that keeps no state yet (the first deploy there, or stacks
deployed by a slipway from before) leaves ``.slipway/`` as it is, and the
next push sends it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from slipway import state

if TYPE_CHECKING:
    from slipway.config import Config, Environment

FOLDER = "state"
POINTER, APPLIED, HISTORY = "release.env", "applied.json", "history.jsonl"
# Nothing secret: readable as the rest of the volume's folders.
MODE = 0o644


class Store(Protocol):
    """Where the engine keeps files: :class:`slipway.kept.Kept`."""

    def read(self, folder: str) -> dict[str, bytes]: ...

    def write(self, files: Mapping[str, bytes], *, mode: int) -> None: ...


def _environment_of(line: bytes) -> str | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    return row.get("environment") if isinstance(row, dict) else None


def _split(config: Config, env: Environment) -> tuple[list[bytes], list[bytes]]:
    """history.jsonl's lines: the environment's, and every other one."""
    try:
        lines = state.history_file(config).read_bytes().splitlines()
    except FileNotFoundError:
        return [], []
    ours = [ln for ln in lines if ln.strip() and _environment_of(ln) == env.name]
    others = [ln for ln in lines if ln.strip() and _environment_of(ln) != env.name]
    return ours, others


def _replace(path: Path, data: bytes | None) -> None:
    """``path`` holds ``data`` (renamed over it whole); no file for None or b""."""
    if not data:
        path.unlink(missing_ok=True)
        return
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_bytes(data)
    scratch.replace(path)


def pull(store: Store, config: Config, env: Environment) -> bool:
    """Make ``.slipway/`` hold what the engine keeps for ``env``; False (and
    nothing changed here) when the engine keeps nothing yet."""
    kept = store.read(FOLDER)
    if not kept:
        return False
    _replace(state.release_file(config, env), kept.get(POINTER))
    _replace(state.applied_file(config, env), kept.get(APPLIED))
    _, others = _split(config, env)
    ours = [ln for ln in kept.get(HISTORY, b"").splitlines() if ln.strip()]
    lines = others + ours
    _replace(state.history_file(config), b"".join(ln + b"\n" for ln in lines))
    return True


def push(store: Store, config: Config, env: Environment) -> None:
    """Send what ``.slipway/`` holds for ``env`` to its engine (an empty
    pointer: no release runs)."""

    def read(path: Path) -> bytes:
        return path.read_bytes() if path.is_file() else b""

    ours, _ = _split(config, env)
    store.write(
        {
            f"{FOLDER}/{POINTER}": read(state.release_file(config, env)),
            f"{FOLDER}/{APPLIED}": read(state.applied_file(config, env)),
            f"{FOLDER}/{HISTORY}": b"".join(ln + b"\n" for ln in ours),
        },
        mode=MODE,
    )
