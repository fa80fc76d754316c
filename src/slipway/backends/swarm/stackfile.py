"""The stack file a swarm deploys: the environment's compose model, as
`docker compose config` resolves it, translated for `docker stack deploy`.

Pure: it reads the model and writes a mapping. What Swarm cannot honour is
refused with one line naming the key; what stack deploy ignores or rejects
is translated (``restart`` into ``deploy.restart_policy``, ``depends_on``
into the rollout's phases, the file secrets slipway mounts from its volume
into Swarm secrets named by their content); every release service runs the
pushed digest, never a tag.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slipway.config.roles import Role
from slipway.errors import ConfigError

# Keys of a service Swarm has no way to honour (docker/cli's compose loader
# refuses or ignores them): refused rather than silently dropped.
UNSWARMABLE = (
    "cgroup_parent",
    "cgroupns_mode",
    "devices",
    "external_links",
    "ipc",
    "links",
    "mac_address",
    "network_mode",
    "pid",
    "privileged",
    "shm_size",
    "userns_mode",
    "volumes_from",
)
# Keys that mean nothing on a swarm, or that slipway does itself: the image
# is built and pushed before, depends_on are the rollout's phases.
DROPPED = (
    "build",
    "container_name",
    "depends_on",
    "develop",
    "profiles",
    "pull_policy",
    "restart",
    "security_opt",
)
PROXY = "proxy"
PROXY_CONFIG = "haproxy"
PROXY_TARGET = "/usr/local/etc/haproxy/haproxy.cfg"
_RESTART = {"no": "none", "always": "any", "unless-stopped": "any"}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s|us|ns)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


@dataclass(frozen=True)
class Plan:
    """What the translation needs beside the model."""

    stack: str
    web: str
    migrate: str | None
    release: str
    replicas: int
    roles: Mapping[str, Role] = field(default_factory=dict)
    # compose secret name: (Swarm secret name, the file it is made from)
    secrets: Mapping[str, tuple[str, Path]] = field(default_factory=dict)
    # The proxy's configuration: (Swarm config name, the file it is made from)
    proxy_config: tuple[str, Path] | None = None
    # The volume slipway mounts secrets from on one engine: not on a swarm.
    state_volume: str = "slipway-state"
    # The node label that pins the stateful services (the data node).
    data_label: str = "slipway.data"
    # Seconds each service's update is watched for a failure.
    monitors: Mapping[str, int] = field(default_factory=dict)

    def release_services(self) -> set[str]:
        return {self.web, *self.roles, *({self.migrate} - {None})}  # type: ignore[arg-type]


def seconds(duration: object) -> float:
    """A compose duration ("1m30s", "10s", 5) in seconds."""
    if isinstance(duration, int | float):
        return float(duration)
    text = str(duration or "0")
    return sum(float(n) * _UNIT[u] for n, u in _DURATION.findall(text)) if text != "0" else 0.0


def monitor(healthcheck: Mapping[str, Any] | None) -> int:
    """How long Swarm watches an updated task: a failing health check must be
    able to fail it in that time (interval x retries + start period), 5 s at least."""
    if not healthcheck or healthcheck.get("disable") or healthcheck.get("test") == ["NONE"]:
        return 5
    interval = seconds(healthcheck.get("interval") or "30s")
    retries = int(healthcheck.get("retries") or 3)
    start = seconds(healthcheck.get("start_period") or 0)
    return max(5, int(interval * retries + start + 0.999))


def refuse_unswarmable(model: Mapping[str, Any], env: str) -> None:
    """ConfigError naming the first key of a service Swarm cannot honour."""
    for name, spec in sorted((model.get("services") or {}).items()):
        for key in UNSWARMABLE:
            if spec.get(key) not in (None, False, [], {}):
                raise ConfigError(
                    f"{env}: service {name} sets {key}, which a swarm cannot honour "
                    f"(docker stack deploy refuses or ignores it): remove it from {env}'s "
                    "compose files, or run the environment with orchestrator: compose"
                )


def render(model: Mapping[str, Any], plan: Plan, *, services: Collection[str]) -> dict[str, Any]:
    """The stack file of ``services`` (a phase of the rollout), from ``model``."""
    all_services = model.get("services") or {}
    out: dict[str, Any] = {"version": "3.12", "services": {}}
    for name in sorted(services):
        out["services"][name] = _service(name, all_services[name], plan)
    used = _used(out["services"])
    out["networks"] = {
        n: _network(spec) for n, spec in (model.get("networks") or {}).items() if n in used[0]
    }
    out["volumes"] = {
        n: _volume(spec)
        for n, spec in (model.get("volumes") or {}).items()
        if n in used[1] and n != plan.state_volume
    }
    out["secrets"] = {
        n: {"name": swarm_name, "file": str(path)}
        for n, (swarm_name, path) in sorted(plan.secrets.items())
        if n in used[2]
    }
    if plan.proxy_config is not None and PROXY in out["services"]:
        name, path = plan.proxy_config
        out["configs"] = {PROXY_CONFIG: {"name": name, "file": str(path)}}
    return {k: v for k, v in out.items() if v}


def _used(services: Mapping[str, Any]) -> tuple[set[str], set[str], set[str]]:
    """The networks, volumes and secrets the rendered services name."""
    networks, volumes, secrets = set(), set(), set()
    for spec in services.values():
        networks |= set(spec.get("networks") or {"default": None})
        volumes |= {v["source"] for v in spec.get("volumes") or [] if v.get("type") == "volume"}
        secrets |= {s["source"] for s in spec.get("secrets") or []}
    return networks, volumes, secrets


def _network(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """A network of the stack: an overlay spanning the nodes, named by the stack."""
    spec = dict(spec or {})
    if spec.get("external"):
        return {"external": True, "name": spec.get("name")}
    kept = {k: spec[k] for k in ("internal", "labels", "driver_opts") if spec.get(k)}
    return {"driver": "overlay", **kept}


def _volume(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    spec = dict(spec or {})
    if spec.get("external"):
        return {"external": True, "name": spec.get("name")}
    return {k: spec[k] for k in ("driver", "driver_opts", "labels") if spec.get(k)}


def _service(name: str, spec: Mapping[str, Any], plan: Plan) -> dict[str, Any]:
    out = {k: v for k, v in spec.items() if k not in DROPPED and v is not None}
    if name in plan.release_services():
        out["image"] = plan.release
    secrets = [dict(s) for s in out.pop("secrets", []) or []]
    volumes = []
    for mount in out.pop("volumes", []) or []:
        if mount.get("type") == "volume" and mount.get("source") == plan.state_volume:
            # A secret slipway mounts from its volume: a Swarm secret instead.
            source = str(mount.get("volume", {}).get("subpath", "")).rpartition("/")[2]
            if source in plan.secrets:
                secrets.append({"source": source, "target": mount["target"]})
            continue
        volumes.append({k: v for k, v in mount.items() if k not in ("volume", "bind") or v})
    # stack deploy drops `tmpfs:` without a word: each path becomes a tmpfs mount.
    for path in out.pop("tmpfs", []) or []:
        volumes.append({"type": "tmpfs", "target": str(path).partition(":")[0]})
    if volumes:
        out["volumes"] = volumes
    if secrets:
        out["secrets"] = [_secret(s) for s in secrets if s.get("source") in plan.secrets]
    if "ports" in out:
        out["ports"] = [_port(p) for p in out["ports"]]
    if name == PROXY and plan.proxy_config is not None:
        out["configs"] = [{"source": PROXY_CONFIG, "target": PROXY_TARGET}]
    out["deploy"] = _deploy(name, spec, plan)
    return out


def _data_volumes(spec: Mapping[str, Any]) -> list[str]:
    return [
        str(v.get("source"))
        for v in spec.get("volumes") or []
        if isinstance(v, Mapping) and v.get("type") == "volume"
    ]


def _secret(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {"source": entry["source"], "target": str(entry.get("target") or entry["source"])}


def _port(port: Mapping[str, Any] | str) -> dict[str, Any]:
    """A published port, on the node that runs the task (no ingress mesh)."""
    if isinstance(port, str):
        published, _, target = port.rpartition(":")
        port = {"target": target, "published": published.rpartition(":")[2]}
    out = {"target": int(port["target"]), "mode": "host", "protocol": port.get("protocol", "tcp")}
    if port.get("published"):
        out["published"] = int(str(port["published"]))
    return out


def _restart(spec: Mapping[str, Any]) -> dict[str, Any]:
    """compose's ``restart`` as Swarm's restart policy (stack deploy would
    only say it ignores it)."""
    policy = str(spec.get("restart") or "unless-stopped")
    condition, _, attempts = policy.partition(":")
    out: dict[str, Any] = {"condition": _RESTART.get(condition, "on-failure"), "delay": "1s"}
    if attempts:
        out["max_attempts"] = int(attempts)
    return out


def _deploy(name: str, spec: Mapping[str, Any], plan: Plan) -> dict[str, Any]:
    deploy = {k: v for k, v in (spec.get("deploy") or {}).items() if v not in (None, {})}
    deploy.setdefault("restart_policy", _restart(spec))
    deploy["endpoint_mode"] = "dnsrr"
    data_node = {"constraints": [f"node.labels.{plan.data_label} == true"]}
    if name == plan.migrate:
        # Beside the database: a node that joins a network only for a job and
        # leaves it again could not reach the database from its next task
        # there for about 30 s (seen here, a first deploy in three).
        deploy.pop("replicas", None)
        return {
            **deploy,
            "mode": "replicated-job",
            "restart_policy": {"condition": "none"},
            "placement": data_node,
        }
    role = plan.roles.get(name)
    singleton = role is not None and role.singleton
    if name == plan.web:
        deploy["replicas"] = plan.replicas
    elif role is not None:
        deploy["replicas"] = 1 if singleton else role.replicas
    elif name == PROXY:
        deploy["replicas"] = 1
        deploy["placement"] = {"constraints": ["node.role == manager"]}
    else:
        # A sidecar keeps to the node that holds its data.
        deploy["placement"] = data_node
    # A port on the node (the proxy), a singleton, or a sidecar's data
    # volume: the old task goes first; the rest start beside the old.
    sidecar = name not in plan.release_services() and name != PROXY
    stops = name == PROXY or singleton or (sidecar and bool(_data_volumes(spec)))
    return deploy | _policies(name, plan, deploy, "stop-first" if stops else "start-first")


def _policies(
    name: str, plan: Plan, deploy: Mapping[str, Any], first: str
) -> dict[str, dict[str, Any]]:
    """The service's update and rollback policies: Swarm's own rollback,
    each task watched for the service's monitor window."""
    watch = plan.monitors.get(name, 5)
    change = {"parallelism": 1, "order": first, "monitor": f"{watch}s"}
    # A canary: without a delay Swarm replaces the next task as soon as the
    # last runs, so a release that crashes in the window has replaced them
    # all. A delay of the window (never longer: moby#37972) keeps the old
    # serving until the new proved itself. A rollback does not wait.
    canary = f"{watch}s" if int(deploy.get("replicas") or 1) > 1 else "0s"
    return {
        "update_config": {
            **change,
            "delay": canary,
            "failure_action": "rollback",
            "max_failure_ratio": 0,
        },
        "rollback_config": {
            **change,
            "delay": "0s",
            "failure_action": "pause",
            "max_failure_ratio": 0,
        },
    }
