"""`slipway init`: slipway's files for an existing uv project, never over one of yours.

It reads the project (pyproject.toml and uv.lock), infers what it can (the
package, how to start the server, whether there are migrations) and takes
flags for the rest. In a uv workspace, ``--package`` names the member to
ship.

Then it writes slipway.yaml, the Dockerfile and its health probe, the
compose files, the env examples, .dockerignore, tasks.py, noxfile.py and a
Makefile from the templates beside this module, and adds the lines
.gitignore lacks. A file that exists is never touched: it is
listed as skipped, with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slipway import state
from slipway.config import (
    CONFIG_NAME,
    HealthPath,
    Port,
    check_flag,
    check_text,
    publish_schema,
)
from slipway.errors import ConfigError, SlipwayError, UsageError

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_UV = "0.13.9"
PYTHON = "3.13"
# Assignments that make an ASGI app: `app = FastAPI(...)`, Starlette, Litestar.
_ASGI = re.compile(r"^(\w+)\s*(?::\s*\w+\s*)?=\s*(FastAPI|Starlette|Litestar)\(", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_DJANGO_SETTINGS = re.compile(r"DJANGO_SETTINGS_MODULE['\"]\s*,\s*['\"]([\w.]+)\.settings['\"]")


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


@dataclass(frozen=True)
class Done:
    written: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (file, why)


def _read_pyproject(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path.name} cannot be read: {exc}") from None


def _pyproject(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.is_file():
        raise UsageError(
            f"{root} is not a uv project: it has no pyproject.toml (create one with `uv init`)"
        )
    data = _read_pyproject(path)
    if not (root / "uv.lock").is_file():
        raise UsageError("pyproject.toml has no uv.lock beside it: run `uv lock` first")
    return data


def _members(root: Path, data: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The uv workspace's members: normalized name -> (folder, pyproject)."""
    workspace = (data.get("tool") or {}).get("uv", {}).get("workspace") or {}
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
                found[_normal(name)] = (folder.relative_to(root).as_posix(), member)
    return found


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")


def _package(root: Path, data: dict[str, Any], package: str) -> tuple[str, dict[str, Any]]:
    """The folder (below root) and pyproject of the package to ship."""
    own = str((data.get("project") or {}).get("name") or "")
    members = _members(root, data)
    if package:
        if _normal(package) == _normal(own):
            return "", data
        if _normal(package) in members:
            return members[_normal(package)]
        names = ", ".join(n for n in [own, *members] if n) or "none"
        raise UsageError(f"--package {package}: not this project nor a workspace member ({names})")
    if members:
        names = ", ".join(n for n in [own, *members] if n)
        raise UsageError(
            f"pyproject.toml is a uv workspace: pass --package with the one to ship ({names})"
        )
    if not own:
        raise UsageError("pyproject.toml has no [project] name: slipway init needs the project")
    return "", data


def _locked(root: Path) -> set[str]:
    """The names of every package in uv.lock."""
    lock = tomllib.loads((root / "uv.lock").read_text())
    return {str(p.get("name", "")).lower() for p in lock.get("package", [])}


def _python_files(root: Path) -> list[Path]:
    skip = {".venv", ".git", ".nox", "node_modules", "tests", "test"}
    return sorted(p for p in root.rglob("*.py") if not skip & set(p.relative_to(root).parts[:-1]))


