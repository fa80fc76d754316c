"""Image sizes: every target, the base they share, and a naive single-stage build.

Sizes are what `docker image inspect` reports (uncompressed bytes, in MB of
10^6). They are exact, not noisy, so each is measured once: building again
gives the same bytes.
"""

from __future__ import annotations

from bench.figures import Figure, Report
from bench.workspace import Workspace, shown

MB = 1_000_000
SECTION = "size"
BASE = "base (python:3.13-slim-trixie + ENV, WORKDIR)"
NAIVE = "naive single-stage pip install"
NAIVE_FILE = "bench/naive.Dockerfile"
NAIVE_REF = "slipway-bench/naive:latest"


def size(ws: Workspace, ref: str) -> float:
    return int(ws.run(["docker", "image", "inspect", "--format", "{{.Size}}", ref])) / MB


def measure(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    """Build base, prod, dev, test and the naive image, then weigh them."""
    del runs  # sizes do not vary from run to run
    builds = {
        BASE: (ws.ref("base"), ws.buildx("base")),
        **{t: (ws.ref(t), ws.invoke("build", "--target", t)) for t in ("prod", "dev", "test")},
        NAIVE: (NAIVE_REF, ws.buildx(None, ref=NAIVE_REF, file=NAIVE_FILE)),
    }
    mb: dict[str, float] = {}
    figures = []
    for name, (ref, command) in builds.items():
        report(f"  size: {shown(command)}")
        ws.run(command)
        mb[name] = size(ws, ref)
        figures.append(Figure(SECTION, name, "MB", (mb[name],), shown(command)))
    return [
        *figures,
        Figure(SECTION, "prod minus base", "MB", (mb["prod"] - mb[BASE],)),
        Figure(SECTION, "naive minus base", "MB", (mb[NAIVE] - mb[BASE],)),
        Figure(SECTION, "prod / naive", "x", (mb["prod"] / mb[NAIVE],)),
    ]
