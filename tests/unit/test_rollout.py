"""slipway.backends.compose.rollout: migrations, health waits and the switch
from the old release to the new, against a fake python-on-whales client (no
docker CLI runs)."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from python_on_whales.exceptions import DockerException

from slipway import engine, proxy
from slipway.backends.compose import changes, health, rollout, switch
from slipway.backends.protocol import Hooks
from slipway.config import Config, Environment
from slipway.errors import DeployFailed, DockerUnavailable

MakeDockerError = Callable[..., DockerException]

OLD = "slipway/notes:0000aaaa1111"
NEW = "slipway/notes:abcdef012345"
CONFIG_HASH = "com.docker.compose.config-hash"
HASH = "0f" * 32
# The configuration hashes the serving release was rolled out with.
APPLIED = {"app": HASH, "proxy": HASH}
PROXY_RELOADED = "Loading success.\nFormer worker (41) exited with code 0"


def _state(
    status: str = "healthy",
    *,
    running: bool = True,
    exit_code: int = 0,
    probes: Any = (),
    restarting: bool = False,
) -> SimpleNamespace:
    health = SimpleNamespace(status=status, log=list(probes))
    return SimpleNamespace(
        running=running,
        restarting=restarting,
        status="running" if running else "exited",
        exit_code=exit_code,
        health=health,
    )


def _probe(exit_code: int, output: str) -> SimpleNamespace:
    return SimpleNamespace(exit_code=exit_code, output=output)


def _container(
    number: int, image: str, state: SimpleNamespace, restarts: int = 0
) -> SimpleNamespace:
    return SimpleNamespace(
        id=f"id-{number}",
        restart_count=restarts,
        name=f"slipway-prod-app-{number}",
        created=f"2026-11-22T21:59:{number:02d}",
        config=SimpleNamespace(image=image, labels={CONFIG_HASH: HASH}, env=[]),
        image=f"sha256:{image}",  # the id of the image the tag names
        state=state,
    )


class _Docker:
    """The parts of a DockerClient that rollout reads, recording what was done.

    ``compose up`` of the app starts containers of ``new_image`` in ``new_state``.
    """

    def __init__(self, *app: SimpleNamespace, proxy_running: bool = False) -> None:
        self.app = list(app)
        # What the environment's volume on the engine holds (path: content).
        self.kept: dict[str, bytes] = {}
        self.proxy = SimpleNamespace(
            name="slipway-prod-proxy-1",
            state=_state(),
            config=SimpleNamespace(labels={CONFIG_HASH: HASH}),
            network_settings=SimpleNamespace(
                ports={f"{proxy.PORT}/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18520"}]}
            ),
        )
        # What `compose config --hash` says now, and the compose model.
        self.hashes = {"app": HASH, "proxy": HASH}
        self.model: dict[str, Any] = {"services": {"app": {}, "proxy": {}}}
        self.proxy_running = proxy_running
        self.new_image, self.new_state = NEW, _state()
        self.run_error: DockerException | None = None
        self.up_error: DockerException | None = None
        self.app_log = ""
        self.runs: list[str] = []
        self.ups: list[list[str]] = []
        self.stopped: list[str] = []
        self.removed: list[str] = []
        self.signals: list[str] = []
        self.on_stop: Callable[[], None] = lambda: None
        self.compose = SimpleNamespace(
            run=self._run, ps=self._ps, up=self._up, rm=self._rm, config=lambda **_o: self.model
        )
        self.image = SimpleNamespace(
            inspect=lambda ref: SimpleNamespace(
                id=self.tags.get(ref, f"sha256:{ref}"),
                config=SimpleNamespace(env=["PATH=/usr/bin"]),
            )
        )
        # Tags that name another image than their own (sha256:<tag> by default).
        self.tags: dict[str, str] = {}
        self.up_options: list[dict[str, Any]] = []
        self.container = SimpleNamespace(
            inspect=self._inspect,
            logs=self._logs,
            remove=self._remove,
            stop=self._stop,
            kill=lambda _c, signal: self.signals.append(signal),
        )

    def _run(self, service: str, **_options: Any) -> None:
        self.runs.append(service)
        if self.run_error is not None:
            raise self.run_error

    def _ps(self, services: list[str], **_options: Any) -> list[SimpleNamespace]:
        if services == [proxy.SERVICE]:
            return [self.proxy] if self.proxy_running else []
        return list(self.app)

    def _up(
        self, services: list[str], scales: dict[str, int] | None = None, **options: Any
    ) -> None:
        self.ups.append(services)
        self.up_options.append(options)
        if services == [proxy.SERVICE]:
            self.proxy_running = True
            return
        for number in range(len(self.app) + 1, (scales or {})[services[0]] + 1):
            self.app.append(_container(number, self.new_image, self.new_state))
            if self.up_error is not None:  # compose creates one, then fails
                raise self.up_error

    def _rm(self, services: list[str], *, stop: bool) -> None:
        assert (services, stop) == ([proxy.SERVICE], True)
        self.proxy_running = False

    def _inspect(self, container_id: str) -> SimpleNamespace:
        return next(c for c in self.app if c.id == container_id)

    def _logs(self, container: SimpleNamespace, **_options: Any) -> str:
        return PROXY_RELOADED if container is self.proxy else self.app_log

    def _stop(self, containers: list[SimpleNamespace], **_options: Any) -> None:
        self.on_stop()
        self.stopped += [c.name for c in containers]

    def _remove(self, containers: list[SimpleNamespace], **_options: Any) -> None:
        self.removed += [c.name for c in containers]
        self.app = [c for c in self.app if c not in containers]


class _Kept:
    """The environment's volume on the engine, as the fake client's dict."""

    def __init__(self, docker: _Docker, _config: Config, _env: Environment) -> None:
        self.files = docker.kept

    @classmethod
    def of(cls, docker: _Docker, config: Config, env: Environment) -> _Kept:
        return cls(docker, config, env)

    def read(self, folder: str) -> dict[str, bytes]:
        prefix = f"{folder}/"
        return {p.removeprefix(prefix): c for p, c in self.files.items() if p.startswith(prefix)}

    def write(self, files: dict[str, bytes], *, mode: int) -> None:
        assert mode == 0o644
        self.files.update(files)


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(switch, "Kept", _Kept)
    monkeypatch.setattr(changes, "Kept", _Kept)
    monkeypatch.setattr(switch.time, "sleep", lambda _seconds: None)
    monkeypatch.setattr(
        engine, "compose_config_hashes", lambda docker, _services: dict(docker.hashes)
    )


@pytest.fixture
def prod(config: Config) -> Environment:
    return config.environment("prod")


def _serving_old(config: Config, prod: Environment) -> _Docker:
    """OLD serves from one healthy container, behind a running proxy."""
    docker = _Docker(_container(1, OLD, _state()), proxy_running=True)
    proxy.write(config, prod, ["slipway-prod-app-1"], _Kept(docker, config, prod))
    return docker


# --- migrate ------------------------------------------------------------------------


def test_failed_migration_says_its_error_line_and_logs_its_output(
    docker_error: MakeDockerError,
) -> None:
    docker = _Docker()
    docker.run_error = docker_error(
        stdout="applying 0002_add_tags\n",
        stderr="Traceback (most recent call last):\nsqlite3.OperationalError: no such column\n",
        command=("docker", "compose", "run", "migrate"),
    )

    with pytest.raises(DeployFailed) as caught:
        rollout.migrate(docker)

    assert str(caught.value) == (
        "migrate exited with code 1: sqlite3.OperationalError: no such column"
    )
    assert caught.value.details == (
        "migrate log: applying 0002_add_tags\n"
        "migrate log: Traceback (most recent call last):\n"
        "migrate log: sqlite3.OperationalError: no such column"
    )


def test_failed_migration_names_the_exception_not_a_link_after_it(
    docker_error: MakeDockerError,
) -> None:
    docker = _Docker()
    docker.run_error = docker_error(
        stderr=(
            "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) unable to open "
            "database file\n(Background on this error at: https://sqlalche.me/e/20/e3q8)\n"
        ),
        command=("docker", "compose", "run", "migrate"),
    )

    with pytest.raises(DeployFailed) as caught:
        rollout.migrate(docker)

    assert str(caught.value) == (
        "migrate exited with code 1: sqlalchemy.exc.OperationalError: "
        "(sqlite3.OperationalError) unable to open database file"
    )


def test_migration_without_a_daemon_says_docker_is_unreachable(
    docker_error: MakeDockerError,
) -> None:
    docker = _Docker()
    docker.run_error = docker_error("Cannot connect to the Docker daemon at unix:///x.sock")

    with pytest.raises(DockerUnavailable, match=r"^cannot reach the Docker daemon"):
        rollout.migrate(docker)


# --- wait_healthy -------------------------------------------------------------------


def test_wait_healthy_returns_once_every_container_is_healthy() -> None:
    docker = _Docker(_container(1, NEW, _state()), _container(2, NEW, _state()))

    assert health.wait_healthy(docker, docker.app, timeout=0, service="app") is None


def test_wait_healthy_fails_when_a_container_exits() -> None:
    docker = _Docker(_container(1, NEW, _state("starting", running=False, exit_code=3)))
    docker.app_log = "ERROR: DATABASE_URL is not set\n"

    with pytest.raises(DeployFailed) as caught:
        health.wait_healthy(docker, docker.app, timeout=90, service="app")

    assert str(caught.value) == "app exited with code 3 before it was healthy"
    assert caught.value.details == "app log: ERROR: DATABASE_URL is not set"


def test_wait_healthy_fails_at_once_when_a_container_crashes_at_every_start() -> None:
    # Under a restart policy Docker shows it running again between crashes,
    # and a running container's exit code reads 0; in the restart back-off it
    # is "running" and restarting, with the last run's code, 78.
    running = _container(1, NEW, _state("starting"), restarts=health.CRASH_LOOP)
    exited = _container(1, NEW, _state("starting", restarting=True, exit_code=78))
    docker = _Docker(running)
    looks = iter([running])
    docker.container.inspect = lambda _id: next(looks, exited)

    with pytest.raises(DeployFailed) as caught:
        health.wait_healthy(docker, docker.app, timeout=3600, service="app")

    assert str(caught.value) == (
        f"app exited with code 78 before it was healthy "
        f"(and again after each of {health.CRASH_LOOP} restarts)"
    )


def test_a_crash_loop_never_caught_between_runs_says_so_without_a_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(health, "EXIT_CODE_WAIT", 0)
    docker = _Docker(_container(1, NEW, _state("starting"), restarts=health.CRASH_LOOP))

    with pytest.raises(DeployFailed) as caught:
        health.wait_healthy(docker, docker.app, timeout=3600, service="app")

    assert str(caught.value) == (
        f"app kept exiting before it was healthy "
        f"(and again after each of {health.CRASH_LOOP} restarts)"
    )


def test_wait_healthy_times_out_with_the_last_probe_and_the_log() -> None:
    probes = [_probe(1, "connecting\nconnection refused\n")]
    docker = _Docker(_container(1, NEW, _state("starting", probes=probes)))
    docker.app_log = "INFO: waiting for the database\n"

    with pytest.raises(DeployFailed) as caught:
        health.wait_healthy(docker, docker.app, timeout=0, service="app")

    assert str(caught.value) == "app did not become healthy within 0s (health: starting)"
    assert caught.value.details.splitlines() == [
        "app health probe exit 1: connection refused",
        "app log: INFO: waiting for the database",
    ]


def _answered(status: int, times: int = 2) -> list[SimpleNamespace]:
    return [
        _probe(1, f"/healthz did not answer 200 ({n} in a row): it answered {status}\n")
        for n in range(1, times + 1)
    ]


def test_a_health_path_that_answers_404_on_every_replica_fails_at_once() -> None:
    docker = _Docker(
        _container(1, NEW, _state("starting", probes=_answered(404))),
        _container(2, NEW, _state("starting", probes=_answered(404, 3))),
    )

    with pytest.raises(DeployFailed) as caught:
        health.wait_healthy(docker, docker.app, timeout=3600, service="app")

    assert str(caught.value) == (
        "GET /healthz answered 404 on every new replica: set health_path in slipway.yaml "
        "to a route that answers 200"
    )
    assert "app health probe exit 1: /healthz did not answer 200 (2 in a row): it answered 404" in (
        caught.value.details.splitlines()
    )


@pytest.mark.parametrize(
    "probes",
    [
        _answered(404, 1),  # one answer: the path may still be coming up
        _answered(503),  # a 5xx: the app may be waiting for its database
        [*_answered(404, 1), _probe(1, "/healthz did not answer 200 (2 in a row)\n")],
    ],
    ids=["once", "503", "then-no-answer"],
)
def test_a_wrong_answer_not_yet_certain_waits_for_the_timeout(
    probes: list[SimpleNamespace],
) -> None:
    docker = _Docker(_container(1, NEW, _state("starting", probes=probes)))

    with pytest.raises(DeployFailed, match=r"^app did not become healthy within 0s"):
        health.wait_healthy(docker, docker.app, timeout=0, service="app")


def test_one_replica_that_answers_200_is_no_wrong_path() -> None:
    docker = _Docker(
        _container(1, NEW, _state("starting", probes=_answered(404))),
        _container(2, NEW, _state("starting", probes=[_probe(0, "")])),
    )

    with pytest.raises(DeployFailed, match=r"^app did not become healthy within 0s"):
        health.wait_healthy(docker, docker.app, timeout=0, service="app")


# --- roll ---------------------------------------------------------------------------


def test_roll_onto_the_release_in_place_starts_nothing(config: Config, prod: Environment) -> None:
    docker = _serving_old(config, prod)

    result = rollout.roll(docker, config, prod, OLD, applied=APPLIED)

    assert result == rollout.Rollout(("slipway-prod-app-1",), (), None)
    assert (docker.runs, docker.ups, docker.stopped, docker.removed) == ([], [], [], [])


def test_roll_with_a_failing_migration_starts_nothing(
    config: Config, prod: Environment, docker_error: MakeDockerError
) -> None:
    docker = _serving_old(config, prod)
    docker.run_error = docker_error("ERROR: migration 0003 failed")

    with pytest.raises(DeployFailed, match=r"^migrate exited with code 1: ERROR: migration 0003"):
        rollout.roll(docker, config, prod, NEW)

    assert docker.ups == []
    assert proxy.servers_of(config, prod) == ["slipway-prod-app-1"]


def test_unhealthy_new_release_is_removed_and_the_old_keeps_serving(
    config: Config, prod: Environment
) -> None:
    docker = _serving_old(config, prod)
    docker.new_state = _state("starting", running=False, exit_code=1)

    with pytest.raises(DeployFailed, match=r"^app exited with code 1 before it was healthy$"):
        rollout.roll(docker, config, prod, NEW)

    assert docker.removed == ["slipway-prod-app-2"]
    assert docker.stopped == []
    assert [c.name for c in docker.app] == ["slipway-prod-app-1"]
    assert proxy.servers_of(config, prod) == ["slipway-prod-app-1"]


def test_a_first_release_that_never_gets_healthy_leaves_no_proxy_running(
    config: Config, prod: Environment
) -> None:
    docker = _Docker()
    docker.new_state = _state("starting", running=False, exit_code=1)

    with pytest.raises(DeployFailed, match=r"^app exited with code 1 before it was healthy$"):
        rollout.roll(docker, config, prod, NEW)

    # The proxy started early on the new container (nothing served): gone again.
    assert docker.ups == [["app"], ["proxy"]]
    assert not docker.proxy_running
    assert docker.removed == ["slipway-prod-app-1"]


def test_new_containers_that_compose_cannot_start_are_removed_and_the_old_keeps_serving(
    config: Config, prod: Environment, docker_error: MakeDockerError
) -> None:
    docker = _serving_old(config, prod)
    docker.up_error = docker_error(
        "Error response from daemon: invalid mount config: "
        "bind source path does not exist: /p/secrets/secret_key"
    )

    with pytest.raises(DeployFailed, match=r"bind source path does not exist"):
        rollout.roll(docker, config, prod, NEW)

    assert [c.name for c in docker.app] == ["slipway-prod-app-1"]
    assert docker.removed == ["slipway-prod-app-2"]
    assert proxy.servers_of(config, prod) == ["slipway-prod-app-1"]


def test_healthy_new_release_takes_traffic_before_the_old_is_retired(
    config: Config, prod: Environment
) -> None:
    docker = _serving_old(config, prod)
    served_at_stop: list[list[str]] = []
    kept = _Kept(docker, config, prod)
    docker.on_stop = lambda: served_at_stop.append(proxy.servers_of(config, prod, kept))

    result = rollout.roll(docker, config, prod, NEW, migrations=False)

    assert result.serving == ("slipway-prod-app-2",)
    assert result.retired == ("slipway-prod-app-1",)
    assert result.switch_seconds is not None
    assert served_at_stop == [["slipway-prod-app-2"]]
    assert docker.signals == ["SIGUSR2"]  # the proxy reloaded, not restarted
    assert docker.stopped == docker.removed == ["slipway-prod-app-1"]
    assert docker.runs == []


def test_first_rollout_migrates_and_starts_the_proxy(config: Config, prod: Environment) -> None:
    docker = _Docker()
    marked: list[str] = []

    result = rollout.roll(docker, config, prod, NEW, hooks=Hooks(mark=marked.append))

    assert marked == ["compare", "migrate", "start", "health", "switch", "drain"]
    assert result == rollout.Rollout(("slipway-prod-app-1",), (), result.switch_seconds)
    assert docker.runs == ["migrate"]
    # Nothing served: the proxy started on the new container at once, and
    # the switch waited for it to be healthy.
    assert docker.ups == [["app"], ["proxy"], ["proxy"]]
    assert [o["wait"] for o in docker.up_options[1:]] == [False, True]
    assert proxy.servers_of(config, prod) == ["slipway-prod-app-1"]


# --- a deploy of the same image applies every other change -------------------------------


def test_an_env_file_change_rolls_the_same_image_naming_what_changed(
    config: Config, prod: Environment
) -> None:
    docker = _serving_old(config, prod)
    docker.app[0].config.env = ["PATH=/usr/bin", "LOG_LEVEL=info", "APP_ENV=prod"]
    docker.hashes["app"] = "1e" * 32  # what compose says the app's configuration is now
    docker.model = {"services": {"app": {"environment": {"LOG_LEVEL": "debug"}}, "proxy": {}}}
    docker.new_image = OLD
    said: list[str] = []

    result = rollout.roll(docker, config, prod, OLD, applied=APPLIED, report=said.append)

    assert result.serving == ("slipway-prod-app-2",)
    assert result.retired == ("slipway-prod-app-1",)
    assert said[0].startswith(
        "rolling slipway-prod to slipway/notes:0000aaaa1111: its configuration changed "
        "(app's environment: APP_ENV, LOG_LEVEL): 1 new container(s) beside the old"
    )
    assert docker.signals == ["SIGUSR2"]  # the proxy reloaded, not recreated


def _proxy_port_moved(docker: _Docker) -> _Docker:
    """The compose files now publish the proxy on 18521 (it runs on 18520)."""
    docker.hashes["proxy"] = "2d" * 32
    docker.model = {
        "services": {
            "app": {},
            "proxy": {
                "ports": [{"target": proxy.PORT, "published": "18521", "host_ip": "127.0.0.1"}]
            },
        }
    }
    return docker


def test_a_changed_proxy_port_is_said_before_the_proxy_is_recreated(
    config: Config, prod: Environment
) -> None:
    docker = _proxy_port_moved(_serving_old(config, prod))
    docker.new_image = OLD
    said: list[str] = []

    rollout.roll(docker, config, prod, OLD, applied=APPLIED, report=said.append)

    assert "its configuration changed (the proxy's published port: 127.0.0.1:18520 -> " in said[0]
    assert said[0].endswith(
        "127.0.0.1:18521): 1 new container(s) beside the old, waiting up to 90s for health "
        "before the switch; the proxy is recreated to apply its change, so requests in flight "
        "to it fail ..."
    )
    assert docker.ups == [["app"], ["proxy"]]
    assert docker.up_options[-1]["force_recreate"] is True
    assert docker.signals == []


def test_a_new_release_with_a_changed_proxy_port_says_the_gap_and_recreates_the_proxy(
    config: Config, prod: Environment
) -> None:
    """The port changes with the release: the proxy is recreated all the same
    (it once stayed on the old port, and the recorded hashes hid it after)."""
    docker = _proxy_port_moved(_serving_old(config, prod))
    said: list[str] = []

    rollout.roll(docker, config, prod, NEW, applied=APPLIED, migrations=False, report=said.append)

    assert said[0] == (
        "rolling slipway-prod to slipway/notes:abcdef012345: 1 new container(s) beside the old, "
        "waiting up to 90s for health before the switch; the proxy is recreated to apply its "
        "change (the proxy's published port: 127.0.0.1:18520 -> 127.0.0.1:18521), so requests "
        "in flight to it fail ..."
    )
    assert docker.up_options[-1]["force_recreate"] is True
    assert docker.signals == []


def test_the_same_image_and_configuration_is_nothing_to_roll(
    config: Config, prod: Environment
) -> None:
    docker = _serving_old(config, prod)
    said: list[str] = []

    rollout.roll(docker, config, prod, OLD, applied=APPLIED, report=said.append)

    assert said == [f"{OLD} already serves on 1 healthy replica(s): nothing to roll"]
    assert docker.ups == []


def test_what_the_proxy_serves_is_read_from_its_engine_not_this_checkout(
    config: Config, prod: Environment
) -> None:
    """Another checkout switched the proxy since this one last did: its
    engine's copy names another container, and the release is not in place."""
    docker = _serving_old(config, prod)
    cfg = "proxy/haproxy.cfg"
    docker.kept[cfg] = docker.kept[cfg].replace(b"slipway-prod-app-1", b"slipway-prod-app-7")
    said: list[str] = []

    rollout.roll(docker, config, prod, OLD, applied=APPLIED, report=said.append)

    assert "nothing to roll" not in said[0]
    assert b"server slipway-prod-app-2 " in docker.kept[cfg]
    assert proxy.servers_of(config, prod) == ["slipway-prod-app-2"]  # the copy here follows


def test_a_release_whose_configuration_was_not_recorded_rolls_saying_so(
    config: Config, prod: Environment
) -> None:
    docker = _serving_old(config, prod)
    docker.new_image = OLD
    said: list[str] = []

    rollout.roll(docker, config, prod, OLD, applied=None, report=said.append)

    assert "its configuration changed (what it runs with was not recorded)" in said[0]
    assert docker.ups == [["app"]]


def test_a_tag_moved_to_another_image_is_not_the_release_in_place(
    config: Config, prod: Environment
) -> None:
    docker = _serving_old(config, prod)
    docker.tags[OLD] = "sha256:rebuilt"  # the same tag, another image
    docker.new_image = OLD
    said: list[str] = []

    rollout.roll(docker, config, prod, OLD, applied=APPLIED, report=said.append)

    assert "nothing to roll" not in said[0]
    assert docker.ups == [["app"]]