def _module_of(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[0] == "src":
        parts = parts[1:]
    return ".".join(parts)


def _server(
    root: Path, data: dict[str, Any], port: int, locked: set[str]
) -> tuple[tuple[str, ...], ...]:
    """(command, dev command, migrate command or ()) inferred from the files
    of the package in ``root``; ``locked`` names every package in uv.lock."""
    manage = root / "manage.py"
    if manage.is_file():
        found = _DJANGO_SETTINGS.search(manage.read_text())
        if found is None:
            raise UsageError("manage.py names no settings module: pass --command")
        if "gunicorn" not in locked:
            raise UsageError("a Django project needs gunicorn to serve: uv add gunicorn")
        wsgi = f"{found.group(1)}.wsgi:application"
        command = ("gunicorn", wsgi, "--bind", f"0.0.0.0:{port}", "--access-logfile", "-")
        dev = ("python", "manage.py", "runserver", f"0.0.0.0:{port}")
        return command, dev, ("python", "manage.py", "migrate", "--noinput")
    for path in _python_files(root):
        match = _ASGI.search(path.read_text(errors="replace"))
        if match is None:
            continue
        if "uvicorn" not in locked:
            raise UsageError(f"{match.group(2)} needs an ASGI server: uv add uvicorn")
        app = f"{_module_of(root, path)}:{match.group(1)}"
        command = ("uvicorn", app, "--host", "0.0.0.0", "--port", str(port))
        migrate = ("alembic", "upgrade", "head") if (root / "alembic.ini").is_file() else ()
        return command, (*command, "--reload"), migrate
    scripts = list((data["project"].get("scripts") or {}).keys())
    if len(scripts) == 1:
        return (scripts[0],), (scripts[0],), ()
    raise UsageError(
        "cannot tell how to start the server: pass --command, e.g. "
        f"--command 'uvicorn myapp:app --host 0.0.0.0 --port {port}'"
    )


@dataclass(frozen=True)
class Flags:
    """What `slipway init` was told; an empty string means: infer it."""

    package: str = ""
    command: str = ""
    migrate: str = ""  # or "none"
    port: int = 8000
    health_path: str = "/health"


def _argv(flag: str, value: str) -> tuple[str, ...]:
    """A command given as a flag, split as a shell would."""
    try:
        argv = tuple(shlex.split(value))
    except ValueError as exc:
        raise UsageError(
            f"{flag}: {str(exc).lower()} in {value!r}: quote it as you would in a shell"
        ) from None
    if not argv:
        raise UsageError(f"{flag}: expected a command, got {value!r}")
    return argv


def inspect(root: Path, flags: Flags = Flags()) -> Project:
    """Read the project and the flags; UsageError says what cannot be told.
    The flags follow slipway.yaml's rules, checked before anything is read."""
    port: int = check_flag("--port", Port, flags.port)
    health_path: str = check_flag("--health-path", HealthPath, flags.health_path)
    command = _argv("--command", flags.command) if flags.command else ()
    given_migrate = _argv("--migrate", flags.migrate) if flags.migrate not in ("", "none") else ()
    data = _pyproject(root)
    member, package_data = _package(root, data, flags.package)
    home = root / member
    found_migrate: tuple[str, ...] = ()
    if command:
        run = dev = command
    else:
        run, dev, found_migrate = _server(home, package_data, port, _locked(root))
    steps = () if flags.migrate == "none" else given_migrate or found_migrate
    groups = package_data.get("dependency-groups") or {}
    source = tuple(d for d in ("src",) if (home / d).is_dir()) or tuple(
        sorted(
            {p.relative_to(home).parts[0] for p in _python_files(home) if p.parent != home}
            | ({"manage.py"} if (home / "manage.py").is_file() else set())
        )
    )
    return Project(
        root=root,
        name=_normal(str(package_data["project"]["name"])),
        member=member,
        members=tuple(folder for folder, _ in _members(root, data).values()),
        command=run,
        dev_command=dev,
        migrate=tuple(steps) or None,
        port=port,
        health_path=health_path,
        source=tuple(_below(member, item) for item in source),
        test_groups=tuple(g for g in ("test", "dev") if g in groups)[:1],
    )


def _below(member: str, path: str) -> str:
    return f"{member}/{path}" if member else path


def _uv_version() -> str:
    uv = shutil.which("uv")
    if uv is None:
        return DEFAULT_UV
    out = subprocess.run([uv, "--version"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"\d+\.\d+\.\d+", out)
    return found.group(0) if found else DEFAULT_UV


def _exec_form(argv: tuple[str, ...]) -> str:
    return json.dumps(list(argv))


def _watch(project: Project) -> str:
    """compose watch: sync the sources, rebuild on the lock or a pyproject."""
    rules = [
        f"        - action: sync\n          path: ../{item}\n          target: /app/{item}"
        for item in project.source
    ]
    for item in ("pyproject.toml", *(f"{m}/pyproject.toml" for m in project.members), "uv.lock"):
        rules.append(f"        - action: rebuild\n          path: ../{item}")
    return "\n".join(rules)


def _workspace(project: Project) -> dict[str, str]:
    """The Dockerfile's lines that differ for a workspace member: uv must see
    every member's pyproject.toml, sync only the package, and the stages that
    run it start in its folder."""
    if not project.member and not project.members:
        return {
            "member_mounts": "",
            "package_flag": "",
            "no_install": "--no-install-project",
            "workdir": "",
        }
    mounts = "".join(
        f"    --mount=type=bind,source={m}/pyproject.toml,target={m}/pyproject.toml \\\n"
        for m in project.members
    )
    return {
        "member_mounts": mounts,
        "package_flag": f" --package {project.name}",
        "no_install": "--no-install-workspace",
        "workdir": f"WORKDIR /app/{project.member}\n" if project.member else "",
    }


def files(project: Project) -> dict[str, str]:
    """Every file init writes, by path relative to the project, with its text."""
    base = ["compose/base.yaml", *(["compose/migrate.yaml"] if project.migrate else [])]
    tests = _below(project.member, "tests")
    unit = [tests] if (project.root / tests).is_dir() else []
    values = {
        "project": project.name,
        "package": project.name,
        "port": str(project.port),
        "health_path": project.health_path,
        "prod_files": ", ".join([*base, "compose/prod.yaml"]),
        "dev_files": ", ".join([*base, "compose/dev.yaml"]),
        "unit_tests": ", ".join(unit),
        "uv_version": _uv_version(),
        "python": PYTHON,
        "command": _exec_form(project.command),
        "dev_command": _exec_form(project.dev_command),
        # In a compose file: $$ is a $ compose leaves alone (exec form: no shell expands it).
        "migrate": _exec_form(project.migrate or ()).replace("$", "$$"),
        "test_groups": "".join(f" --group {g}" for g in project.test_groups),
        "watch": _watch(project),
        **_workspace(project),
    }
    names = {
        "slipway.yaml": "slipway.yaml",
        "docker/Dockerfile": "docker/Dockerfile",
        "docker/healthcheck.py": "docker/healthcheck.py",
        "compose/base.yaml": "compose/base.yaml",
        "compose/prod.yaml": "compose/prod.yaml",
        "compose/dev.yaml": "compose/dev.yaml",
        "env/prod.env.example": "env/prod.env.example",
        "env/dev.env.example": "env/dev.env.example",
        ".dockerignore": "dockerignore",
        "tasks.py": "tasks.py",
        "noxfile.py": "noxfile.py",
        "Makefile": "Makefile",
    }
    if project.migrate:
        names["compose/migrate.yaml"] = "compose/migrate.yaml"
    out = {}
    for target, template in names.items():
        text = (TEMPLATES / template).read_text()
        if template != "docker/healthcheck.py":
            # One pass: a value holding {{...}} (a command's text) stays as it is.
            text = _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), text)
        out[target] = text
    _loadable(out[CONFIG_NAME], project.root / CONFIG_NAME)
    return out


