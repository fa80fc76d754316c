"""A multi-node swarm: deploy to converged, a rolling update under load, and
a lost node's replica brought back.

Each run starts a fresh two-node swarm with a registry (bench/cluster.py),
points a `cluster` environment of the copy at its manager (`orchestrator:
swarm`, PostgreSQL and Redis, two app replicas, `build: local`, the
image's own health check: Swarm watches each update for 60 s), and times:
the deploy from nothing until every task converged; a redeploy after a
one-line change under 4 clients (its seconds and failed requests); then,
under the same load, the worker node stopped: seconds until the manager
says it is down, seconds until two app tasks run again, failed requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import yaml
from python_on_whales import DockerClient

from bench.cluster import Cluster, environment, swarm
from bench.figures import Figure, Report
from bench.traffic import Traffic
from bench.workspace import Workspace, shown

SECTION = "cluster"
ENV = "cluster"
IMAGES = ("haproxy:3.0", "postgres:17", "redis:8")
FILES = ["compose/base.yaml", "compose/prod.yaml", "compose/postgres.yaml"]


def _point(ws: Workspace, cluster: Cluster | None) -> None:
    """The copy's `cluster` environment on ``cluster``'s manager (None: none)."""
    path = ws.root / "slipway.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["environments"].pop(ENV, None)
    if cluster is not None:
        (ws.root / "env/cluster.env.example").write_text(f"APP_PORT={ws.port}\n")
        settings["environments"][ENV] = environment(cluster, FILES, health_timeout=120)
    path.write_text(yaml.safe_dump(settings, sort_keys=False))


def _until(condition: Callable[[], bool], since: float, limit: float = 180) -> float:
    while not condition():
        if time.monotonic() - since > limit:
            return float("nan")
        time.sleep(0.5)
    return time.monotonic() - since


def _app_nodes(cluster: Cluster, stack: str) -> list[str]:
    """The node ids of the app's running tasks."""
    tasks = cluster.manager.service.ps(f"{stack}_app")
    return [str(t.node_id) for t in tasks if t.status.state == "running"]


def _node_id(client: DockerClient) -> str:
    swarm_info = client.system.info().swarm
    return str(swarm_info.node_id if swarm_info else "")


def _lose_a_node(cluster: Cluster, stack: str) -> tuple[float, float]:
    """Stop the node of an app task that is not the manager: the seconds until
    the manager says it is down, and until two app tasks run elsewhere."""
    me = _node_id(cluster.manager)
    lost = next(n for n in _app_nodes(cluster, stack) if n != me)
    node = next(c for i, c in enumerate(cluster.nodes) if _node_id(cluster.node(i)) == lost)
    started = time.monotonic()
    cluster.stop(node)
    down = _until(lambda: cluster.manager.node.inspect(lost).status.state == "down", started)
    back = _until(lambda: len([n for n in _app_nodes(cluster, stack) if n != lost]) == 2, started)
    return down, back


def _run(ws: Workspace, samples: dict[str, list[float]]) -> str:
    deploy = ws.invoke("deploy", "--env", ENV)
    with swarm(IMAGES, app_port=ws.port) as cluster:
        _point(ws, cluster)
        ws.edit_source()
        samples.setdefault("deploy from nothing to converged (2 nodes)", []).append(
            ws.timed(deploy)
        )
        ws.edit_source()
        with Traffic(f"http://127.0.0.1:{ws.port}", clients=4) as load:
            seconds = ws.timed(deploy)
        samples.setdefault("rolling update under 4 clients", []).append(seconds)
        samples.setdefault("rolling update: failed requests", []).append(len(load.failed))
        stack = f"{ws.config.project}-{ENV}"
        with Traffic(f"http://127.0.0.1:{ws.port}", clients=4) as load:
            time.sleep(2)
            down, back = _lose_a_node(cluster, stack)
        samples.setdefault("node lost: seconds until the manager says down", []).append(down)
        samples.setdefault("node lost: seconds until 2 app tasks run again", []).append(back)
        samples.setdefault("node lost: failed requests", []).append(len(load.failed))
        return f"{len(load.outcomes)} requests under the node loss"


def measure(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    samples: dict[str, list[float]] = {}
    try:
        for run in range(runs):
            said = _run(ws, samples)
            report(f"  run {run + 1}/{runs}: {said}")
    finally:
        _point(ws, None)
        ws.restore_source()
    command = shown(ws.invoke("deploy", "--env", ENV))
    return [
        Figure(SECTION, name, "count" if "requests" in name else "s", tuple(values), command)
        for name, values in samples.items()
    ]
