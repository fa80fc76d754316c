"""A running sidecar's new configuration, tried before it replaces the old.

compose replaces a sidecar whose configuration changed in place: the old one
is gone before the new one is known to work, and with it the release that
uses it. So a running sidecar that is about to change (its configuration
hash, as compose resolves it now, is not the one its containers carry) is
first started as a trial: a throwaway container of its new image, command,
environment, user, capabilities and healthcheck, with slipway's read-only
files from the environment's volume (secrets) but a fresh empty volume in
place of each data volume (a second server on the same data could corrupt
it), on no network. Only once the trial is healthy is the sidecar replaced;
when it is not, the deploy fails in one line and the running sidecar and
the release it serves are left as they were. The trial is removed, with its
volumes, either way.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping, Sequence
from typing import Any

from python_on_whales import Container, DockerClient

from slipway import engine
from slipway.backends.compose.health import wait_healthy
from slipway.config import Config, Environment
from slipway.engine import docker_errors, mounts
from slipway.errors import DeployFailed, NotFound

HASH_LABEL = "com.docker.compose.config-hash"
TRIAL_LABEL = "slipway.trial"
# How often the trial is probed, whatever the service's own interval.
TRIAL_INTERVAL = 1
# How long one without a healthcheck must keep running.
NO_HEALTHCHECK_WAIT = 3


def changing(docker: DockerClient, running: Mapping[str, set[str]]) -> list[str]:
    """The running sidecars whose configuration compose resolves otherwise now."""
    names = [name for name, ids in running.items() if ids]
    if not names:
        return []
    want = engine.compose_config_hashes(docker, names)
    found = []
    for name in names:
        with docker_errors("docker inspect"):
            labels = [docker.container.inspect(i).config.labels or {} for i in running[name]]
        if any(label.get(HASH_LABEL) != want.get(name) for label in labels):
            found.append(name)
    return found


def _health(spec: Mapping[str, Any]) -> dict[str, Any]:
    test = (spec.get("healthcheck") or {}).get("test") or []
    if not test or test[0] == "NONE" or (spec.get("healthcheck") or {}).get("disable"):
        return {}
    command = test[1] if test[0] == "CMD-SHELL" else shlex.join(str(t) for t in test[1:])
    retries = int((spec.get("healthcheck") or {}).get("retries") or 3)
    return {"health_cmd": command, "health_interval": TRIAL_INTERVAL, "health_retries": retries}


def _mounts(model: Mapping[str, Any], spec: Mapping[str, Any]) -> list[list[str]]:
    """slipway's own files, read-only as the service has them; an empty
    volume for every other volume it mounts."""
    found = []
    for volume in spec.get("volumes") or []:
        target = f"target={volume.get('target')}"
        if volume.get("type") != "volume":
            continue
        if volume.get("source") == mounts.KEY:
            real = (model.get("volumes") or {}).get(mounts.KEY, {}).get("name", mounts.KEY)
            subpath = (volume.get("volume") or {}).get("subpath")
            found.append(
                ["type=volume", f"source={real}", target, "readonly"]
                + ([f"volume-subpath={subpath}"] if subpath else [])
            )
        else:
            found.append(["type=volume", target])
    return found


def _start(docker: DockerClient, model: Mapping[str, Any], name: str, project: str) -> Container:
    spec = model["services"][name]
    entrypoint = list(spec.get("entrypoint") or [])
    command = [*entrypoint[1:], *(spec.get("command") or [])]
    options: dict[str, Any] = {
        "entrypoint": entrypoint[0] if entrypoint else None,
        "envs": {
            k: "" if v is None else str(v) for k, v in (spec.get("environment") or {}).items()
        },
        "user": spec.get("user"),
        "cap_add": spec.get("cap_add") or (),
        "cap_drop": spec.get("cap_drop") or (),
        "security_options": spec.get("security_opt") or (),
        "init": bool(spec.get("init")),
        "tmpfs": [str(t).split(":")[0] for t in spec.get("tmpfs") or []],
    }
    with docker_errors(f"starting a trial of {name}'s new configuration"):
        return docker.run(
            spec["image"],
            command,
            detach=True,
            name=f"{project}-{name}-trial",
            labels={TRIAL_LABEL: project},
            mounts=_mounts(model, spec),
            networks=["none"],
            read_only=bool(spec.get("read_only")),
            pull="never",
            **options,
            **_health(spec),
        )


def _still_running(docker: DockerClient, container: Container, name: str) -> None:
    """Without a healthcheck, running a few seconds after its start is all a trial tells."""
    time.sleep(NO_HEALTHCHECK_WAIT)
    with docker_errors("docker inspect"):
        state = docker.container.inspect(container.id).state
    if not state.running:
        raise DeployFailed(f"{name} (trial) exited with code {state.exit_code}")


def _remove(docker: DockerClient, name: str) -> None:
    try:
        with docker_errors("removing the trial container"):
            docker.container.remove(name, force=True, volumes=True)
    except NotFound:
        pass


def trial(
    docker: DockerClient,
    config: Config,
    env: Environment,
    model: Mapping[str, Any],
    names: Sequence[str],
) -> list[str]:
    """Try each sidecar's new configuration; DeployFailed, in one line, for the
    first that does not get healthy (or running, without a healthcheck). The
    ones tried (not one whose image the engine lacks: compose's start says so)."""
    project = engine.project_name(config, env)
    tried = []
    for name in names:
        with docker_errors("docker image inspect"):
            present = docker.image.exists(model["services"][name]["image"])
        if not present:
            continue  # compose's own start says so, in one line, replacing nothing
        container = f"{project}-{name}-trial"
        _remove(docker, container)  # a killed deploy's
        try:
            started = _start(docker, model, name, project)
            if _health(model["services"][name]):
                wait_healthy(docker, [started], env.health_timeout, service=f"{name} (trial)")
            else:
                _still_running(docker, started, name)
        except DeployFailed as exc:
            raise DeployFailed(
                f"{name}'s new configuration did not pass its trial, so {name} was not "
                f"replaced: {exc}",
                details=exc.details,
            ) from None
        finally:
            _remove(docker, container)
        tried.append(name)
    return tried
