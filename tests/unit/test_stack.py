"""slipway.stack: the env file, the recorded image, and what a compose stack shows."""

from __future__ import annotations

import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from python_on_whales.exceptions import DockerException

from slipway import stack
from slipway.config import Config
from slipway.errors import ConfigError, DeployFailed, DockerUnavailable, PortInUse
from slipway.stack import ServiceStatus

EXAMPLE = "# Production settings\nAPP_PORT=8000\nLOG_LEVEL=info\n"


# --- ensure_env_file --------------------------------------------------------------------


def _write_example(project_root: Path, text: str = EXAMPLE) -> Path:
    example = project_root / "env/prod.env.example"
    example.parent.mkdir(parents=True, exist_ok=True)
    example.write_text(text)
    return example


def test_env_file_is_created_from_its_example(config: Config, project_root: Path) -> None:
    _write_example(project_root)

    created = stack.ensure_env_file(config.environment("prod"))

    assert created is True
    assert (project_root / "env/prod.env").read_text() == EXAMPLE


def test_created_env_file_is_readable_by_its_owner_only(config: Config, project_root: Path) -> None:
    _write_example(project_root)

    stack.ensure_env_file(config.environment("prod"))

    assert stat.S_IMODE((project_root / "env/prod.env").stat().st_mode) == 0o600


def test_existing_env_file_is_left_alone(config: Config, project_root: Path) -> None:
    _write_example(project_root)
    env_file = project_root / "env/prod.env"
    env_file.write_text("APP_PORT=9000\n")

    assert stack.ensure_env_file(config.environment("prod")) is False
    assert env_file.read_text() == "APP_PORT=9000\n"


