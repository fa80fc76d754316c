"""slipway.yaml's top level: the project, its image and service, and one key
per section (``targets``, ``environments``, ``backups``, ``tests``), each
read by its own module. A new section is a module and a key here."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from slipway.config import backups, environments, names, targets, tests
from slipway.config.backups import Backups, BackupSettings
from slipway.config.environments import Environment, EnvironmentSettings
from slipway.config.problems import Problems
from slipway.config.targets import Target, TargetConfig, TargetSettings
from slipway.config.tests import Tests, TestSettings
from slipway.config.values import (
    EnvironmentName,
    HealthPath,
    Image,
    Port,
    Project,
    Section,
    Service,
    TargetName,
    Text,
)
from slipway.errors import UsageError


@dataclass(frozen=True)
class Config:
    path: Path
    root: Path
    project: str
    image: str
    dockerfile: Path
    context: Path
    service: str
    # Where the service answers inside its container, and its liveness path.
    port: int
    health_path: str
    # The one-shot compose service that migrates before a release serves, if any.
    migrate: str | None
    # The uv project (or workspace member) the images install; its locked
    # dependencies are what the SBOM and the audit cover. None: no
    # pyproject.toml names one (sbom and audit then say so).
    package: str | None
    targets: Mapping[Target, TargetConfig]
    environments: Mapping[str, Environment]
    backups: Backups
    tests: Tests = Tests((), ())  # noqa: RUF009 (frozen: one shared value is safe)

    def environment(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            choices = ", ".join(sorted(self.environments))
            raise UsageError(
                f"unknown environment {name!r}: {self.path.name} defines {choices}"
            ) from None

    def image_ref(self, target: Target) -> str:
        """The moving tag of a target's image, e.g. ``myapp:prod``."""
        return f"{self.image}:{target.value}"

    def show(self, path: Path) -> str:
        """A path as users typed it: relative to the project when inside it."""
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)


class Settings(Section):
    """slipway.yaml."""

    project: Project = Field(description="Prefix of the compose project names")
    image: Image = Field(description="Repository of every image built from the Dockerfile")
    dockerfile: Text = "docker/Dockerfile"
    context: Text = "."
    service: Service = Field("app", description="The compose service that serves HTTP")
    port: Port = Field(8000, description="The port the service listens on in its container")
    health_path: HealthPath = Field("/health", description="Answers 200 while the service lives")
    package: Text | None = Field(
        None, description="The uv package the images install (default: pyproject's name)"
    )
    migrate: Service | None = Field(
        "migrate",
        description="The one-shot compose service that migrates the data before a release "
        "serves; null for none (default: `migrate` when the compose files define it)",
    )
    targets: dict[TargetName, TargetSettings | None]
    environments: dict[EnvironmentName, EnvironmentSettings] = Field(
        json_schema_extra={"propertyNames": {"pattern": names.ENVIRONMENT.pattern}}
    )
    backups: BackupSettings = BackupSettings()
    tests: TestSettings = TestSettings()


def _project_name(root: Path) -> str | None:
    """The root pyproject.toml's ``[project].name``: the default ``package``."""
    try:
        name = tomllib.loads((root / "pyproject.toml").read_text())["project"]["name"]
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        return None
    return name if isinstance(name, str) else None


def resolve(settings: Settings, path: Path, problems: Problems) -> Config:
    """The frozen Config, after what one key alone cannot say: files exist,
    environments name defined targets, the service is in their compose files."""
    root = path.parent
    built = targets.resolve(settings.targets)
    wanted = environments.Services(
        settings.service, settings.migrate, "migrate" in settings.model_fields_set
    )
    places, migrates = environments.resolve(
        settings.environments, built.keys(), wanted, root, problems
    )
    return Config(
        path=path,
        root=root,
        project=settings.project,
        image=settings.image,
        dockerfile=problems.existing(root, settings.dockerfile, ("dockerfile",)),
        context=problems.existing(root, settings.context, ("context",)),
        service=settings.service,
        port=settings.port,
        health_path=settings.health_path,
        package=settings.package or _project_name(root),
        migrate=settings.migrate if migrates else None,
        targets=built,
        environments=places,
        backups=backups.resolve(settings.backups, root),
        tests=tests.resolve(settings.tests, root, problems),
    )
