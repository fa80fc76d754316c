"""What every command does as it starts, a task or a nox session: read
slipway.yaml, and keep the project's schema copy the installed slipway's
(loading only reads; the copy is this job's). Importing it imports nothing of
invoke, pydantic or PyYAML, so `--list` stays quick and the sessions use it too."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slipway.config import Config


def load() -> Config:
    """slipway.yaml (``$SLIPWAY_CONFIG`` or ./slipway.yaml), read and
    validated; ``.slipway/slipway.schema.json`` kept equal to the installed
    schema, so that editors check the file against the slipway that reads it."""
    from slipway import config

    cfg = config.load()
    config.publish_schema(cfg.root)
    return cfg
