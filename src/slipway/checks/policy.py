"""The hardening policy every prod service must meet, checked on `docker compose config`.

:func:`check` is pure: it reads the JSON model compose resolves (all files
merged, variables substituted) and returns one failing CheckResult per
service and broken rule, each naming both, or one passing result per
service that breaks none. :func:`for_environments` feeds it every
environment whose target is prod.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slipway import engine
from slipway.checks import CheckResult
from slipway.config import Config, Target

Service = Mapping[str, Any]

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
# Capabilities that amount to root on the host; never added back.
BROAD_CAPS = frozenset({"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "NET_ADMIN", "SYS_RAWIO"})
RESTARTS = frozenset({"always", "unless-stopped", "on-failure"})


def _limits(service: Service) -> Mapping[str, Any]:
    deploy = service.get("deploy") or {}
    return (deploy.get("resources") or {}).get("limits") or {}


def _read_only(service: Service) -> str | None:
    return None if service.get("read_only") is True else "set read_only: true"


def _tmp_writable(service: Service) -> str | None:
    tmpfs = [str(entry).split(":")[0] for entry in service.get("tmpfs") or []]
    tmpfs += [v.get("target") for v in service.get("volumes") or [] if v.get("type") == "tmpfs"]
    # A path in the container, not a temp file of ours.
    return None if "/tmp" in tmpfs else "mount a tmpfs on /tmp (tmpfs: [/tmp])"  # noqa: S108


def _cap_drop_all(service: Service) -> str | None:
    dropped = {str(cap).upper() for cap in service.get("cap_drop") or []}
    return None if "ALL" in dropped else "set cap_drop: [ALL] and add back only what it needs"


def _not_privileged(service: Service) -> str | None:
    if service.get("privileged") is True:
        return "remove privileged: true"
    broad = sorted(BROAD_CAPS & {str(cap).upper() for cap in service.get("cap_add") or []})
    return f"do not add back {', '.join(broad)}" if broad else None


def _no_new_privileges(service: Service) -> str | None:
    opts = {str(opt).replace("=", ":") for opt in service.get("security_opt") or []}
    if opts & {"no-new-privileges:true", "no-new-privileges"}:
        return None
    return 'add security_opt: ["no-new-privileges:true"]'


def _init(service: Service) -> str | None:
    return None if service.get("init") is True else "set init: true"


def _memory_limit(service: Service) -> str | None:
    if _limits(service).get("memory") or service.get("mem_limit"):
        return None
    return "set deploy.resources.limits.memory"


def _pids_limit(service: Service) -> str | None:
    if _limits(service).get("pids") or service.get("pids_limit"):
        return None
    return "set deploy.resources.limits.pids"


def _restart(service: Service) -> str | None:
    policy = ((service.get("deploy") or {}).get("restart_policy") or {}).get("condition")
    restart = str(service.get("restart") or "").split(":")[0]
    if restart in RESTARTS or policy in {"on-failure", "any"}:
        return None
    return "set restart: unless-stopped (or on-failure)"


def _healthcheck(service: Service) -> str | None:
    health = service.get("healthcheck") or {}
    test = health.get("test") or []
    if health.get("disable") or not test or test[0] == "NONE":
        return "add a healthcheck"
    return None


def _no_docker_socket(service: Service) -> str | None:
    for volume in service.get("volumes") or []:
        if "docker.sock" in str(volume.get("source") or ""):
            return f"do not mount {volume['source']}"
    return None


def _loopback_ports(service: Service) -> str | None:
    for port in service.get("ports") or []:
        host = port.get("host_ip") or "0.0.0.0"
        if host not in LOOPBACK:
            published = port.get("published") or "a random port"
            return f"port {published} is bound to {host}: bind it to 127.0.0.1"
    return None


@dataclass(frozen=True)
class Rule:
    name: str
    why_broken: Callable[[Service], str | None]
    # Long-running services only: a one-shot job exits on purpose, so it has
    # nothing to probe and must not be restarted.
    one_shot_exempt: bool = False


RULES: tuple[Rule, ...] = (
    Rule("read_only", _read_only),
    Rule("tmpfs /tmp", _tmp_writable),
    Rule("cap_drop ALL", _cap_drop_all),
    Rule("not privileged", _not_privileged),
    Rule("no-new-privileges", _no_new_privileges),
    Rule("init", _init),
    Rule("memory limit", _memory_limit),
    Rule("pids limit", _pids_limit),
    Rule("restart policy", _restart, one_shot_exempt=True),
    Rule("healthcheck", _healthcheck, one_shot_exempt=True),
    Rule("no docker.sock", _no_docker_socket),
    Rule("loopback ports", _loopback_ports),
)


def one_shot(name: str, services: Mapping[str, Service]) -> bool:
    """A job (``restart: "no"``) that another service waits to complete.

    Both conditions, so a long-running service cannot dodge the restart and
    healthcheck rules by merely setting ``restart: "no"``.
    """
    if services[name].get("restart") != "no":
        return False
    return any(
        (dep or {}).get("condition") == "service_completed_successfully"
        for other in services.values()
        for dep_name, dep in (other.get("depends_on") or {}).items()
        if dep_name == name
    )


# A service that runs the project's own image and sets no healthcheck of its
# own has the image's HEALTHCHECK (docker/Dockerfile, its one definition),
# which deploy checks on the built image before anything is touched.
IMAGE_HEALTHCHECK = {"test": ["CMD", "(the image's HEALTHCHECK)"]}


def _ours(service: Service, own_image: str) -> bool:
    return bool(own_image) and str(service.get("image") or "").startswith(f"{own_image}:")


def _as_run(service: Service, own_image: str) -> Service:
    """The service as Docker runs it: with the image's healthcheck when it is ours."""
    if _ours(service, own_image) and "healthcheck" not in service:
        return {**service, "healthcheck": IMAGE_HEALTHCHECK}
    return service


