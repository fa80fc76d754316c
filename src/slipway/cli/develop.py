"""The dev loop: the dev stack with live code sync, a shell and commands in it."""

from __future__ import annotations

import functools
import shlex
import sys

from invoke.context import Context
from invoke.tasks import task

from slipway.cli.edge import ENV, edge
from slipway.cli.start import load
from slipway.errors import UsageError, command


@task(help={"env": ENV})
@edge
def dev(c: Context, env: str = "dev") -> None:
    """Run the dev stack with live code sync and reload; Ctrl-C stops."""
    from slipway import dev, handle

    # Flushed: the watch's lines must show as they come, even through a pipe.
    stack = handle.of(load(), env, report=functools.partial(print, flush=True))
    dev.start(stack)
    dev.watch(stack)


@task(help={"env": ENV})
@edge
def shell(c: Context, env: str = "dev") -> None:
    """Open a shell in the app container."""
    from slipway import handle

    cfg = load()
    handle.of(cfg, env).backend.execute(cfg.service, ["bash"], tty=True)


def _words(c: Context) -> list[str]:
    """The command after `--`, word by word. invoke joins those words with
    spaces (c.remainder), losing their quoting; the process's argv keeps them."""
    words = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else shlex.split(c.remainder)
    if not words:
        raise UsageError(f"nothing to run: {command('exec -- CMD ARGS')}")
    return words


@task(name="exec", help={"env": ENV, "role": "run it in this role's container (web: the app)"})
@edge
def exec_(c: Context, env: str = "dev", role: str = "") -> None:
    """Run a command in the app container: invoke exec -- CMD ARGS."""
    from slipway import handle

    at, command = handle.of(load(), env), _words(c)
    print(at.backend.execute(at.role(role or None), command, tty=sys.stdin.isatty()), end="")