def test_missing_env_file_without_example_names_the_file_to_create(
    config: Config, project_root: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        stack.ensure_env_file(config.environment("prod"))

    assert str(caught.value) == (
        "prod.env is missing for environment prod and there is no prod.env.example to "
        f"start from: create {project_root / 'env/prod.env'}"
    )


# --- record_image ---------------------------------------------------------------------


def test_record_image_writes_slipway_image_into_the_state_file(
    config: Config, project_root: Path
) -> None:
    stack.record_image(config, config.environment("prod"), "slipway/notes:prod")

    state = project_root / ".slipway/prod.env"
    assert state.read_text() == "SLIPWAY_IMAGE=slipway/notes:prod\n"


def test_record_image_replaces_the_previous_image(config: Config, project_root: Path) -> None:
    dev = config.environment("dev")
    stack.record_image(config, dev, "slipway/notes:old")

    stack.record_image(config, dev, "slipway/notes:dev")

    assert (project_root / ".slipway/dev.env").read_text() == "SLIPWAY_IMAGE=slipway/notes:dev\n"


# --- a (fake) running stack -------------------------------------------------------------


def _container(
    *,
    service: str = "app",
    status: str = "running",
    health: str | None = "healthy",
    exit_code: int = 0,
    probes: list[tuple[int, str]] | None = None,
    ports: dict[str, list[dict[str, str]] | None] | None = None,
) -> Any:
    log = [SimpleNamespace(exit_code=code, output=out) for code, out in probes or []]
    return SimpleNamespace(
        name=f"slipway-prod-{service}-1",
        state=SimpleNamespace(
            status=status,
            exit_code=exit_code,
            health=None if health is None else SimpleNamespace(status=health, log=log),
        ),
        network_settings=SimpleNamespace(ports=ports),
        config=SimpleNamespace(labels={stack.SERVICE_LABEL: service}, image="slipway/notes:prod"),
    )


class _FakeCompose:
    def __init__(self, containers: list[Any], log_text: str = "") -> None:
        self.containers, self.log_text = containers, log_text
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def ps(self, **options: Any) -> list[Any]:
        self.calls.append(("ps", options))
        return self.containers

    def logs(self, **options: Any) -> Any:
        self.calls.append(("logs", options))
        if options.get("stream"):
            return [("stdout", f"{line}\n".encode()) for line in self.log_text.splitlines()]
        return self.log_text

    def port(self, service: str, port: int) -> tuple[str | None, int | None]:
        self.calls.append(("port", {"service": service, "port": port}))
        published = any(c.network_settings.ports for c in self.containers)
        return ("127.0.0.1", 8000) if published else (None, None)

    def down(self, **options: Any) -> None:
        self.calls.append(("down", options))

    def up(self, **options: Any) -> None:
        self.calls.append(("up", options))


def _docker(compose: _FakeCompose) -> Any:
    return SimpleNamespace(compose=compose)


PUBLISHED = {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000"}]}


def test_status_describes_every_container() -> None:
    compose = _FakeCompose(
        [
            _container(ports=PUBLISHED),
            _container(service="migrate", status="exited", health=None, ports={"8000/tcp": None}),
        ]
    )

    assert stack.status(_docker(compose)) == [
        ServiceStatus(
            "app",
            "slipway-prod-app-1",
            "running",
            "healthy",
            "slipway/notes:prod",
            "127.0.0.1:8000->8000/tcp",
        ),
        ServiceStatus(
            "migrate", "slipway-prod-migrate-1", "exited", "-", "slipway/notes:prod", "-"
        ),
    ]
    assert compose.calls == [("ps", {"all": True})]


def test_url_is_where_the_host_reaches_the_app() -> None:
    compose = _FakeCompose([_container(ports=PUBLISHED)])

    assert stack.url(_docker(compose), "app") == "http://127.0.0.1:8000"
    assert compose.calls == [("port", {"service": "app", "port": 8000})]


def test_url_of_an_unpublished_port_says_so() -> None:
    assert stack.url(_docker(_FakeCompose([_container()])), "app") == "(not published)"


def test_diagnose_shows_the_last_health_probes_and_log_lines() -> None:
    probes = [(1, "old"), (1, "Traceback\nConnectionRefusedError: [Errno 111]"), (1, ""), (0, "")]
    compose = _FakeCompose(
        [_container(health="unhealthy", probes=probes), _container(service="db")],
        "app-1  | INFO: Started server process\napp-1  | ERROR: database is locked",
    )

    summary, details = stack.diagnose(_docker(compose), 90)

    assert summary == "app did not become healthy within 90s (health: unhealthy)"
    assert details.splitlines() == [
        "app health probe exit 1: ConnectionRefusedError: [Errno 111]",
        "app health probe exit 1: ",
        "app health probe exit 0: ",
        "app log: INFO: Started server process",
        "app log: ERROR: database is locked",
    ]
    # Only the failing service's logs are read; the healthy db is left out.
    assert [options for name, options in compose.calls if name == "logs"] == [
        {"services": ["app"], "tail": "15"}
    ]


def test_diagnose_names_a_failed_job_and_its_last_error_line() -> None:
    compose = _FakeCompose(
        [
            _container(service="migrate", status="exited", health=None, exit_code=1),
            _container(health="starting"),
        ],
        "migrate-1  | ERROR: relation notes already exists\nmigrate-1  | exiting",
    )

    summary, details = stack.diagnose(_docker(compose), 60)

    assert summary == "migrate exited with code 1: ERROR: relation notes already exists"
    assert details.splitlines()[:2] == [
        "migrate log: ERROR: relation notes already exists",
        "migrate log: exiting",
    ]


def test_diagnose_of_a_healthy_stack_and_finished_jobs_is_empty() -> None:
    compose = _FakeCompose(
        [_container(), _container(service="migrate", status="exited", health=None, exit_code=0)]
    )

    assert stack.diagnose(_docker(compose), 90) == ("", "")


def _failing_up(stderr: bytes) -> Any:
    def up(**_options: Any) -> None:
        raise DockerException(["docker", "compose", "up"], 1, stderr=stderr)

    return up


def test_up_that_never_gets_healthy_raises_deploy_failed_with_diagnosis(
    config: Config,
) -> None:
    compose = _FakeCompose(
        [_container(health="unhealthy", probes=[(1, "refused")])], "app-1  | booting"
    )
    compose.up = _failing_up(b"dependency failed to start: app is unhealthy")  # type: ignore[method-assign]

    with pytest.raises(DeployFailed) as caught:
        stack.up(_docker(compose), config.environment("prod"))

    assert str(caught.value) == "app did not become healthy within 90s (health: unhealthy)"
    assert caught.value.details == "app health probe exit 1: refused\napp log: booting"


def test_up_that_fails_without_a_diagnosis_says_what_compose_said(config: Config) -> None:
    compose = _FakeCompose([_container()])
    compose.up = _failing_up(b"Error response from daemon: no such image")  # type: ignore[method-assign]

    with pytest.raises(DeployFailed) as caught:
        stack.up(_docker(compose), config.environment("prod"))

    assert str(caught.value) == (
        "the prod stack did not come up: Error response from daemon: no such image"
    )
    assert caught.value.details == ""


def test_up_without_a_daemon_raises_docker_unavailable(config: Config) -> None:
    compose = _FakeCompose([])
    compose.up = _failing_up(b"Cannot connect to the Docker daemon at unix:///var/run/docker.sock")  # type: ignore[method-assign]

    with pytest.raises(DockerUnavailable):
        stack.up(_docker(compose), config.environment("prod"))

    assert compose.calls == []  # no diagnosis attempted


def test_up_waits_for_health_within_the_environments_timeout(config: Config) -> None:
    compose = _FakeCompose([])

    stack.up(_docker(compose), config.environment("dev"))

    assert compose.calls == [
        (
            "up",
            {
                "detach": True,
                "wait": True,
                "wait_timeout": 60,
                "pull": "never",
                "remove_orphans": True,
                "quiet": True,
            },
        )
    ]


# --- deployed_image ---------------------------------------------------------------------


def test_deployed_image_is_none_before_any_deploy(config: Config) -> None:
    assert stack.deployed_image(config, config.environment("prod")) is None


def test_deployed_image_reads_slipway_image_from_the_state_file(config: Config) -> None:
    prod = config.environment("prod")
    stack.record_image(config, prod, "slipway/notes:abcdef012345", {"EXTRA": "1"})

    assert stack.deployed_image(config, prod) == "slipway/notes:abcdef012345"
    assert stack.deployed_image(config, config.environment("dev")) is None


def test_deployed_image_of_a_state_file_without_slipway_image_is_none(
    config: Config, project_root: Path
) -> None:
    (project_root / ".slipway").mkdir()
    (project_root / ".slipway/prod.env").write_text("OTHER=x\n")

    assert stack.deployed_image(config, config.environment("prod")) is None


# --- published_port and ensure_port_free ------------------------------------------------


def _with_config(model: dict[str, Any]) -> Any:
    compose = _FakeCompose([])
    compose.config = lambda **_options: model  # type: ignore[attr-defined]
    return _docker(compose)


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ([{"target": 8000, "published": "8080", "host_ip": "127.0.0.1"}], ("127.0.0.1", 8080)),
        (
            [{"target": 9000, "published": "9000"}, {"target": 8000, "published": "80"}],
            ("0.0.0.0", 80),
        ),
        ([{"target": 8000}], None),
        (None, None),
    ],
)
def test_published_port_is_where_the_app_port_is_published(
    ports: list[dict[str, Any]] | None, expected: tuple[str, int] | None
) -> None:
    docker = _with_config({"services": {"app": {"ports": ports}}})

    assert stack.published_port(docker, "app") == expected


