"""A swarm rollout: the release pushed, then the stack deployed in phases
(the sidecars healthy, the migration run once, the app and its roles
updated start-first under Swarm's own rollback), each waited for until
Swarm and every task say it is done."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from python_on_whales import DockerClient

from slipway import engine, proxy, secretfiles, state
from slipway.backends.protocol import Hooks, Rollout
from slipway.backends.swarm import cluster, hardening, placement, stackfile
from slipway.config import Config, Environment
from slipway.config.roles import of as roles_of
from slipway.engine import docker_errors, mounts
from slipway.errors import DeployFailed, Reverted, SlipwayError
from slipway.handle import Report

# The node label of the node that keeps the stateful services' volumes.
DATA_LABEL = "slipway.data"
# At most this many of the web service's tasks at once behind the proxy.
SLOTS_PER_REPLICA = 2


class SwarmRollout:
    """One environment's rollouts on its swarm, through the manager's client."""

    def __init__(self, docker: DockerClient, config: Config, env: Environment) -> None:
        self.docker, self.config, self.env = docker, config, env
        self.stack = engine.project_name(config, env)

    def in_place(self, ref: str) -> bool:
        wanted = self._pushed(ref)
        if wanted is None:
            return False
        try:
            cluster.converge(self.docker, self.stack, self.release_shape(wanted), timeout=0)
        except SlipwayError:
            return False
        return True

    def _pushed(self, ref: str) -> str | None:
        """The digest reference the web service runs, when it is ``ref``'s."""
        image = self._running()
        return image if image and image.startswith(f"{self.env.registry}/{ref}@") else None

    def _running(self) -> str | None:
        """The digest reference the web service's spec names (None: no service)."""
        try:
            with docker_errors("docker service inspect"):
                spec = self.docker.service.inspect(f"{self.stack}_{self.config.service}").spec
        except SlipwayError:
            return None
        template = spec.task_template
        container = template.container_spec if template else None
        return str(container.image) if container and container.image else None

    def release_shape(self, release: str) -> dict[str, tuple[str, int]]:
        shape = {self.config.service: (release, self.env.replicas)}
        for role in mounts.role_names(self.config, self.env):
            settings = self.env.roles.get(role)
            count = 1 if settings is None or settings.singleton else settings.replicas
            shape[role] = (release, count)
        return shape

    def roll(
        self,
        ref: str,
        *,
        migrations: bool,
        report: Report,
        hooks: Hooks,
    ) -> Rollout:
        mark = hooks.mark
        env, docker = self.env, self.docker
        release = cluster.push(docker, str(env.registry), ref, engine.where(env))
        report(f"pushed {ref} to {env.registry} ({release.rpartition('@')[2][:19]})")
        mark("push")
        model = engine.compose_model(self.docker)
        plan = self._plan(model, release)
        names = set(model.get("services") or {})
        release_side = plan.release_services() | {stackfile.PROXY}
        sidecars = sorted(names - release_side)
        node = placement.label_data_node(docker, DATA_LABEL) if sidecars else ""
        timeout = float(env.health_timeout)
        if sidecars:
            self._deploy(model, plan, sidecars)
            cluster.converge(docker, self.stack, self._shape(model, sidecars), timeout=timeout)
            report(f"sidecars healthy on {node}: {', '.join(sidecars)}")
        mark("start")
        if migrations and plan.migrate in names:
            self._deploy(model, plan, [*sidecars, str(plan.migrate)])
            cluster.complete(docker, self.stack, str(plan.migrate), release, timeout=timeout)
            report(f"{plan.migrate} ran once and exited 0")
        mark("migrate")
        try:
            hooks.before_switch()
        except SlipwayError as exc:
            raise DeployFailed(f"{exc}; the new release was not rolled out") from None
        front = [s for s in sorted(release_side & names) if s != plan.migrate]
        before = self._running()
        try:
            seconds = self._update(model, plan, [*sidecars, *front], front)
        except DeployFailed as failure:
            raise self._put_back(
                model, replace(plan, release=before or ""), front, failure
            ) from None
        self._settle(model, plan, front, report)
        mark("health")
        report(
            f"every task of {self.config.service} runs {ref} by digest "
            f"({env.replicas} of {env.replicas}, on {len(cluster.node_names(docker))} node(s))"
        )
        self._prune(plan)
        return Rollout(serving=(release,), retired=(), switch_seconds=seconds)

    def _put_back(
        self,
        model: Mapping[str, Any],
        plan: stackfile.Plan,
        front: Sequence[str],
        failure: DeployFailed,
    ) -> DeployFailed:
        """After a failed update: every service of the release back on the one
        that ran before (Swarm rolled back only the service that failed, and
        the others may have completed theirs); what to raise. With nothing
        before (a first deploy), the failure as it is."""
        if not plan.release:
            return failure
        try:
            self._update(model, plan, sorted(front), front)
        except DeployFailed as second:
            return DeployFailed(
                f"{failure}; putting the release before back failed too: {second}",
                details=failure.details,
            )
        services = ", ".join(s for s in sorted(front) if s != stackfile.PROXY)
        shown = plan.release.partition("@")[0].removeprefix(f"{self.env.registry}/")
        return Reverted(
            f"{failure}; every task of {services} runs {shown} again", details=failure.details
        )

    def _update(
        self,
        model: Mapping[str, Any],
        plan: stackfile.Plan,
        services: Sequence[str],
        front: Sequence[str],
    ) -> float:
        """Deploy ``services``, the ``front`` ones (the release's and the
        proxy) updated, and wait until Swarm completed every update; the seconds."""
        started = time.monotonic()
        self._deploy(model, plan, services)
        shape = self.release_shape(plan.release)
        shape |= self._shape(model, [s for s in front if s == stackfile.PROXY])
        cluster.converge(self.docker, self.stack, shape, timeout=self._patience(plan, shape))
        return time.monotonic() - started

    def _patience(self, plan: stackfile.Plan, shape: Mapping[str, tuple[str, int]]) -> float:
        """How long an update may take: Swarm replaces one task at a time,
        each watched for its monitor window before the next (a canary), and
        the last watched once more before it says the update completed."""
        longest = max(
            (n + 1) * (self.env.health_timeout + plan.monitors.get(s, 0))
            for s, (_, n) in shape.items()
        )
        return float(longest)

    def _settle(
        self, model: Mapping[str, Any], plan: stackfile.Plan, front: Sequence[str], report: Report
    ) -> None:
        """Once the release runs: its replicas spread, and what its tasks run
        without of the hardening the compose files ask for, said."""
        self._spread(plan, report)
        released = [s for s in front if s != stackfile.PROXY]
        for line in hardening.said(hardening.read(self.docker, self.stack, model, released)):
            report(line)

    def _spread(self, plan: stackfile.Plan, report: Report) -> None:
        """Each service of the release with replicas on as many nodes as it can
        be (so that losing one node leaves the others serving), else said."""
        shape = self.release_shape(plan.release)
        many = {s: n for s, (_, n) in shape.items() if n > 1}
        crowded = placement.crowded(self.docker, self.stack, many) if many else {}
        if not crowded:
            return
        for service, nodes in crowded.items():
            on = ", ".join(sorted(nodes))
            report(f"every task of {service} runs on {on}: moving one to another node")
            try:
                timeout = float(self.env.health_timeout)
                placement.spread(self.docker, self.stack, service, shape[service], timeout=timeout)
            except SlipwayError as exc:
                report(f"warning: no task of {service} could move to another node: {exc}")
        again = {s: many[s] for s in crowded}
        for service, nodes in placement.crowded(self.docker, self.stack, again).items():
            report(
                f"warning: every task of {service} runs on {', '.join(sorted(nodes))}: "
                "losing that node stops it (see `slipway status`)"
            )

    def _shape(
        self, model: Mapping[str, Any], services: Sequence[str]
    ) -> dict[str, tuple[str, int]]:
        specs = model.get("services") or {}
        return {s: (str(specs[s].get("image")), 1) for s in services}

    def _plan(self, model: Mapping[str, Any], release: str) -> stackfile.Plan:
        config, env = self.config, self.env
        secrets = {}
        for name, path in secretfiles.used(env).items():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            secrets[name] = (f"{self.stack}-{name}-{digest}", path)
        roles = {r: roles_of(env.roles, r) for r in mounts.role_names(config, env)}
        specs = model.get("services") or {}
        # The web service's check is the image's own HEALTHCHECK.
        own = self._image_health(release)
        monitors = {
            name: stackfile.monitor(
                spec.get("healthcheck") or (own if name in (config.service, *roles) else None)
            )
            for name, spec in specs.items()
        }
        return stackfile.Plan(
            stack=self.stack,
            web=config.service,
            migrate=config.migrate,
            release=release,
            replicas=env.replicas,
            roles=roles,
            secrets=secrets,
            proxy_config=self._proxy_config(),
            state_volume=mounts.KEY,
            data_label=DATA_LABEL,
            monitors=monitors,
        )

    def _image_health(self, release: str) -> dict[str, Any] | None:
        """The release image's own HEALTHCHECK, in compose's words."""
        with docker_errors("docker image inspect"):
            check = self.docker.image.inspect(release).config.healthcheck
        if check is None or not check.test:
            return None
        return {
            "test": check.test,
            "interval": f"{(check.interval or 30_000_000_000) / 1e9}s",
            "retries": check.retries or 3,
            "start_period": f"{(check.start_period or 0) / 1e9}s",
        }

    def _proxy_config(self) -> tuple[str, Path]:
        config, env = self.config, self.env
        text = proxy.render(
            [config.service],
            project=config.project,
            port=config.port,
            health_path=config.health_path,
            discover=max(2, env.replicas * SLOTS_PER_REPLICA),
        )
        folder = state.proxy_folder(config, env)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / proxy.CONFIG_NAME
        path.write_text(text)
        path.chmod(0o644)
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        return f"{self.stack}-haproxy-{digest}", path

    def _deploy(
        self, model: Mapping[str, Any], plan: stackfile.Plan, services: Sequence[str]
    ) -> None:
        rendered = stackfile.render(model, plan, services=services)
        path = state.folder(self.config) / f"{self.env.name}.stack.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(rendered, sort_keys=False))
        cluster.deploy(self.docker, self.stack, path)

    def _prune(self, plan: stackfile.Plan) -> None:
        in_use = [name for name, _ in plan.secrets.values()]
        if plan.proxy_config is not None:
            in_use.append(plan.proxy_config[0])
        cluster.prune_objects(self.docker, self.stack, in_use)
