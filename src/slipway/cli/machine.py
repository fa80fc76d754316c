"""This machine: is it ready to build and ship the project?"""

from __future__ import annotations

import json

from invoke.context import Context
from invoke.tasks import task

from slipway import config, tables
from slipway.checks import verdict
from slipway.cli.edge import JSON, edge
from slipway.doctor import diagnose


@task(help={"json": JSON})
@edge
def doctor(c: Context, json: bool = False) -> None:
    """Check this machine, the engine and the project's files; exit 1 on any failure."""
    results = diagnose(config.load())
    print(tables.as_json(results) if json else tables.results_table(results))
    verdict(results)


@task
@edge
def schema(c: Context) -> None:
    """Print slipway.yaml's JSON Schema (for editors and CI)."""
    print(json.dumps(config.json_schema(), indent=2))
