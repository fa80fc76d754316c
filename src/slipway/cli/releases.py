"""Releases: build, check, deploy, roll back, and what each release is made of.

Each task imports what it needs when it runs: `slipway --help` and
`--list` never load python-on-whales, pydantic or PyYAML.
"""

from __future__ import annotations

import sys
from pathlib import Path

from invoke.context import Context
from invoke.tasks import task

from slipway.cli.edge import ENV, JSON, edge
from slipway.cli.start import load


@task(help={"target": "Dockerfile stage to build: dev, test or prod"})
@edge
def build(c: Context, target: str = "prod") -> None:
    """Build one target of docker/Dockerfile and tag it <image>:<target>."""
    from slipway import config, engine
    from slipway.build import images
    from slipway.cli import progress

    cfg = load()
    with progress.steps(step=progress.build_step) as report:
        built = images.build(engine.client(cfg), cfg, config.Target.parse(target), report=report)
    print(f"built {built.ref} ({built.short_id}, {built.size / 1e6:.1f} MB)")


@task(help={"env": ENV, "json": "print the result as JSON on stdout (progress goes to stderr)"})
@edge
def deploy(c: Context, env: str = "prod", json: bool = False) -> None:
    """Build, check and roll the stack onto the new release, zero-downtime."""
    from slipway import deploy, handle
    from slipway.cli import progress, tables

    # With --json, stdout carries only the result: progress goes to stderr.
    with progress.steps(sys.stderr if json else sys.stdout) as report:
        result = deploy.deploy(handle.of(load(), env, report=report))
    print(tables.as_json(result) if json else tables.deployed_line(result))


@task(help={"env": ENV, "to": "the release to go back to (a tag `history` lists)"})
@edge
def rollback(c: Context, env: str = "prod", to: str = "") -> None:
    """Put back the release served before the current one (or --to TAG)."""
    from slipway import deploy, handle
    from slipway.cli import progress

    with progress.steps() as report:
        back = deploy.rollback(handle.of(load(), env, report=report), to=to or None)
    which = "the previous release" if back.why != "as asked" else "the release asked for"
    print(f"{env} is healthy at {back.url} on {which}, {back.image}")


@task(
    help={
        "env": ENV,
        "json": JSON,
        "timeline": "each deploy's phases and the seconds each took",
    }
)
@edge
def history(c: Context, env: str = "prod", json: bool = False, timeline: bool = False) -> None:
    """Show an environment's releases: when, which image, how it ended."""
    from slipway import handle, history
    from slipway.cli import tables

    # What the environment's engine keeps, whichever checkout deployed there.
    stack = handle.of(load(), env)
    stack.backend.pull()
    rows = history.releases(stack.config, stack.env)
    shown = tables.timeline_table(rows, env) if timeline else tables.history_table(rows, env)
    print(tables.as_json(rows) if json else shown)


@task(help={"env": ENV})
@edge
def prune(c: Context, env: str = "prod") -> None:
    """Remove release images beyond slipway.yaml's keep_releases."""
    from slipway import handle, retention
    from slipway.cli import tables

    print(tables.pruned_lines(retention.prune(handle.of(load(), env)), env))


@task(help={"json": "print JSON instead of tables (build progress goes to stderr)"})
@edge
def check(c: Context, json: bool = False) -> None:
    """Build the images, then check sizes against budgets and non-root users."""
    from slipway import checks, engine
    from slipway.cli import progress, tables

    cfg = load()
    out, docker = sys.stderr if json else sys.stdout, engine.client(cfg)
    rows, results = checks.run(
        docker, cfg, building=lambda _targets: progress.steps(out, step=progress.build_step)
    )
    print(tables.check_output(rows, results, json=json))
    checks.verdict(results)


@task(help={"env": ENV, "output": "write the SBOM to this file instead of printing it"})
@edge
def sbom(c: Context, env: str = "prod", output: str = "") -> None:
    """Print (or write) the CycloneDX SBOM of an environment's running release."""
    from slipway import handle
    from slipway.build import sbom

    bill = sbom.of_release(handle.of(load(), env))
    if not output:
        print(bill.path.read_text(), end="")
        return
    Path(output).write_bytes(bill.path.read_bytes())
    print(f"wrote {output}: {bill.python_packages} Python and {bill.os_packages} OS packages")


@task(help={"json": JSON})
@edge
def audit(c: Context, json: bool = False) -> None:
    """Check the locked runtime dependencies for known vulnerabilities (OSV)."""
    from slipway import checks
    from slipway.checks import audit
    from slipway.cli import tables

    done = audit.audit(load())
    print(tables.as_json(done) if json else tables.audit_table(done))
    checks.verdict(done.results())
