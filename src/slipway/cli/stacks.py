"""Running stacks: what runs, its logs, taking it down, its secret files, the local CA."""

from __future__ import annotations

import shutil
import sys
from typing import TYPE_CHECKING

from invoke.context import Context
from invoke.tasks import task

from slipway.cli.edge import ENV, JSON, edge
from slipway.cli.start import load

if TYPE_CHECKING:
    from slipway.config import Config


@task(aliases=["ps"], help={"env": ENV, "json": JSON})
@edge
def status(c: Context, env: str = "prod", json: bool = False) -> None:
    """Show what runs in an environment: the proxy and each replica."""
    from slipway import handle
    from slipway.cli import tables

    rows = handle.of(load(), env).backend.status()
    print(tables.as_json(rows) if json else tables.status_table(rows, env))


@task(
    help={
        "env": ENV,
        "follow": "keep printing new lines",
        "tail": "lines to show from the end of each container's log",
        "role": "only this role's containers: web, or a role such as worker",
    }
)
@edge
def logs(
    c: Context, env: str = "prod", follow: bool = False, tail: str = "100", role: str = ""
) -> None:
    """Print the stack's logs (--role: only that role's, such as worker)."""
    from slipway import handle

    at = handle.of(load(), env)
    services = [at.role(role)] if role else []
    # Piped or redirected, the lines carry no escape codes; followed, each shows as it comes.
    plain = not sys.stdout.isatty()
    for line in at.backend.logs(follow=follow, tail=tail, plain_text=plain, services=services):
        print(line, flush=follow)


@task(help={"env": ENV, "volumes": "also delete its data volumes"})
@edge
def down(c: Context, env: str = "prod", volumes: bool = False) -> None:
    """Stop and remove an environment's containers (data volumes are kept)."""
    from slipway import deploy, handle

    deploy.down(handle.of(load(), env, report=print), volumes=volumes)
    kept = " and its volumes are deleted" if volumes else "; its volumes are kept"
    print(f"{env} is down{kept}")


@task
@edge
def clean(c: Context) -> None:
    """Take every stack down (volumes kept) and delete .nox and reports."""
    for line in cleaned(load()):
        print(line)


def cleaned(cfg: Config) -> list[str]:
    """Take every environment that was ever deployable down (volumes kept),
    delete nox's and the test reports' folders; what was done."""
    from slipway import handle

    done = []
    for env in cfg.environments.values():
        if env.env_file.is_file() or env.env_example.is_file():
            handle.of(cfg, env.name).backend.down()
            done.append(f"{env.name} stack removed (volumes kept)")
    for name in (".nox", "reports"):
        path = cfg.root / name
        if path.is_dir():
            shutil.rmtree(path)
            done.append(f"{name}/ deleted")
    return done


@task(
    help={
        "env": "only this environment's secrets (default: every environment's)",
        "rotate": "give this secret of --env a new value, there and wherever it is used",
    }
)
@edge
def secrets(c: Context, env: str = "", rotate: str = "") -> None:
    """Create missing secret files in secrets/ with strong random values (or --rotate one)."""
    from slipway import secretfiles

    cfg = load()
    if rotate:
        _rotate(cfg, env, rotate)
        return
    created = secretfiles.ensure(cfg, cfg.environment(env) if env else None)
    for path in created:
        print(f"created {cfg.show(path)} (random value, git-ignored)")
    print(f"{len(created)} secret file(s) created; existing ones are never changed")


def _stderr(line: str) -> None:
    """What `ca` says beside the path it prints: on stderr, so that
    `$(slipway ca)` is the path alone."""
    print(line, file=sys.stderr)


@task(
    help={
        "env": "the environment whose engine keeps the CA: its CA, saved here when "
        "this checkout has none"
    }
)
@edge
def ca(c: Context, env: str = "") -> None:
    """Print the path of slipway's local CA certificate (made if missing), to trust."""
    from slipway import handle, tls
    from slipway.kept import Kept

    cfg = load()
    h = handle.of(cfg, env, report=_stderr) if env else None
    kept = Kept.of(h.docker, cfg, h.env) if h is not None else None
    print(tls.ca_for(cfg, h.env if h is not None else None, kept, _stderr))


def _rotate(cfg: Config, env: str, name: str) -> None:
    from slipway import handle, rotation
    from slipway.cli import progress
    from slipway.errors import UsageError, command

    if not env:
        raise UsageError(
            f"--rotate needs the environment whose secret it is: "
            f"`{command(f'secrets --env prod --rotate {name}')}`"
        )
    with progress.steps() as report:
        done = rotation.rotate(handle.of(cfg, env, report=report), name)
    then = (
        f"{done.rolled} runs with it"
        if done.rolled
        else f"the next `{command(f'deploy --env {env}')}` starts with it"
    )
    print(f"rotated {name} of {env}: {then}")
