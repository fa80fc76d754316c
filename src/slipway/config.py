"""slipway.yaml: read once, validated once, frozen.

Every error names the file and the key (``slipway.yaml: environments.prod.
health_timeout: expected a positive integer, got 'soon'``).
"""

from __future__ import annotations

import enum
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import yaml

from slipway.errors import ConfigError, UsageError

CONFIG_NAME = "slipway.yaml"
# Where a test or a user points slipway at another config file.
CONFIG_ENV = "SLIPWAY_CONFIG"


class Target(enum.StrEnum):
    """The Dockerfile stages users build; values equal the stage names."""

    DEV = "dev"
    TEST = "test"
    PROD = "prod"

    @classmethod
    def parse(cls, name: str) -> Target:
        try:
            return cls(name)
        except ValueError:
            choices = ", ".join(t.value for t in cls)
            raise UsageError(f"unknown target {name!r}: choose one of {choices}") from None


@dataclass(frozen=True)
class TargetConfig:
    target: Target
    size_budget_mb: int | None


@dataclass(frozen=True)
class Environment:
    name: str
    target: Target
    compose_files: tuple[Path, ...]
    env_file: Path
    health_timeout: int
    # App containers behind the proxy.
    replicas: int = 1
    # Release images kept (the newest healthy ones, plus the running one).
    keep_releases: int = 5

    @property
    def env_example(self) -> Path:
        """The committed example the real env file is created from."""
        return self.env_file.with_name(self.env_file.name + ".example")


@dataclass(frozen=True)
class Backups:
    """Where `invoke backup` writes, and how many backups it keeps per environment."""

    dir: Path
    keep: int


@dataclass(frozen=True)
class Tests:
    """What `nox -s tests` (unit: no engine) and `nox -s docker_tests` (engine) run."""

    unit: tuple[Path, ...]
    engine: tuple[Path, ...]


