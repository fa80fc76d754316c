"""The edge between a task and the library: config in, one line out on failure."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task

from slipway.errors import SlipwayError

P = ParamSpec("P")
R = TypeVar("R")


def edge(body: Callable[Concatenate[Context, P], R]) -> Callable[Concatenate[Context, P], R]:
    """Turn a SlipwayError into its details, one line on stderr, and its exit
    code (1 a failure, 2 a usage error, 3 not checked)."""

    @functools.wraps(body)
    def run(c: Context, /, *args: P.args, **kwargs: P.kwargs) -> R:
        # invoke stops Python writing .pyc files (so that loading a project's
        # tasks.py leaves no __pycache__ beside it) unless --write-pyc; the
        # library and its dependencies, imported as the task starts, are
        # cached as Python caches them. Without it an installed slipway that
        # came without bytecode recompiles pydantic, python-on-whales and
        # PyYAML on every command (about 0.4 s here).
        written = sys.dont_write_bytecode
        sys.dont_write_bytecode = written and bool(sys.flags.dont_write_bytecode)
        try:
            return body(c, *args, **kwargs)
        except SlipwayError as exc:
            if exc.details:
                print(exc.details, file=sys.stderr)
            raise Exit(f"slipway: {exc}", code=exc.exit_code) from None
        finally:
            sys.dont_write_bytecode = written

    return run


class HelpFirst(Task[Any]):
    """A task whose flags leave ``-h`` to ``--help``.

    invoke gives each flag the first free letter of its name as a short flag,
    so ``--health-path`` took ``-h`` and `slipway init -h` asked for a path
    instead of the help. :func:`slipway.cli.collection` makes every task one.
    """

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        return super().arg_opts(name, default, taken_names | {"h"})


ENV = "environment from slipway.yaml"
JSON = "print JSON instead of a table"
