"""Invoke tasks: thin adapters over the slipway library.

Each task loads the config, calls one library function and prints its
result. Expected failures (SlipwayError) become one line and exit code 1.
"""

from __future__ import annotations

import functools
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from slipway import audit as audits
from slipway import backup as backups
from slipway import config, engine, images, retention, sbom, sizes, stack
from slipway import deploy as deploying
from slipway import dev as develop
from slipway import history as releases
from slipway.checks import NON_ROOT_TARGETS, non_root_images, verdict
from slipway.doctor import diagnose
from slipway.errors import CheckFailed, SlipwayError, UsageError
from slipway.progress import build_step, steps
from slipway.secretfiles import ensure as ensure_secrets
from slipway.tables import (
    as_json,
    audit_table,
    check_tables,
    history_table,
    results_table,
    status_table,
)

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


@task(help={"target": "Dockerfile stage to build: dev, test or prod"})
@edge
def build(c: Context, target: str = "prod") -> None:
    """Build one target of docker/Dockerfile and tag it <image>:<target>."""
    cfg = config.load()
    with steps(step=build_step) as report:
        built = images.build(engine.client(cfg), cfg, config.Target.parse(target), report=report)
    print(f"built {built.ref} ({built.short_id}, {built.size / 1e6:.1f} MB)")


@task(
    help={
        "env": "environment from slipway.yaml",
        "json": "print the result as JSON on stdout (progress goes to stderr)",
    }
)
@edge
def deploy(c: Context, env: str = "prod", json: bool = False) -> None:
    """Build, check and roll the stack onto the new release, zero-downtime."""
    # With --json, stdout carries only the result: progress goes to stderr.
    with steps(sys.stderr if json else sys.stdout) as report:
        result = deploying.deploy(config.load(), env, report=report)
    image = result.image
    print(
        as_json(result)
        if json
        else f"{result.environment} is healthy at {result.url} running {image.ref} "
        f"({image.short_id})"
    )


@task(help={"env": "environment from slipway.yaml"})
@edge
def rollback(c: Context, env: str = "prod") -> None:
    """Put back the previous healthy release of an environment."""
    with steps() as report:
        url = deploying.rollback(config.load(), env, report=report)
    print(f"{env} is healthy at {url} on the previous release")


@task(help={"env": "environment from slipway.yaml", "json": "print JSON instead of a table"})
@edge
def history(c: Context, env: str = "prod", json: bool = False) -> None:
    """Show an environment's releases: when, which image, how it ended."""
    cfg = config.load()
    rows = releases.releases(cfg, cfg.environment(env))
    if json or rows:
        print(as_json(rows) if json else history_table(rows))
    else:
        print(f"{env}: no deploys yet")


@task(help={"env": "environment from slipway.yaml"})
@edge
def prune(c: Context, env: str = "prod") -> None:
    """Remove release images beyond slipway.yaml's keep_releases."""
    done = retention.prune(config.load(), env)
    for ref in done.removed:
        print(f"removed {ref}")
    print(
        f"{env}: removed {len(done.removed)} release image(s), {done.freed_bytes / 1e6:.1f} MB "
        f"freed; kept {', '.join(done.kept) or 'none'}"
    )


@task(help={"env": "environment from slipway.yaml", "volumes": "also delete its data volumes"})
@edge
def down(c: Context, env: str = "prod", volumes: bool = False) -> None:
    """Stop and remove an environment's containers (data volumes are kept)."""
    stack.take_down(config.load(), env, volumes=volumes, report=print)
    print(
        f"{env} is down" + (" and its volumes are deleted" if volumes else "; its volumes are kept")
    )


@task(
    aliases=["ps"],
    help={"env": "environment from slipway.yaml", "json": "print JSON instead of a table"},
)
@edge
def status(c: Context, env: str = "prod", json: bool = False) -> None:
    """Show what runs in an environment: the proxy and each replica."""
    cfg = config.load()
    rows = stack.status(engine.client(cfg, cfg.environment(env)))
    if json or rows:
        print(as_json(rows) if json else status_table(rows))
    else:
        print(f"{env}: nothing is running (invoke deploy --env {env} starts it)")


@task(
    help={
        "env": "environment from slipway.yaml",
        "follow": "keep printing new lines",
        "tail": "lines to show from the end of each container's log",
    }
)
@edge
def logs(c: Context, env: str = "prod", follow: bool = False, tail: str = "100") -> None:
    """Print the stack's logs."""
    cfg = config.load()
    for line in stack.logs(engine.client(cfg, cfg.environment(env)), follow=follow, tail=tail):
        print(line)


@task(help={"json": "print JSON instead of tables (build progress goes to stderr)"})
@edge
def check(c: Context, json: bool = False) -> None:
    """Build the images, then check sizes against budgets and non-root users."""
    cfg = config.load()
    docker = engine.client(cfg)
    wanted = {*sizes.budgeted(cfg), *NON_ROOT_TARGETS}
    with steps(sys.stderr if json else sys.stdout, step=build_step) as report:
        built = images.build_for_checks(docker, cfg, wanted, report=report)
    rows = sizes.size_rows(docker, cfg, built)
    results = [*(row.check for row in rows), *non_root_images(docker, cfg, built)]
    print(as_json({"sizes": rows, "checks": results}) if json else check_tables(rows, results))
    verdict(results)


