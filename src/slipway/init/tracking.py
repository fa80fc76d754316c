"""What init writes stays tracked by git, whatever the project's .gitignore.

A .gitignore may ignore a file slipway writes: GitHub's standard Python one
has ``env/`` (a virtualenv's folder), so a fresh clone would have no
``env/*.env.example`` and deploy would fail there. git is asked which paths
it would ignore (`git check-ignore --no-index`), and init adds the lines
that keep them. git cannot re-include a file whose folder is ignored, so the
folder is re-included (``!/env/``), everything in it ignored again
(``/env/*``: the real env files stay ignored) and only what slipway writes
kept (``!/env/*.env.example``). Outside a git work tree, or without git,
nothing is asked and nothing is said.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Container, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

GIT_TIMEOUT = 30
EXAMPLE = ".env.example"  # env examples are kept by their kind, not one by one


@dataclass(frozen=True)
class Fix:
    """Paths one git rule ignores, and the .gitignore lines that keep them."""

    rule: str  # as `git check-ignore -v` names it: source:line:pattern
    paths: tuple[str, ...]
    lines: tuple[str, ...]


def ignored(root: Path, paths: Sequence[str]) -> dict[str, str]:
    """The paths (POSIX, relative to ``root``) git would ignore, each with
    the rule that does; {} outside a git work tree or without git."""
    git = shutil.which("git")
    if git is None or not paths:
        return {}
    inside = _git(git, root, ["rev-parse", "--is-inside-work-tree", "--show-cdup"])
    work_tree, _, up = ("", "", "") if inside is None else inside.stdout.partition("\n")
    if work_tree != "true":
        return {}
    up = up.strip()  # from root to the top of the work tree: git names rules from there
    asked = "".join(f"{path}\0" for path in paths)
    args = ["check-ignore", "--no-index", "--verbose", "--non-matching", "-z", "--stdin"]
    done = _git(git, root, args, asked)
    if done is None or done.returncode not in (0, 1):  # 1: none is ignored
        return {}
    fields = done.stdout.split("\0")
    return {
        path: f"{source if PurePosixPath(source).is_absolute() else up + source}:{line}:{pattern}"
        for source, line, pattern, path in zip(*[iter(fields)] * 4, strict=False)
        if pattern and not pattern.startswith("!")  # a negation matched: not ignored
    }


def _git(
    git: str, root: Path, args: list[str], stdin: str = ""
) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            [git, *args],
            cwd=root,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def fixes(root: Path, paths: Sequence[str]) -> list[Fix]:
    """For each rule that ignores some of ``paths``: the lines that keep them."""
    found = ignored(root, paths)
    folders = ignored(root, sorted({f for path in found for f in _folders(path)}))
    return [Fix(rule, kept, _lines(kept, folders)) for rule, kept in _by_rule(found).items()]


def _by_rule(found: dict[str, str]) -> dict[str, tuple[str, ...]]:
    by_rule: dict[str, list[str]] = {}
    for path, rule in sorted(found.items()):
        by_rule.setdefault(rule, []).append(path)
    return {rule: tuple(paths) for rule, paths in by_rule.items()}


def _folders(path: str) -> list[str]:
    """The folders above ``path``, outermost first. Asked without a final
    slash: git then looks at what is there (``env/`` would ask about a path
    inside env), and they are there: init asks once it has written."""
    parts = PurePosixPath(path).parts[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _lines(paths: Sequence[str], ignored_folders: Container[str]) -> tuple[str, ...]:
    """Anchored to the project's .gitignore: from the outermost ignored folder
    down, re-include each folder and ignore all in it again; then the file."""
    lines: list[str] = []
    for path in paths:
        folders = _folders(path)
        first = next((i for i, f in enumerate(folders) if f in ignored_folders), len(folders))
        for folder in folders[first:]:
            lines += [f"!/{folder}/", f"/{folder}/*"]
        lines.append(f"!/{_kind(path)}")
    return tuple(dict.fromkeys(lines))


def _kind(path: str) -> str:
    """The pattern that keeps ``path``: itself, or every env example beside it."""
    if not path.endswith(EXAMPLE):
        return path
    folder = PurePosixPath(path).parent.as_posix()
    return f"{'' if folder == '.' else folder + '/'}*{EXAMPLE}"


def warnings(
    root: Path, paths: Sequence[str], done: Sequence[Fix], added: Container[str]
) -> list[str]:
    """One line per rule whose paths the ``added`` lines now keep tracked, and
    one per rule that still ignores some of ``paths`` (a .gitignore further
    down, which wins over the project's; one init could not write), saying
    what to do."""
    still = ignored(root, paths)
    lines: list[str] = []
    tried: set[str] = set()
    for fix in done:
        new = [line for line in fix.lines if line in added]
        if new:
            tried.update(fix.paths)
            lines.append(
                f"git ignored {', '.join(fix.paths)} ({fix.rule}): added {', '.join(new)} "
                f"to .gitignore to keep {_them(fix.paths)} tracked"
            )
    for rule, kept in _by_rule(still).items():
        again = "still " if tried & set(kept) else ""
        lines.append(
            f"git {again}ignores {', '.join(kept)} ({rule}), so a fresh clone lacks "
            f"{_them(kept)}: change that rule, or `git add -f` {' '.join(kept)}"
        )
    return lines


def _them(paths: Sequence[str]) -> str:
    return "it" if len(paths) == 1 else "them"