@dataclass(frozen=True)
class Config:
    path: Path
    root: Path
    project: str
    image: str
    dockerfile: Path
    context: Path
    service: str
    # The uv project (or workspace member) the images install; its locked
    # dependencies are what the SBOM and the audit cover. None: no
    # pyproject.toml names one (sbom and audit then say so).
    package: str | None
    targets: Mapping[Target, TargetConfig]
    environments: Mapping[str, Environment]
    backups: Backups
    tests: Tests = Tests((), ())

    def environment(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            choices = ", ".join(sorted(self.environments))
            raise UsageError(
                f"unknown environment {name!r}: {self.path.name} defines {choices}"
            ) from None

    def image_ref(self, target: Target) -> str:
        """The moving tag of a target's image, e.g. ``slipway/notes:prod``."""
        return f"{self.image}:{target.value}"

    def show(self, path: Path) -> str:
        """A path as users typed it: relative to the project when inside it."""
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    def state_dir(self) -> Path:
        """Git-ignored folder where slipway keeps what it deployed."""
        return self.root / ".slipway"


class _Section:
    """A mapping from the YAML with its dotted path, for precise errors."""

    def __init__(self, file: Path, key: str, data: object) -> None:
        self.file, self.key = file, key
        if not isinstance(data, dict):
            self.fail(key or "(top level)", f"expected a mapping, got {_kind(data)}")
        self.data: dict[str, Any] = data

    def fail(self, key: str, why: str) -> NoReturn:
        raise ConfigError(f"{self.file.name}: {key}: {why}")

    def at(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def only(self, *allowed: str) -> None:
        for name in self.data:
            if name not in allowed:
                self.fail(self.at(str(name)), f"unknown key (expected one of {', '.join(allowed)})")

    def text(self, name: str, default: str | None = None) -> str:
        value = self.data.get(name, default)
        if value is None:
            self.fail(self.at(name), "missing")
        if not isinstance(value, str) or not value.strip():
            self.fail(self.at(name), f"expected a non-empty string, got {_kind(value)}")
        return value

    def positive_int(self, name: str, default: int | None = None) -> int | None:
        value = self.data.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.fail(self.at(name), f"expected a positive integer, got {_kind(value)}")
        return value

    def paths(self, root: Path, name: str, default: list[str]) -> tuple[Path, ...]:
        """A list of existing files or folders, relative to ``root``."""
        value = self.data.get(name, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(self.at(name), f"expected a list of paths, got {_kind(value)}")
        for item in value:
            if not (root / item).exists():
                self.fail(self.at(name), f"{item} does not exist")
        return tuple(root / item for item in value)

    def section(self, name: str) -> _Section:
        if name not in self.data:
            self.fail(self.at(name), "missing")
        return _Section(self.file, self.at(name), self.data[name])

    def path(self, root: Path, name: str, default: str | None = None, *, exists: bool) -> Path:
        value = self.text(name, default)
        path = root / value
        if exists and not path.exists():
            self.fail(self.at(name), f"{value} does not exist")
        return path


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict | list):
        return f"a {type(value).__name__}"
    return repr(value)


def _project_name(root: Path) -> str | None:
    """The root pyproject.toml's ``[project].name``: the default ``package``."""
    try:
        name = tomllib.loads((root / "pyproject.toml").read_text())["project"]["name"]
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        return None
    return name if isinstance(name, str) else None


def load(path: Path | None = None) -> Config:
    """Read and validate slipway.yaml (``$SLIPWAY_CONFIG`` or ./slipway.yaml)."""
    path = (path or Path(os.environ.get(CONFIG_ENV) or CONFIG_NAME)).resolve()
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(
            f"{path.name}: not found in {path.parent}; run from the project root"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path.name}: cannot be read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path.name}: invalid YAML{where}: {problem}") from None
    return parse(data, path)


def parse(data: object, path: Path) -> Config:
    """Validate already-loaded YAML; ``path`` names the file in errors."""
    root = path.parent
    top = _Section(path, "", data if data is not None else {})
    top.only(
        "project",
        "image",
        "dockerfile",
        "context",
        "service",
        "package",
        "targets",
        "environments",
        "backups",
        "tests",
    )

    targets_section = top.section("targets")
    targets: dict[Target, TargetConfig] = {}
    for name in targets_section.data:
        key = targets_section.at(str(name))
        if str(name) not in {t.value for t in Target}:
            top.fail(key, f"unknown target (the Dockerfile's targets are {', '.join(Target)})")
        # `prod:` alone (null) means no budget; anything else must be a mapping.
        budget = None
        if targets_section.data[name] is not None:
            section = targets_section.section(str(name))
            section.only("size_budget_mb")
            budget = section.positive_int("size_budget_mb")
        targets[Target(name)] = TargetConfig(Target(name), budget)

    envs_section = top.section("environments")
    environments: dict[str, Environment] = {}
    for name in envs_section.data:
        env = envs_section.section(str(name))
        env.only(
            "target", "compose_files", "env_file", "health_timeout", "replicas", "keep_releases"
        )
        target_name = env.text("target")
        if target_name not in {t.value for t in targets}:
            env.fail(env.at("target"), f"{target_name!r} is not one of the targets above")
        files = env.data.get("compose_files")
        if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
            env.fail(
                env.at("compose_files"),
                f"expected a non-empty list of file names, got {_kind(files)}",
            )
        for file in files:
            if not (root / file).is_file():
                env.fail(env.at("compose_files"), f"{file} does not exist")
        environments[str(name)] = Environment(
            name=str(name),
            target=Target(target_name),
            compose_files=tuple(root / f for f in files),
            env_file=env.path(root, "env_file", exists=False),
            health_timeout=env.positive_int("health_timeout", 60) or 60,
            replicas=env.positive_int("replicas", 1) or 1,
            keep_releases=env.positive_int("keep_releases", 5) or 5,
        )

    backups = _Section(path, "backups", top.data.get("backups") or {})
    backups.only("dir", "keep")
    tests = _Section(path, "tests", top.data.get("tests") or {})
    tests.only("unit", "engine")

    return Config(
        path=path,
        root=root,
        project=top.text("project"),
        image=top.text("image"),
        dockerfile=top.path(root, "dockerfile", "docker/Dockerfile", exists=True),
        context=top.path(root, "context", ".", exists=True),
        service=top.text("service", "app"),
        package=top.text("package") if "package" in top.data else _project_name(root),
        targets=MappingProxyType(targets),
        environments=MappingProxyType(environments),
        backups=Backups(
            dir=backups.path(root, "dir", "backups", exists=False),
            keep=backups.positive_int("keep", 7) or 7,
        ),
        tests=Tests(
            unit=tests.paths(root, "unit", ["tests"] if (root / "tests").is_dir() else []),
            engine=tests.paths(root, "engine", []),
        ),
    )
