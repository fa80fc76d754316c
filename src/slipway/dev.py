"""`invoke dev`: the dev target, running, with live code sync (compose watch)."""

from __future__ import annotations

from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException
from python_on_whales.utils import run

from slipway import engine, images, stack
from slipway.config import Config
from slipway.deploy import build_for, roll_to
from slipway.errors import SlipwayError
from slipway.images import Report


def start(config: Config, env_name: str, *, report: Report) -> DockerClient:
    """Build the dev image as the host user, start the stack, wait for health.

    Returns the compose client of the running stack.
    """
    env = config.environment(env_name)
    image = build_for(config, env, report=report)
    # compose's own rebuilds (develop.watch) need the same user ids: roll_to records them.
    roll_to(config, env, image.ref, report=report)
    compose = engine.client(config, env)
    uid, _gid = images.dev_ids()
    report(f"{env.name} is healthy at {stack.url(compose)} (uid {uid})")
    return compose


def watch(compose: DockerClient, *, report: Report) -> None:
    """Sync source edits into the running stack until Ctrl-C."""
    report("watching service/src (sync) and pyproject.toml, uv.lock (rebuild); Ctrl-C stops")
    try:
        run(
            [*compose.docker_compose_cmd, "watch", "--no-up"],
            capture_stdout=False,
            capture_stderr=False,
        )
    except KeyboardInterrupt:
        pass
    except DockerException as exc:
        # 130: compose itself got the Ctrl-C.
        if exc.return_code != 130:
            raise engine.unavailable(exc) or SlipwayError(
                f"docker compose watch stopped with code {exc.return_code}"
            ) from None
    report("watch stopped; the dev stack keeps running (invoke down --env dev removes it)")
