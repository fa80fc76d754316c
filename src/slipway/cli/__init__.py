"""slipway's tasks as an invoke collection, grouped by concern.

A project's ``tasks.py`` is then a few lines (the pyinvoke/invocations way)::

    from slipway.cli import collection

    ns = collection()

Every task loads slipway.yaml, calls the library and prints its result; an
expected failure (SlipwayError) is one line on stderr and exit code 1
(:func:`slipway.cli.edge.edge`). Names stay flat (`invoke deploy`, not
`invoke release.deploy`), as the README documents them.
"""

from __future__ import annotations

from importlib import metadata

from invoke.collection import Collection
from invoke.program import Program

from slipway.cli import data, develop, machine, project, releases, stacks

# The modules whose tasks make up the collection, by concern.
CONCERNS = (project, releases, stacks, develop, data, machine)


def collection() -> Collection:
    """Every slipway task, in one flat collection."""
    ns = Collection()
    for module in CONCERNS:
        for task in Collection.from_module(module).tasks.values():
            ns.add_task(task)
    return ns


def _version() -> str:
    try:
        return metadata.version("slipway")
    except metadata.PackageNotFoundError:
        return "unknown"


def program() -> Program:
    """The `slipway` command: the same collection under invoke's Program, so
    `slipway deploy` is `invoke deploy` without a tasks.py."""
    return Program(namespace=collection(), name="slipway", binary="slipway", version=_version())


def main() -> None:
    """The console script's entry point."""
    program().run()
