"""slipway's tasks as an invoke collection, grouped by concern.

A project's ``tasks.py`` is then a few lines (the pyinvoke/invocations way)::

    from slipway.cli import collection

    ns = collection()

Every task loads slipway.yaml, calls the library and prints its result; an
expected failure (SlipwayError) is one line on stderr and its exit code
(:func:`slipway.cli.edge.edge`). Names stay flat (`invoke deploy`, not
`invoke release.deploy`), as the README documents them.

Importing this package imports nothing of invoke: `slipway --help` prints
its committed help (:mod:`slipway.cli._help`) and exits before invoke loads.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from invoke.collection import Collection
    from invoke.program import Program


def collection() -> Collection:
    """Every slipway task, in one flat collection."""
    from invoke.collection import Collection

    from slipway.cli import data, develop, machine, project, releases, stacks
    from slipway.cli.edge import HelpFirst

    ns = Collection()
    # The modules whose tasks make up the collection, by concern.
    for module in (project, releases, stacks, develop, data, machine):
        for task in Collection.from_module(module).tasks.values():
            # `slipway TASK -h` is the task's help, whatever its flags are named.
            task.__class__ = HelpFirst
            ns.add_task(task)
    return ns


def program() -> Program:
    """The `slipway` command: the same collection under invoke's Program, so
    `slipway deploy` is `invoke deploy` without a tasks.py."""
    from slipway.cli import _program

    return _program.make()


# What a shell reports for a command that SIGPIPE ended: `slipway --list |
# head -1` ends as `yes | head -1` does, with no traceback.
BROKEN_PIPE = 128 + 13


def main() -> None:
    """The console script's entry point."""
    from slipway.cli import _help

    try:
        if _help.wanted(sys.argv[1:]) and _help.show():
            return
        program().run()
    except BrokenPipeError:
        # The reader went away (`| head`). What is still buffered for stdout
        # goes nowhere, so that Python's flush on the way out raises nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(BROKEN_PIPE)
    finally:
        # The process ends here: without its objects in the collector's
        # care, Python's last collections on the way out (over everything
        # invoke, python-on-whales and pydantic built) take ~20 ms, not ~180.
        gc.freeze()
