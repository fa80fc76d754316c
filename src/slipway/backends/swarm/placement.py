"""Where a swarm runs the release's tasks: the stateful services on the node
labelled for their data, and the app's replicas on as many nodes as they
can be, so that losing one node leaves the others serving.

Swarm places each task once and never moves it: after updates, rollbacks
or a node that left and came back, every replica can end up on one node.
A start-first update needs room for a new task beside the old, so a hard
``max_replicas_per_node`` would stop it, and the old task counts while it
waits to be replaced: with two nodes, one update in two ended with both
replicas on one node (seen here). slipway reads where the tasks landed
instead, and scales a crowded service up by one and back.
"""

from __future__ import annotations

from collections.abc import Mapping

from python_on_whales import DockerClient

from slipway import engine
from slipway.backends.swarm import cluster
from slipway.engine import docker_errors


def label_data_node(docker: DockerClient, label: str) -> str:
    """The node the stateful services keep to: the one labelled already, else
    this manager, labelled now. Its hostname."""
    with docker_errors("docker node ls"):
        nodes = docker.node.list()
        for node in nodes:
            if (node.spec.labels or {}).get(label) == "true":
                return str(node.description.hostname)
        me = docker.system.info().swarm
        own = next(n for n in nodes if n.id == (me.node_id if me else None))
        docker.node.update(own, labels_add={label: "true"})
    return str(own.description.hostname)


def ready_nodes(docker: DockerClient) -> set[str]:
    """The hostnames of the nodes Swarm can place a task on now."""
    with docker_errors("docker node ls"):
        nodes = docker.node.list()
    return {
        str(n.description.hostname)
        for n in nodes
        if n.status.state == "ready" and n.spec.availability == "active"
    }


def crowded(docker: DockerClient, stack: str, replicas: Mapping[str, int]) -> dict[str, set[str]]:
    """The services of ``replicas`` (name: how many) whose running tasks keep
    to fewer nodes than they could: name, the nodes they run on."""
    ready = ready_nodes(docker)
    running = [
        t
        for t in cluster.tasks(docker, stack, cluster.node_names(docker))
        if t.desired == "running" and t.state == "running"
    ]
    out = {}
    for service, count in replicas.items():
        on = {t.node for t in running if t.service == service}
        if len(on) < min(count, len(ready)):
            out[service] = on
    return out


def spread(
    docker: DockerClient, stack: str, service: str, wanted: tuple[str, int], *, timeout: float
) -> None:
    """One task more, which Swarm's scheduler puts on the node with the fewest
    of the service's; once it runs, the replicas as they were, which makes
    Swarm remove one from the node with the most (its scale-down keeps the
    balance). No update: nothing else is replaced, and no request fails (the
    task removed leaves DNS before it is stopped, as in a rolling update)."""
    full, (image, replicas) = f"{stack}_{service}", wanted
    for count in (replicas + 1, replicas):
        engine.service_update(docker, full, replicas=count, detach=True)
        # Not Swarm's update state: a slot that still holds a task stopping
        # after the rollout counts as one to update, which waits the canary's
        # delay and monitor for nothing; the tasks say all there is.
        cluster.converge(docker, stack, {service: (image, count)}, timeout=timeout, settled=False)
