"""The edge between a task and the library: config in, one line out on failure."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from invoke.context import Context
from invoke.exceptions import Exit

from slipway.errors import SlipwayError

P = ParamSpec("P")
R = TypeVar("R")


def edge(body: Callable[Concatenate[Context, P], R]) -> Callable[Concatenate[Context, P], R]:
    """Turn a SlipwayError into its details, one line on stderr, and exit 1."""

    @functools.wraps(body)
    def run(c: Context, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return body(c, *args, **kwargs)
        except SlipwayError as exc:
            if exc.details:
                print(exc.details, file=sys.stderr)
            raise Exit(f"slipway: {exc}", code=1) from None

    return run


ENV = "environment from slipway.yaml"
JSON = "print JSON instead of a table"