@task(help={"json": "print JSON instead of a table"})
@edge
def doctor(c: Context, json: bool = False) -> None:
    """Check this machine, the engine and the project's files; exit 1 on any failure."""
    results = diagnose(config.load())
    print(as_json(results) if json else results_table(results))
    verdict(results)


@task
@edge
def clean(c: Context) -> None:
    """Take every stack down (volumes kept) and delete .nox and reports."""
    for line in stack.clean(config.load()):
        print(line)


@task(help={"env": "environment from slipway.yaml"})
@edge
def dev(c: Context, env: str = "dev") -> None:
    """Run the dev stack with live code sync and reload; Ctrl-C stops."""
    cfg = config.load()
    # Flushed: the watch's lines must show as they come, even through a pipe.
    report = functools.partial(print, flush=True)
    compose = develop.start(cfg, env, report=report)
    develop.watch(compose, cfg.service, report=report)


@task(help={"env": "environment from slipway.yaml"})
@edge
def shell(c: Context, env: str = "dev") -> None:
    """Open a shell in the app container."""
    cfg = config.load()
    stack.execute(engine.client(cfg, cfg.environment(env)), cfg.service, ["bash"], tty=True)


@task(name="exec", help={"env": "environment from slipway.yaml"})
@edge
def exec_(c: Context, env: str = "dev") -> None:
    """Run a command in the app container: invoke exec -- CMD ARGS."""
    cfg = config.load()
    # invoke joins the words after `--` with spaces (c.remainder), losing
    # quoting; the process's own argv keeps each word intact.
    command = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else shlex.split(c.remainder)
    if not command:
        raise UsageError("nothing to run: invoke exec -- CMD ARGS")
    docker = engine.client(cfg, cfg.environment(env))
    print(stack.execute(docker, cfg.service, command, tty=sys.stdin.isatty()), end="")


@task(
    help={
        "runs": "timed runs per figure (default 5)",
        "only": "comma-separated sections: cold,warm,noop,size,health,load,rollout,tests",
    }
)
def bench(c: Context, runs: int = 5, only: str = "") -> None:
    """Measure build, size, deploy, load and test times against raw docker."""
    from bench import run  # noqa: PLC0415 (bench/ is loaded only when measuring)

    try:
        run.main(runs=runs, only=[name for name in only.split(",") if name])
    except run.BenchError as exc:
        raise Exit(f"bench: {exc}", code=1) from None


@task(help={"env": "only this environment's secrets (default: every environment's)"})
@edge
def secrets(c: Context, env: str = "") -> None:
    """Create missing secret files in secrets/ with strong random values."""
    cfg = config.load()
    created = ensure_secrets(cfg, cfg.environment(env) if env else None)
    for path in created:
        print(f"created {cfg.show(path)} (random value, git-ignored)")
    print(f"{len(created)} secret file(s) created; existing ones are never changed")


@task(
    help={
        "env": "environment from slipway.yaml",
        "verify": "restore the new backup into scratch and check integrity and row counts",
    }
)
@edge
def backup(c: Context, env: str = "prod", verify: bool = False) -> None:
    """Write a consistent online backup of an environment's database."""
    cfg = config.load()
    done = backups.backup(cfg, env)
    print(f"wrote {cfg.show(done.path)}: {done.detail}")
    for old in done.pruned:
        print(f"removed {cfg.show(old)} (keeping the newest {cfg.backups.keep})")
    if verify:
        check = backups.verify(cfg, env, done)
        print(f"verify {'ok' if check.ok else 'FAILED'}: {check.detail}")
        if not check.ok:
            raise CheckFailed(f"{cfg.show(done.path)} failed verification: {check.detail}")


@task(help={"file": "the backup file to restore", "env": "environment from slipway.yaml"})
@edge
def restore(c: Context, file: str, env: str = "prod") -> None:
    """Restore a backup: stop the app, replace its data, start it healthy."""
    notes = backups.restore(config.load(), env, Path(file), report=print)
    print(f"{env} is restored from {file} ({notes} notes) and healthy")


@task(
    name="sbom",
    help={
        "env": "environment from slipway.yaml",
        "output": "write the SBOM to this file instead of printing it",
    },
)
@edge
def sbom_(c: Context, env: str = "prod", output: str = "") -> None:
    """Print (or write) the CycloneDX SBOM of an environment's running release."""
    cfg = config.load()
    bill = sbom.of_release(cfg, cfg.environment(env))
    if not output:
        print(bill.path.read_text(), end="")
        return
    Path(output).write_bytes(bill.path.read_bytes())
    print(f"wrote {output}: {bill.python_packages} Python and {bill.os_packages} OS packages")


@task(help={"json": "print JSON instead of a table"})
@edge
def audit(c: Context, json: bool = False) -> None:
    """Check the locked runtime dependencies for known vulnerabilities (OSV)."""
    done = audits.audit(config.load())
    print(as_json(done) if json else audit_table(done))
    audits.verdict(done)
