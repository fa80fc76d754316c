"""What the project is: its pyproject.toml and uv.lock, its uv workspace's
members and the one ``--package`` names, and its Python files."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slipway.errors import UsageError
from slipway.init.python import Choice


@dataclass(frozen=True)
class Project:
    """What init learned about the project, from its files and the flags."""

    root: Path  # where uv.lock is: the project, or its workspace's root
    name: str  # the package, normalized: also the compose project and image
    member: str  # the package's folder below root, POSIX; "" for root itself
    members: tuple[str, ...]  # every workspace member's folder (their pyproject.toml)
    command: tuple[str, ...]
    dev_command: tuple[str, ...]
    migrate: tuple[str, ...] | None
    port: int
    health_path: str
    source: tuple[str, ...]  # folders (and files) the dev loop syncs
    test_groups: tuple[str, ...]
    python: Choice  # the image's Python, and why
    database: str = ""  # --database: "" for none, or "postgres"
    worker: tuple[str, ...] = ()  # --worker: a worker role's command; () for none
    # The package's locked dependencies (uv.lock, followed through): which
    # database drivers it uses.
    dependencies: frozenset[str] = frozenset()


def pyproject(root: Path) -> dict[str, Any]:
    """``root``'s pyproject.toml; UsageError unless it is a locked uv project."""
    path = root / "pyproject.toml"
    if not path.is_file():
        raise UsageError(
            f"{root} is not a uv project: it has no pyproject.toml (create one with `uv init`)"
        )
    data = _read_pyproject(path)
    if not _workspace(data):  # a workspace's root is no other's member
        _refuse_a_member(root, data)
    if not (root / "uv.lock").is_file():
        raise UsageError("pyproject.toml has no uv.lock beside it: run `uv lock` first")
    return data


def _read_pyproject(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path.name} cannot be read: {exc}") from None


def _workspace(data: dict[str, Any]) -> dict[str, Any]:
    """pyproject's ``[tool.uv.workspace]``, {} when it is not a workspace's root."""
    workspace: dict[str, Any] = ((data.get("tool") or {}).get("uv") or {}).get("workspace") or {}
    return workspace


def _refuse_a_member(folder: Path, data: dict[str, Any]) -> None:
    """UsageError when ``folder`` is a member of a uv workspace whose root is
    above it: uv locks and syncs it there, so init runs there too. As uv
    looks, the nearest folder above with a ``[tool.uv.workspace]`` decides."""
    here = folder.resolve()
    for above in here.parents:
        try:
            workspace = _workspace(tomllib.loads((above / "pyproject.toml").read_text()))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue  # no pyproject.toml there, or one uv could not read either
        if not workspace:
            continue
        excluded = {
            p.resolve() for pattern in workspace.get("exclude", []) for p in above.glob(pattern)
        }
        globbed = {
            p.resolve() for pattern in workspace.get("members", []) for p in above.glob(pattern)
        }
        name = normal(str((data.get("project") or {}).get("name") or ""))
        if here in globbed - excluded and name:
            back = os.path.relpath(above, here)
            raise UsageError(
                f"this folder is the workspace member {name} of {above}: run "
                f"`slipway init --package {name}` at the workspace root ({back})"
            )
        return


def members(root: Path, data: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The uv workspace's members: normalized name -> (folder, pyproject)."""
    workspace = _workspace(data)
    excluded = {p for pattern in workspace.get("exclude", []) for p in root.glob(pattern)}
    found = {}
    for pattern in workspace.get("members", []):
        for folder in sorted(root.glob(pattern)):
            path = folder / "pyproject.toml"
            if folder in excluded or not path.is_file():
                continue
            member = _read_pyproject(path)
            name = str((member.get("project") or {}).get("name") or "")
            if name:
                found[normal(name)] = (folder.relative_to(root).as_posix(), member)
    return found


def normal(name: str) -> str:
    """A package's name as compose and image names take it."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")


def package(root: Path, data: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    """The folder (below root) and pyproject of the package to ship."""
    own = str((data.get("project") or {}).get("name") or "")
    found = members(root, data)
    if name:
        if normal(name) == normal(own):
            return "", data
        if normal(name) in found:
            return found[normal(name)]
        names = ", ".join(n for n in [own, *found] if n) or "none"
        raise UsageError(f"--package {name}: not this project nor a workspace member ({names})")
    if found:
        names = ", ".join(n for n in [own, *found] if n)
        raise UsageError(
            f"pyproject.toml is a uv workspace: pass --package with the one to ship ({names})"
        )
    if not own:
        raise UsageError("pyproject.toml has no [project] name: slipway init needs the project")
    return "", data


def locked(root: Path) -> set[str]:
    """The names of every package in uv.lock."""
    lock = tomllib.loads((root / "uv.lock").read_text())
    return {str(p.get("name", "")).lower() for p in lock.get("package", [])}


def dependencies(root: Path, name: str) -> frozenset[str]:
    """Every package ``name`` needs at run time, as uv.lock says: its
    dependencies followed through (with the extras asked for), not its
    dependency groups. All of uv.lock when the package is not in it."""
    lock = tomllib.loads((root / "uv.lock").read_text())
    packages = {_pep503(str(p.get("name", ""))): p for p in lock.get("package", [])}
    if _pep503(name) not in packages:
        return frozenset(packages)
    done: set[tuple[str, str]] = set()  # (package, extra or "" for its own)
    todo = [(_pep503(name), "")]
    while todo:
        current, extra = todo.pop()
        entry = packages.get(current)
        if entry is None or (current, extra) in done:
            continue
        done.add((current, extra))
        optional = (entry.get("optional-dependencies") or {}).get(extra, [])
        for dep in optional if extra else entry.get("dependencies", []):
            dep_name = _pep503(str(dep.get("name", "")))
            todo += [(dep_name, ""), *((dep_name, str(e)) for e in dep.get("extra", ()))]
    return frozenset(package for package, _ in done) - {_pep503(name)}


def _pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def python_files(root: Path) -> list[Path]:
    """The package's Python files, not its tests nor what tools keep."""
    skip = {".venv", ".git", ".nox", "node_modules", "tests", "test"}
    return sorted(p for p in root.rglob("*.py") if not skip & set(p.relative_to(root).parts[:-1]))


def source(home: Path) -> tuple[str, ...]:
    """What the dev loop syncs below the package's folder: src/, or the
    folders that hold its Python files (and manage.py)."""
    return tuple(d for d in ("src",) if (home / d).is_dir()) or tuple(
        sorted(
            {p.relative_to(home).parts[0] for p in python_files(home) if p.parent != home}
            | ({"manage.py"} if (home / "manage.py").is_file() else set())
        )
    )


def below(member: str, path: str) -> str:
    """``path`` in the member's folder, relative to the workspace's root."""
    return f"{member}/{path}" if member else path
