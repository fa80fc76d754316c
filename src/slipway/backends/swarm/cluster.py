"""What the swarm backend asks of the manager's engine: that it is one, the
release pushed and known by digest, a stack file deployed, and the truth of
what then runs (every task, on every node).

`docker stack deploy` returns before anything converged, and exits 0 after
Swarm rolled an update back (docker/cli#6752): :func:`converge` reads each
service's update state and every task's state and image until they say the
release runs, or say it does not.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_on_whales import DockerClient

from slipway import engine
from slipway.engine import docker_errors
from slipway.errors import ConfigError, DeployFailed, EngineError, NotFound, Reverted

# Swarm's label of the stack a service, a task or a secret belongs to.
NAMESPACE = "com.docker.stack.namespace"
# An update Swarm gave up on: it rolled back, or paused half way.
GAVE_UP = ("rollback_started", "rollback_completed", "rollback_paused", "paused")
POLL_SECONDS = 1.0
# A task that failed this often, with none of its service running, is crash-looping.
CRASHES = 3
_FAILED = ("failed", "rejected", "shutdown")


def ensure_manager(docker: DockerClient, where: str) -> None:
    """ConfigError, with nothing touched, unless the engine manages a swarm."""
    with docker_errors("docker info"):
        swarm = docker.system.info().swarm
    if swarm is None or swarm.local_node_state != "active":
        raise ConfigError(
            f"{where} is in no swarm: run `docker swarm init` there, or point engine: at "
            "a manager of the swarm"
        )
    if not swarm.control_available:
        raise ConfigError(
            f"{where} is a worker of its swarm, not a manager: point engine: at a manager"
        )


def push(docker: DockerClient, registry: str, ref: str, where: str) -> str:
    """Push the release to the registry; the reference every node pulls:
    ``registry/repo:tag@sha256:...``. DeployFailed in one line if it cannot."""
    remote = f"{registry}/{ref}"
    try:
        with docker_errors(f"pushing {ref} to {registry}"):
            docker.image.tag(ref, remote)
            engine.push(docker, remote)
            digests = docker.image.inspect(remote).repo_digests or []
    except EngineError as exc:
        raise DeployFailed(
            f"could not push {ref} to the registry {registry} from {where}: {exc.reason}; "
            "check that the registry runs and that the engine reaches it (a registry "
            "without TLS must be in its insecure-registries)"
        ) from None
    repository = remote.rpartition(":")[0]
    digest = next((d.partition("@")[2] for d in digests if d.startswith(f"{repository}@")), "")
    if not digest:
        raise DeployFailed(f"{registry} gave no digest for {ref}")
    return f"{remote}@{digest}"


def deploy(docker: DockerClient, stack: str, file: Path) -> None:
    """Deploy the stack file (never resolving images: each is a digest, or
    the node's own); returns before anything converged."""
    engine.stack_deploy(docker, stack, str(file))


@dataclass(frozen=True)
class Task:
    """One task of a service, as `slipway status` shows it."""

    service: str
    id: str
    slot: str
    node: str
    state: str
    desired: str
    image: str
    error: str


def tasks(docker: DockerClient, stack: str, nodes: Mapping[str, str]) -> list[Task]:
    """Every task of the stack's services (``nodes``: node id to hostname)."""
    for _ in range(3):
        with docker_errors(f"docker stack ps {stack}"):
            services = {str(s.id): str(s.spec.name) for s in docker.stack.services(stack)}
            ids = [str(t.id) for t in docker.service.ps(list(services))] if services else []
        try:
            found = engine.inspect_tasks(docker, ids)
            break
        except NotFound:
            continue  # one went since it was listed (Swarm keeps a few per slot)
    else:
        found = []
    return [_task(seen, services, stack, nodes) for seen in found]


def _task(
    seen: Mapping[str, Any], services: Mapping[str, str], stack: str, nodes: Mapping[str, str]
) -> Task:
    status = seen.get("Status") or {}
    node = str(seen.get("NodeID") or "")
    container = (seen.get("Spec") or {}).get("ContainerSpec") or {}
    return Task(
        service=services.get(str(seen.get("ServiceID")), "?").removeprefix(f"{stack}_"),
        id=str(seen.get("ID")),
        slot=str(seen.get("Slot") or node),
        node=nodes.get(node, node or "-"),
        state=str(status.get("State") or "?"),
        desired=str(seen.get("DesiredState") or "?"),
        image=str(container.get("Image") or "?"),
        error=str(status.get("Err") or ""),
    )


def node_names(docker: DockerClient) -> dict[str, str]:
    with docker_errors("docker node ls"):
        return {str(n.id): str(n.description.hostname) for n in docker.node.list()}


def _update_state(docker: DockerClient, full: str) -> tuple[str, str, str]:
    """The service's last update: its state, Swarm's message, and the image
    the service's spec names now."""
    with docker_errors(f"docker service inspect {full}"):
        service = docker.service.inspect(full)
        status, template = service.update_status, service.spec.task_template
    container = template.container_spec if template else None
    image = str(container.image if container else "")
    if status is None:
        return "", "", image
    return str(status.state or ""), str(status.message or ""), image


def _why(stuck: Iterable[Task]) -> str:
    errors = sorted({t.error for t in stuck if t.error})
    return f" ({'; '.join(errors)})" if errors else ""


def converge(
    docker: DockerClient,
    stack: str,
    wanted: Mapping[str, tuple[str, int]],
    *,
    timeout: float,
    settled: bool = True,
) -> None:
    """Wait until each service (name: (image, replicas)) runs exactly its
    replicas, every one on its image and running (healthy, for a task with a
    health check), and (``settled``) Swarm says its update completed.

    DeployFailed as soon as Swarm rolled one back or paused it, or when
    ``timeout`` passes first, naming what runs instead.
    """
    deadline = time.monotonic() + timeout
    names = node_names(docker)
    waiting: dict[str, str] = {}
    while True:
        seen = tasks(docker, stack, names)
        waiting = {}
        for service, (image, replicas) in wanted.items():
            state, message, spec = _update_state(docker, f"{stack}_{service}")
            # A rollback that put this very image back is an earlier update's.
            if state in GAVE_UP and spec != image:
                raise _gave_up(docker, stack, service, state, message, deadline)
            mine = [t for t in seen if t.service == service and t.desired == "running"]
            on = [t for t in mine if t.image == image and t.state == "running"]
            updating = settled and state == "updating"
            if updating or len(on) != replicas or len(mine) != replicas:
                stuck = [t for t in seen if t.service == service and t.state != "running"]
                failed = [t for t in stuck if t.image == image and t.state in _FAILED]
                if len(failed) >= CRASHES and not on and state != "updating":
                    # Restarting can tell nothing more: it crash-loops.
                    raise DeployFailed(
                        f"{service} failed {len(failed)} times and never ran{_why(failed)}",
                        details=logs_text(docker, f"{stack}_{service}"),
                    )
                waiting[service] = f"{len(on)} of {replicas} running{_why(stuck[-3:])}"
        if not waiting:
            return
        if time.monotonic() > deadline:
            shown = "; ".join(f"{s}: {w}" for s, w in sorted(waiting.items()))
            raise DeployFailed(f"the release did not converge within {timeout:.0f}s: {shown}")
        time.sleep(POLL_SECONDS)


def _gave_up(
    docker: DockerClient, stack: str, service: str, state: str, message: str, deadline: float
) -> DeployFailed:
    """What to raise once Swarm gave up on an update: after its rollback
    completed (RolledBack), or as it stands when it paused or never ended."""
    why = message or "no reason given"
    full = f"{stack}_{service}"
    while state == "rollback_started" and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        state, message, _ = _update_state(docker, full)
    # The failed task's own log (Swarm names it), not the whole service's,
    # and where it ran and why it ended (a node that could not pull, say).
    failed = re.search(r"task ([a-z0-9]{25})", why)
    details = logs_text(docker, failed.group(1) if failed else full, tail=30)
    task = next(
        (t for t in tasks(docker, stack, node_names(docker)) if failed and t.id == failed[1]),
        None,
    )
    if task is not None:
        why += f" on {task.node}: {task.error or task.state}"
    if state == "rollback_completed":
        return Reverted(f"Swarm rolled the update of {service} back ({why})", details=details)
    return DeployFailed(
        f"Swarm {state.replace('_', ' ')} the update of {service} ({why}): the "
        "release it runs is mixed; roll back with `slipway rollback` or deploy again",
        details=details,
    )


def complete(docker: DockerClient, stack: str, job: str, image: str, *, timeout: float) -> None:
    """Wait for the one-shot job's run of ``image`` to exit 0; DeployFailed,
    with its logs, when it failed or never ended."""
    deadline = time.monotonic() + timeout
    names = node_names(docker)
    while time.monotonic() < deadline:
        runs = [t for t in tasks(docker, stack, names) if t.service == job and t.image == image]
        if any(t.state == "complete" for t in runs):
            return
        failed = [t for t in runs if t.state in ("failed", "rejected")]
        if failed:
            raise DeployFailed(
                f"{job} failed on {failed[0].node}: {failed[0].error or failed[0].state}; "
                "the release was not rolled out",
                details=logs_text(docker, f"{stack}_{job}"),
            )
        time.sleep(POLL_SECONDS)
    raise DeployFailed(f"{job} did not end within {timeout:.0f}s; the release was not rolled out")


def logs_text(docker: DockerClient, full: str, tail: int = 50) -> str:
    try:
        with docker_errors(f"docker service logs {full}"):
            return str(docker.service.logs(full, tail=tail))
    except EngineError:
        return ""


def remove(docker: DockerClient, stack: str, *, volumes: bool = False) -> None:
    """Remove the stack's services, networks, secrets and configs; returns
    once no task of it is left on the manager's node. With ``volumes``, the
    stack's volumes on the manager go too (the data node's, by default;
    another node's are left: only its own engine can remove them)."""
    with docker_errors(f"docker stack rm {stack}"):
        docker.stack.remove(stack)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with docker_errors("docker container ls"):
            left = docker.container.list(all=True, filters=[("label", f"{NAMESPACE}={stack}")])
        if not left:
            break
        time.sleep(POLL_SECONDS)
    if volumes:
        with docker_errors("docker volume rm"):
            kept = [v.name for v in docker.volume.list(filters=[("label", f"{NAMESPACE}={stack}")])]
            if kept:
                docker.volume.remove(list(kept))


def prune_objects(docker: DockerClient, stack: str, in_use: Sequence[str], keep: int = 3) -> int:
    """Remove the stack's old secret and config versions, beyond the newest
    ``keep`` of each name that no service uses; how many went."""
    removed = 0
    for kind in (docker.secret, docker.config):
        # python-on-whales 0.81 prints "reference: <id>" for every Secret it makes.
        with docker_errors("docker secret ls"), redirect_stdout(io.StringIO()):
            found = [i for i in kind.list() if (i.spec.labels or {}).get(NAMESPACE) == stack]
        by_name: dict[str, list[Any]] = {}
        for item in found:
            name = str(item.spec.name)
            by_name.setdefault(name.rpartition("-")[0], []).append(item)
        for items in by_name.values():
            items.sort(key=lambda i: str(i.created_at), reverse=True)
            for item in items[keep:]:
                if str(item.spec.name) in in_use:
                    continue
                try:
                    with docker_errors(f"removing {item.spec.name}"):
                        item.remove()
                    removed += 1
                except (EngineError, NotFound):
                    continue
    return removed
