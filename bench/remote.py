"""Deploys to another engine: built by the target, or built here and shipped.

Each run starts a fresh second engine (the docker:26-dind stand-in, its API
on a free loopback port, the base images loaded, as a server that pulled
them), points the copy's prod environment at it (`engine: tcp://...`), and
times `invoke deploy --env prod` from nothing, then after a one-line source
change. It does so twice, on two fresh engines: with the default build on
the target (its build cache starts empty, as a new server's does), and
with `build: local` (this machine's engine builds, with its cache, and
ships the image). Then the same two deploys on this machine's own engine,
side by side.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import yaml

from bench.figures import BenchError, Figure, Report
from bench.workspace import ENVIRONMENT, Workspace, free_port, shown

SECTION = "remote"
NODE_IMAGE = "docker:26-dind"
BASE_IMAGES = ("python:3.13-slim-trixie", "ghcr.io/astral-sh/uv:0.13.9", "haproxy:3.0")


def _docker(*args: str, stdin: int | None = None) -> None:
    done = subprocess.run(["docker", *args], stdin=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"`docker {' '.join(args)}` failed: {done.stderr.decode().strip()}")


@contextmanager
def _node() -> Iterator[str]:
    """A fresh engine with the base images: its tcp:// address."""
    name, port = f"slipway-bench-node-{uuid.uuid4().hex[:6]}", free_port()
    _docker("run", "-d", "--privileged", "--name", name, "-p", f"127.0.0.1:{port}:2375", NODE_IMAGE)
    address = f"tcp://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        answers = ["docker", "--host", address, "version"]
        while subprocess.run(answers, capture_output=True, check=False).returncode:
            if time.monotonic() > deadline:
                raise BenchError(f"{NODE_IMAGE} did not answer on {address} within 60 s")
            time.sleep(0.5)
        with subprocess.Popen(["docker", "save", *BASE_IMAGES], stdout=subprocess.PIPE) as save:
            _docker("--host", address, "load", "-q", stdin=save.stdout)  # type: ignore[arg-type]
        yield address
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)


def _point(ws: Workspace, engine: str | None, build: str) -> None:
    """The copy's prod environment runs on ``engine`` (None: this machine's)."""
    path = ws.root / "slipway.yaml"
    settings = yaml.safe_load(path.read_text())
    prod = settings["environments"][ENVIRONMENT]
    prod.pop("engine", None)
    prod.pop("build", None)
    if engine is not None:
        prod.update(engine=engine, build=build)
    path.write_text(yaml.safe_dump(settings, sort_keys=False))


def _two_deploys(ws: Workspace) -> tuple[float, float]:
    """Seconds of a deploy from nothing, then of one after a one-line change."""
    deploy = ws.invoke("deploy", "--env", ENVIRONMENT)
    first = ws.timed(deploy)
    ws.edit_source()
    return first, ws.timed(deploy)


def measure(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    kinds = (
        ("remote, built on the target", "target"),
        ("remote, build: local (built here, shipped)", "local"),
        ("this machine's engine", None),
    )
    samples: dict[str, list[float]] = {}
    for run in range(runs):
        for label, build in kinds:
            if build is None:
                _point(ws, None, "target")
                ws.down()
                times = _two_deploys(ws)
                ws.down()
            else:
                with _node() as address:
                    _point(ws, address, build)
                    times = _two_deploys(ws)
            samples.setdefault(f"{label}: deploy from nothing", []).append(times[0])
            samples.setdefault(f"{label}: redeploy, one-line change", []).append(times[1])
            report(f"  run {run + 1}/{runs}, {label}: {times[0]:.1f} s, then {times[1]:.1f} s")
    _point(ws, None, "target")
    ws.restore_source()
    command = shown(ws.invoke("deploy", "--env", ENVIRONMENT))
    return [Figure(SECTION, name, "s", tuple(values), command) for name, values in samples.items()]
