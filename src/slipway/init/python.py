"""The image's Python: what the project pins in ``.python-version``, or else
the highest version ``requires-python`` allows that has an official slim
image and, for every locked package that ships only compiled wheels, a
Linux wheel for it (a 2024 lock's ``httptools 0.6.1`` has none for 3.13:
uv would compile it, and the slim image has no compiler).

Pythons from 3.13 on are built on Debian 13 (trixie); older ones on Debian
12 (bookworm), the release their official images were built on for most of
their life (and the one whose own ``python3`` is 3.11).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from slipway.errors import UsageError

# The Pythons with an official `python:X.Y-slim-<debian>` image, newest first.
OFFICIAL = ("3.14", "3.13", "3.12", "3.11", "3.10")
_PINNED = re.compile(r"^(?:cpython-?|python)?(3\.\d+)(?:\.\d+)?(?:[-+@].*)?$")


@dataclass(frozen=True)
class Choice:
    """The chosen Python, its image and why (for init's summary)."""

    version: str  # "3.11"
    why: str

    @property
    def debian(self) -> str:
        return debian(self.version)

    @property
    def image(self) -> str:
        return f"python:{self.version}-slim-{self.debian}"


def debian(version: str) -> str:
    """The Debian release slipway builds ``version``'s image on."""
    return "trixie" if _minor(version) >= 13 else "bookworm"


def choose(root: Path, member: str, package: Mapping[str, Any]) -> Choice:
    """The image's Python for the package in ``root/member`` (``package`` is
    its pyproject); UsageError when nothing fits, naming what would."""
    wanted = requirement(root, package)
    pinned = pin(root, member)
    if pinned is not None:
        version, where = pinned
        if wanted and not allows(wanted, version):
            raise UsageError(
                f"{where} pins Python {version}, which requires-python `{wanted}` does not "
                "allow: make them agree"
            )
        return Choice(version, f"from {where}")
    allowed = [v for v in OFFICIAL if allows(wanted, v)]
    if not allowed:
        raise UsageError(
            f"requires-python `{wanted}` allows no Python with an official slim image "
            f"({OFFICIAL[-1]} to {OFFICIAL[0]}): pin one in .python-version"
        )
    said = f"the highest requires-python `{wanted}` allows" if wanted else "the newest"
    lacking = _without_wheels(root / "uv.lock", allowed)
    for version in allowed:
        if not lacking[version]:
            newer = allowed[: allowed.index(version)]
            skipped = [f"{v} (no wheel for {lacking[v][0]})" for v in newer]
            return Choice(version, said + "".join(f"; not {s}" for s in skipped))
    version = allowed[0]
    return Choice(version, f"{said}; {lacking[version][0]} has no wheel for it: it compiles")


def pin(root: Path, member: str) -> tuple[str, str] | None:
    """(version, file) from the member's ``.python-version``, else the root's."""
    for folder in dict.fromkeys([member, ""]):
        path = root / folder / ".python-version"
        if not path.is_file():
            continue
        where = path.relative_to(root).as_posix()
        lines = [ln.strip() for ln in path.read_text().splitlines()]
        first = next((ln for ln in lines if ln and not ln.startswith("#")), "")
        found = _PINNED.match(first)
        if found is None:
            raise UsageError(
                f"{where} says {first!r}: slipway builds on CPython's official images; "
                "write a version such as 3.13"
            )
        return found.group(1), where
    return None


def requirement(root: Path, package: Mapping[str, Any]) -> str:
    """requires-python: uv.lock's (the whole workspace's), else the package's."""
    try:
        lock = tomllib.loads((root / "uv.lock").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        lock = {}
    project = package.get("project") or {}
    return str(lock.get("requires-python") or project.get("requires-python") or "")


def allows(requirement: str, version: str) -> bool:
    """Whether some release of ``version`` (X.Y) satisfies ``requirement``."""
    if not requirement:
        return True
    try:
        spec = SpecifierSet(requirement)
    except InvalidSpecifier:
        raise UsageError(
            f"requires-python `{requirement}` is not a version specifier: fix pyproject.toml"
        ) from None
    return any(spec.contains(f"{version}.{patch}", prereleases=True) for patch in range(30))


def _without_wheels(lock_path: Path, versions: Iterable[str]) -> dict[str, list[str]]:
    """For each version: the locked packages (name version) that ship only
    compiled wheels, none of them for that CPython on Linux."""
    try:
        lock = tomllib.loads(lock_path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        lock = {}
    lacking: dict[str, list[str]] = {v: [] for v in versions}
    for package in lock.get("package", []):
        tags = [_tags(w) for w in package.get("wheels", [])]
        linux = [t for t in tags if t is not None and "linux" in t[2]]
        if not linux or any(t is not None and t[2] == "any" for t in tags):
            continue
        for version, names in lacking.items():
            if not any(_fits(t, version) for t in linux):
                names.append(f"{package.get('name')} {package.get('version')}")
    return lacking


def _tags(wheel: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(python, abi, platform) of a wheel in uv.lock, from its file name."""
    name = str(wheel.get("filename") or str(wheel.get("url") or wheel.get("path") or ""))
    parts = name.rsplit("/", 1)[-1].removesuffix(".whl").split("-")
    return (parts[-3], parts[-2], parts[-1]) if len(parts) >= 5 else None


def _fits(tags: tuple[str, str, str], version: str) -> bool:
    """Whether a wheel with these tags installs on CPython ``version``."""
    python, abi, _ = tags
    minor = _minor(version)
    for tag in python.split("."):
        if tag in ("py3", f"cp3{minor}"):
            return True
        if abi == "abi3" and tag.startswith("cp3") and tag[3:].isdigit() and int(tag[3:]) <= minor:
            return True
    return False


def _minor(version: str) -> int:
    return int(version.split(".")[1])
