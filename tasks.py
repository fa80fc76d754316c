"""Invoke tasks: slipway's collection (src/slipway/cli), plus this repository's
benchmarks. `uv run invoke --list` shows them all."""

from __future__ import annotations

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from slipway.cli import collection


@task(
    help={
        "runs": "timed runs per figure (default 5)",
        "only": "comma-separated sections: cold,warm,noop,cli,size,health,deploy,load,rollout,"
        "tests,remote,tls",
    }
)
def bench(c: Context, runs: int = 5, only: str = "") -> None:
    """Measure build, size, deploy, load and test times against raw docker."""
    from bench import run  # noqa: PLC0415 (bench/ is loaded only when measuring)

    try:
        run.main(runs=runs, only=[name for name in only.split(",") if name])
    except run.BenchError as exc:
        raise Exit(f"bench: {exc}", code=1) from None


ns = collection()
ns.add_task(bench)