def _loadable(text: str, path: Path) -> None:
    """Refuse to write a slipway.yaml that every later command would refuse."""
    try:
        check_text(text, path)
    except ConfigError as exc:
        raise UsageError(
            f"slipway init would write a {CONFIG_NAME} that does not load: {exc}"
        ) from None


def _gitignore(root: Path) -> tuple[list[str], list[str]]:
    """The lines .gitignore lacks, and those it has."""
    wanted = [ln for ln in (TEMPLATES / "gitignore").read_text().splitlines() if ln]
    path = root / ".gitignore"
    have = set(path.read_text().splitlines()) if path.is_file() else set()
    return [ln for ln in wanted if ln not in have], [ln for ln in wanted if ln in have]


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


def _create(path: Path, text: str) -> None:
    """Write a new file; O_EXCL: never through a symlink, never over a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x") as out:
        out.write(text)


def _extend_gitignore(root: Path) -> Done:
    """Add the lines .gitignore lacks, never through a symlink."""
    ignore = root / ".gitignore"
    if ignore.is_symlink() or (ignore.exists() and not ignore.is_file()):
        kind = "a symlink" if ignore.is_symlink() else "not a file"
        return Done((), ((".gitignore", f".gitignore is {kind}: left as it is"),))
    missing, _ = _gitignore(root)
    if not missing:
        return Done((), ((".gitignore", "has every line slipway needs"),))
    text = ignore.read_text() if ignore.is_file() else ""
    lines = "".join(f"{line}\n" for line in missing)
    # O_NOFOLLOW: a symlink put there since is refused, not written through.
    fd = os.open(ignore, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as out:
        out.write(("\n" if text and not text.endswith("\n") else "") + lines)
    return Done((f".gitignore (+{len(missing)} lines)",), ())


def init(project: Project) -> Done:
    """Write what is missing; never change a file that exists (.gitignore
    only gains the lines it lacks), never write through a symlink."""
    written: list[str] = []
    skipped: list[tuple[str, str]] = []
    for name, text in files(project).items():
        why = _in_the_project(project.root, name)
        if why:
            skipped.append((name, why))
            continue
        try:
            _create(project.root / name, text)
        except OSError as exc:
            so_far = ", ".join(written) or "nothing"
            raise SlipwayError(f"cannot write {name}: {exc.strerror} (wrote {so_far})") from None
        written.append(name)
    if not state.schema_copy(project.root).parent.is_symlink():
        publish_schema(project.root)
    ignore = _extend_gitignore(project.root)
    return Done((*written, *ignore.written), (*skipped, *ignore.skipped))


def summary(done: Done, project: Project) -> str:
    """What init did, file by file, and what comes next."""
    lines = [f"wrote {name}" for name in done.written]
    lines += [f"skipped {name}: {why}" for name, why in done.skipped]
    if not done.written:
        lines.append("nothing changed: every file slipway writes is already here")
        return "\n".join(lines)
    migrate = " ".join(project.migrate) if project.migrate else "none"
    lines += [
        f"serves with: {' '.join(project.command)} (port {project.port}, "
        f"health {project.health_path}); migrates with: {migrate}",
        "next: slipway doctor, then slipway deploy",
    ]
    return "\n".join(lines)
