"""Reading slipway.yaml: finding the file, parsing its YAML (whose composed
tree gives errors their lines) and validating it into a frozen Config.
Loading only reads: writing the project's schema copy is the commands' job
(:func:`slipway.config.schema.publish_schema`)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from slipway.config import project
from slipway.config.problems import Problems
from slipway.config.project import Config, Settings
from slipway.config.values import described
from slipway.errors import ConfigError

CONFIG_NAME = "slipway.yaml"
# Where a test or a user points slipway at another config file.
CONFIG_ENV = "SLIPWAY_CONFIG"


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
    data, tree = _yaml(text, path)
    return parse(data, path, tree=tree)


def _yaml(text: str, path: Path) -> tuple[object, yaml.Node | None]:
    """The file's data, and its composed tree (which gives errors their lines)."""
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path.name}: invalid YAML{where}: {problem}") from None


def check_text(text: str, path: Path) -> None:
    """What slipway.yaml's ``text`` alone tells (its YAML and every key's
    value, not the files it names) is valid; ConfigError otherwise."""
    data, tree = _yaml(text, path)
    _settings(data, Problems(path, tree))


def parse(data: object, path: Path, *, tree: yaml.Node | None = None) -> Config:
    """Validate already-loaded YAML; ``path`` names the file in errors and
    ``tree`` (the composed YAML) gives their lines."""
    problems = Problems(path, tree)
    return project.resolve(_settings(data, problems), path, problems)


def _settings(data: object, problems: Problems) -> Settings:
    if not isinstance(data, dict | None):
        raise problems.fail((), f"expected a mapping, got {described(data)}")
    try:
        return Settings.model_validate(data or {})
    except ValidationError as exc:
        raise problems.from_pydantic(exc, Settings) from None