def test_published_port_of_an_unknown_service_is_none() -> None:
    assert stack.published_port(_with_config({"services": {}}), "app") is None


@pytest.fixture
def listener() -> Iterator[int]:
    """A program listening on a free loopback port; yields the port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _publish(
    monkeypatch: pytest.MonkeyPatch, port: int | None, rows: list[ServiceStatus] | None = None
) -> None:
    address = None if port is None else ("127.0.0.1", port)
    monkeypatch.setattr(stack, "published_port", lambda _docker, _service: address)
    monkeypatch.setattr(stack, "status", lambda _docker: rows or [])


def _app_row(port: int, state: str = "running") -> ServiceStatus:
    return ServiceStatus(
        "app",
        "slipway-prod-app-1",
        state,
        "healthy",
        "slipway/notes:prod",
        f"127.0.0.1:{port}->8000/tcp",
    )


def test_port_held_by_another_program_is_refused(
    monkeypatch: pytest.MonkeyPatch, listener: int
) -> None:
    _publish(monkeypatch, listener)

    with pytest.raises(PortInUse) as caught:
        stack.ensure_port_free(_docker(_FakeCompose([])), "app")

    assert str(caught.value) == (
        f"port 127.0.0.1:{listener} is already in use by another program: stop it, "
        "or set APP_PORT in the environment's env file"
    )


def test_port_held_by_a_stopped_container_of_ours_is_still_refused(
    monkeypatch: pytest.MonkeyPatch, listener: int
) -> None:
    _publish(monkeypatch, listener, [_app_row(listener, state="exited")])

    with pytest.raises(PortInUse, match=f":{listener} is already in use"):
        stack.ensure_port_free(_docker(_FakeCompose([])), "app")


def test_port_held_by_our_running_container_is_fine(
    monkeypatch: pytest.MonkeyPatch, listener: int
) -> None:
    _publish(monkeypatch, listener, [_app_row(listener)])

    stack.ensure_port_free(_docker(_FakeCompose([])), "app")


def test_free_port_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _publish(monkeypatch, port)

    stack.ensure_port_free(_docker(_FakeCompose([])), "app")


def test_unpublished_port_is_not_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    _publish(monkeypatch, None)

    def no_status(_docker: Any) -> list[ServiceStatus]:
        raise AssertionError("status read for an unpublished port")

    monkeypatch.setattr(stack, "status", no_status)

    stack.ensure_port_free(_docker(_FakeCompose([])), "app")


def test_down_keeps_volumes_unless_asked() -> None:
    compose = _FakeCompose([])

    stack.down(_docker(compose))
    stack.down(_docker(compose), volumes=True)

    assert [options["volumes"] for _name, options in compose.calls] == [False, True]


def test_logs_are_decoded_lines() -> None:
    compose = _FakeCompose([], "app-1  | GET /health 200\napp-1  | caf\u00e9")

    lines = list(stack.logs(_docker(compose), tail="2"))

    assert lines == ["app-1  | GET /health 200", "app-1  | caf\u00e9"]


def test_clean_takes_down_environments_and_deletes_generated_folders(
    monkeypatch: pytest.MonkeyPatch, config: Config, project_root: Path
) -> None:
    _write_example(project_root)  # prod can be deployed; dev never was
    for name in (".nox/lint", "reports"):
        (project_root / name).mkdir(parents=True)
    downed: list[str] = []

    def client(_config: Config, env: Any = None) -> Any:
        compose = _FakeCompose([])
        compose.down = lambda **_options: downed.append(env.name)  # type: ignore[method-assign]
        return _docker(compose)

    monkeypatch.setattr(stack.engine, "client", client)

    done = stack.clean(config)

    assert done == ["prod stack removed (volumes kept)", ".nox/ deleted", "reports/ deleted"]
    assert downed == ["prod"]
    assert not (project_root / ".nox").exists()
    assert not (project_root / "reports").exists()
