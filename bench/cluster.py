"""A multi-node Docker Swarm on this machine, for the cluster tests and the
bench: ``docker:26-dind`` nodes and a ``registry:2`` on a network of their
own, reached from this host only over loopback.

The first node is the manager. Its engine and the port its proxy publishes
are published on free 127.0.0.1 ports; every node trusts the registry as
``registry:5000`` (plain HTTP, as `insecure-registries`). The images a
stack runs besides the release (the proxy's, the database's) are loaded
into the manager, which keeps the stateful services and the proxy: a
server that pulled them once would have them. Everything goes when the
block ends.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from python_on_whales import DockerClient, docker

from bench.workspace import free_port

NODE_IMAGE = "docker:26-dind"
REGISTRY_IMAGE = "registry:2"
REGISTRY = "registry:5000"


@dataclass(frozen=True)
class Cluster:
    """A running swarm: the manager's engine address and client, each node's
    container and engine address, and the loopback port of the manager's
    proxy (the same port inside the manager)."""

    name: str
    manager: DockerClient
    address: str
    nodes: tuple[str, ...]
    addresses: tuple[str, ...]
    app_port: int
    registry_container: str
    registry: str = REGISTRY

    def node(self, index: int) -> DockerClient:
        return DockerClient(host=self.addresses[index])

    def stop(self, node: str) -> None:
        """Take a node down at once, as a machine that lost its power."""
        docker.container.stop(node, time=0)


def environment(cluster: Cluster, files: Sequence[str], **changes: object) -> dict[str, object]:
    """slipway.yaml's environment of the reference project on ``cluster``'s
    manager: two app replicas, the worker a singleton, the release built
    here and pushed to the swarm's registry; ``changes`` on top."""
    spec: dict[str, object] = {
        "target": "prod",
        "compose_files": list(files),
        "env_file": "env/cluster.env",
        "health_timeout": 60,
        "replicas": 2,
        "engine": cluster.address,
        "orchestrator": "swarm",
        "registry": cluster.registry,
        "build": "local",
        "roles": {"worker": {"singleton": True}},
    }
    return spec | changes


def wait_for(client: DockerClient, seconds: float = 60) -> None:
    """Return once the engine answers (raise what it last said after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            client.version()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
        else:
            return


def _load(images: Sequence[str], address: str) -> None:
    save = subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE)
    subprocess.run(
        ["docker", "--host", address, "load", "-q"],
        stdin=save.stdout,
        check=True,
        capture_output=True,
    )
    if save.wait() != 0:
        msg = f"docker save {' '.join(images)} failed"
        raise RuntimeError(msg)


@contextmanager
def swarm(
    images: Sequence[str], *, nodes: int = 2, app_port: int | None = None
) -> Iterator[Cluster]:
    """A swarm of ``nodes`` nodes with ``images`` loaded into its manager,
    its proxy's port published on ``app_port`` (a free one by default)."""
    name = f"slipway-swarm-{uuid.uuid4().hex[:6]}"
    network = docker.network.create(name)
    made: list[str] = []
    try:
        registry = docker.run(
            REGISTRY_IMAGE,
            name=f"{name}-registry",
            networks=[network],
            network_aliases=["registry"],
            detach=True,
            pull="never",
        )
        made.append(registry.name)
        app_port = app_port or free_port()
        addresses = []
        for index in range(nodes):
            port = free_port()
            publish = [(f"127.0.0.1:{port}", 2375)]
            if index == 0:
                publish.append((f"127.0.0.1:{app_port}", app_port))
            node = docker.run(
                NODE_IMAGE,
                ["--insecure-registry", REGISTRY],
                name=f"{name}-node{index + 1}",
                privileged=True,
                networks=[network],
                publish=publish,
                detach=True,
                pull="never",
            )
            made.append(node.name)
            addresses.append(f"tcp://127.0.0.1:{port}")
        clients = [DockerClient(host=a) for a in addresses]
        for client in clients:
            wait_for(client)
        networks = docker.container.inspect(made[1]).network_settings.networks or {}
        manager_ip = networks[name].ip_address
        clients[0].swarm.init(advertise_address=manager_ip)
        token = clients[0].swarm.join_token("worker")
        for client in clients[1:]:
            client.swarm.join(f"{manager_ip}:2377", token=token)
        _load(images, addresses[0])
        yield Cluster(
            name,
            clients[0],
            addresses[0],
            tuple(made[1:]),
            tuple(addresses),
            app_port,
            registry.name,
        )
    finally:
        for container in reversed(made):
            with suppress(Exception):
                docker.container.remove(container, force=True, volumes=True)
        docker.network.remove(network)