def _heartbeat(service: Service) -> str | None:
    """A role with no HTTP port (a worker) is probed by its heartbeat: the
    web role's HTTP probe would fail on it, and its watchdog kill it."""
    test = " ".join(str(word) for word in (service.get("healthcheck") or {}).get("test") or [])
    if "healthcheck.py" in test or "(the image's HEALTHCHECK)" in test or "http" in test:
        return (
            "it has no HTTP port but an HTTP healthcheck: remove its healthcheck "
            f"(slipway then gives it the heartbeat probe, {HEARTBEAT_PROBE})"
        )
    return None


HEARTBEAT_PROBE = "/usr/local/lib/slipway/heartbeat.py"
ROLE_RULES = (Rule("heartbeat healthcheck", _heartbeat, one_shot_exempt=True),)


def check(
    model: Mapping[str, Any], *, env_name: str, own_image: str = "", web: str = "app"
) -> list[CheckResult]:
    """Every service of a `docker compose config --format json` model against RULES.

    ``own_image`` is the repository of the images slipway builds (slipway.yaml's
    ``image``), and ``web`` the service that serves HTTP (``service``): every
    other service running that image is a role of the release, with no HTTP
    port, which ROLE_RULES hold too.
    """
    services: Mapping[str, Service] = model.get("services") or {}
    results: list[CheckResult] = []
    for name in sorted(services):
        job = one_shot(name, services)
        role = name != web and _ours(services[name], own_image)
        rules = [
            r for r in (*RULES, *(ROLE_RULES if role else ())) if not (job and r.one_shot_exempt)
        ]
        service = _as_run(services[name], own_image)
        failures = [
            CheckResult(f"policy: {rule.name}", False, f"{env_name}: {name}: {rule.name}: {why}")
            for rule in rules
            if (why := rule.why_broken(service)) is not None
        ]
        exempt = " (one-shot: restart and healthcheck exempt)" if job else ""
        results += failures or [
            CheckResult("policy", True, f"{env_name}: {name}: {len(rules)} rules pass{exempt}")
        ]
    return results


def for_environments(config: Config) -> list[CheckResult]:
    """The policy over every environment whose target is prod."""
    results: list[CheckResult] = []
    for env in config.environments.values():
        if env.target is Target.PROD:
            docker = engine.client(config, env)
            model = engine.compose_model(docker, action=f"docker compose config ({env.name})")
            results += check(model, env_name=env.name, own_image=config.image, web=config.service)
    return results
