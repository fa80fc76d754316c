"""Writing init's files safely: never over a file that exists, never through
a symlink (O_EXCL for a new file, O_NOFOLLOW for .gitignore, which only gains
the lines it lacks: slipway's, and those that keep what it writes tracked by
git, see :mod:`~slipway.init.tracking`), and a summary of what was done."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from slipway import state
from slipway.config import publish_schema
from slipway.errors import SlipwayError
from slipway.init import database, tracking
from slipway.init.project import Project
from slipway.init.rendering import TEMPLATES, files


@dataclass(frozen=True)
class Done:
    written: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (file, why)
    warnings: tuple[str, ...] = ()  # what git would have ignored, and what keeps it


def init(project: Project) -> Done:
    """Write what is missing; never change a file that exists (.gitignore
    only gains the lines it lacks), never write through a symlink."""
    written: list[str] = []
    skipped: list[tuple[str, str]] = []
    wanted = files(project)
    for name, text in wanted.items():
        why = _in_the_project(project.root, name)
        if why:
            skipped.append((name, why))
            continue
        try:
            create(project.root / name, text)
        except OSError as exc:
            so_far = ", ".join(written) or "nothing"
            raise SlipwayError(f"cannot write {name}: {exc.strerror} (wrote {so_far})") from None
        written.append(name)
    if not state.schema_copy(project.root).parent.is_symlink():
        publish_schema(project.root)
    ignore = _extend_gitignore(project.root, tuple(wanted))
    return Done((*written, *ignore.written), (*skipped, *ignore.skipped), ignore.warnings)


def summary(done: Done, project: Project) -> str:
    """What init did, file by file, and what comes next."""
    lines = [f"wrote {name}" for name in done.written]
    lines += [f"skipped {name}: {why}" for name, why in done.skipped]
    lines += [f"warning: {warning}" for warning in done.warnings]
    if not done.written:
        lines.append("nothing changed: every file slipway writes is already here")
        return "\n".join(lines)
    migrate = " ".join(project.migrate) if project.migrate else "none"
    lines += [
        f"serves with: {' '.join(project.command)} (port {project.port}, "
        f"health {project.health_path}); migrates with: {migrate}",
        f"python: {project.python.version} on {project.python.image} ({project.python.why})",
    ]
    if project.database == "postgres":
        lines.append(
            f"database: PostgreSQL 17 (compose/postgres.yaml); the app reads DATABASE_URL="
            f"{database.url(project.dependencies)} with the password of secrets/db_password "
            "put in when its container starts (deploy creates the file)"
        )
    suggested = database.suggestion(project.database, project.dependencies)
    lines += [f"suggestion: {suggested}"] if suggested else []
    lines.append("next: slipway doctor, then slipway deploy")
    return "\n".join(lines)


def create(path: Path, text: str) -> None:
    """Write a new file; O_EXCL: never through a symlink, never over a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x") as out:
        out.write(text)


def _in_the_project(root: Path, name: str) -> str:
    """Why ``root/name`` must not be created (a symlink on its way, which
    could lead anywhere, or a file where a folder goes), or ""."""
    path = root
    for part in Path(name).parts:
        path = path / part
        if path.is_symlink():
            return f"{path.relative_to(root).as_posix()} is a symlink: left as it is"
        if path != root / name and path.exists() and not path.is_dir():
            return f"{path.relative_to(root).as_posix()} is not a folder: left as it is"
    return "exists: left as it is" if (root / name).exists() else ""


def _extend_gitignore(root: Path, tracked: tuple[str, ...]) -> Done:
    """Add the lines .gitignore lacks, never through a symlink: slipway's,
    then those that keep the ``tracked`` paths from being ignored."""
    ignore = root / ".gitignore"
    fixes = tracking.fixes(root, tracked)
    if ignore.is_symlink() or (ignore.exists() and not ignore.is_file()):
        kind = "a symlink" if ignore.is_symlink() else "not a file"
        unkept = tuple(tracking.warnings(root, tracked, fixes, ()))
        return Done((), ((".gitignore", f".gitignore is {kind}: left as it is"),), unkept)
    text = ignore.read_text() if ignore.is_file() else ""
    have = set(text.splitlines())
    ours = [ln for ln in (TEMPLATES / "gitignore").read_text().splitlines() if ln]
    missing = [
        ln
        for ln in dict.fromkeys([*ours, *(ln for fix in fixes for ln in fix.lines)])
        if ln not in have
    ]
    if missing:
        # O_NOFOLLOW: a symlink put there since is refused, not written through.
        fd = os.open(ignore, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w") as out:
            out.write(
                ("\n" if text and not text.endswith("\n") else "")
                + "".join(f"{line}\n" for line in missing)
            )
    warnings = tuple(tracking.warnings(root, tracked, fixes, set(missing)))
    if not missing:
        return Done((), ((".gitignore", "has every line slipway needs"),), warnings)
    return Done((f".gitignore (+{len(missing)} lines)",), (), warnings)
