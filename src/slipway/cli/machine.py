"""This machine: is it ready to build and ship the project?"""

from __future__ import annotations

import json

from invoke.context import Context
from invoke.tasks import task

from slipway.cli.edge import JSON, edge
from slipway.cli.start import load


@task(help={"json": JSON, "env": "check only this environment's rows (default: every one)"})
@edge
def doctor(c: Context, json: bool = False, env: str = "") -> None:
    """Check this machine, the engine and the project's files; exit 1 on any failure."""
    from slipway import checks
    from slipway.checks import doctor
    from slipway.cli import tables

    results = doctor.diagnose(load(), env or None)
    print(tables.as_json(results) if json else tables.results_table(results))
    checks.verdict(results)


@task
@edge
def schema(c: Context) -> None:
    """Print slipway.yaml's JSON Schema (for editors and CI)."""
    from slipway import config

    print(json.dumps(config.json_schema(), indent=2))
