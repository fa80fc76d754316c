"""slipway.yaml: read once, validated once (pydantic), frozen.

One module per concept, as Kamal's ``configuration/`` has one per section:

- :mod:`~slipway.config.names`: the rules of the names slipway hands on;
- :mod:`~slipway.config.values`: the kinds of value keys hold (a port, a
  count, a service name), and :func:`check_flag` for commands' flags;
- :mod:`~slipway.config.project`: the top level, its :class:`Config`;
- one module per section: :mod:`~slipway.config.targets`,
  :mod:`~slipway.config.environments`, :mod:`~slipway.config.backups`,
  :mod:`~slipway.config.tests`, each with its model, what the library gets
  and the checks only the files can answer;
- :mod:`~slipway.config.problems`: every error one line naming the file,
  the line and the key (``slipway.yaml:23: environments.prod.health_timeout:
  expected a positive integer, got 'soon'``);
- :mod:`~slipway.config.loading`: :func:`load` (which only reads) and
  :func:`parse`;
- :mod:`~slipway.config.schema`: slipway.yaml's JSON Schema
  (:func:`json_schema`, committed as ``src/slipway/schema/slipway.schema.json``)
  and the project's copy of it, which commands keep (:func:`publish_schema`).
"""

from __future__ import annotations

from slipway.config.backups import Backups, BackupSettings
from slipway.config.environments import Environment, EnvironmentSettings
from slipway.config.loading import CONFIG_ENV, CONFIG_NAME, check_text, load, parse
from slipway.config.project import Config, Settings
from slipway.config.schema import SCHEMA, json_schema, publish_schema
from slipway.config.targets import Target, TargetConfig, TargetSettings
from slipway.config.tests import Tests, TestSettings
from slipway.config.values import (
    Count,
    EnvironmentName,
    FileNames,
    HealthPath,
    Image,
    Paths,
    Port,
    Project,
    Service,
    TargetName,
    Text,
    check_flag,
)

__all__ = [
    "CONFIG_ENV",
    "CONFIG_NAME",
    "SCHEMA",
    "BackupSettings",
    "Backups",
    "Config",
    "Count",
    "Environment",
    "EnvironmentName",
    "EnvironmentSettings",
    "FileNames",
    "HealthPath",
    "Image",
    "Paths",
    "Port",
    "Project",
    "Service",
    "Settings",
    "Target",
    "TargetConfig",
    "TargetName",
    "TargetSettings",
    "TestSettings",
    "Tests",
    "Text",
    "check_flag",
    "check_text",
    "json_schema",
    "load",
    "parse",
    "publish_schema",
]
