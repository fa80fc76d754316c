"""slipway's tasks as an invoke collection, grouped by concern.

A project's ``tasks.py`` is then a few lines (the pyinvoke/invocations way)::

    from slipway.cli import collection

    ns = collection()

Every task loads slipway.yaml, calls the library and prints its result; an
expected failure (SlipwayError) is one line on stderr and exit code 1
(:func:`slipway.cli.edge.edge`). Names stay flat (`invoke deploy`, not
`invoke release.deploy`), as the README documents them.

Importing this package imports nothing of invoke: `slipway --help` prints
its committed help (:mod:`slipway.cli._help`) and exits before invoke loads.
"""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from invoke.collection import Collection
    from invoke.program import Program


def collection() -> Collection:
    """Every slipway task, in one flat collection."""
    from invoke.collection import Collection

    from slipway.cli import data, develop, machine, project, releases, stacks

    ns = Collection()
    # The modules whose tasks make up the collection, by concern.
    for module in (project, releases, stacks, develop, data, machine):
        for task in Collection.from_module(module).tasks.values():
            ns.add_task(task)
    return ns


def program() -> Program:
    """The `slipway` command: the same collection under invoke's Program, so
    `slipway deploy` is `invoke deploy` without a tasks.py."""
    from slipway.cli import _program

    return _program.make()


def main() -> None:
    """The console script's entry point."""
    from slipway.cli import _help

    if _help.wanted(sys.argv[1:]) and _help.show():
        return
    try:
        program().run()
    finally:
        # The process ends here: without its objects in the collector's
        # care, Python's last collections on the way out (over everything
        # invoke, python-on-whales and pydantic built) take ~20 ms, not ~180.
        gc.freeze()
