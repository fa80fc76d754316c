"""slipway.stack: the env file, the recorded image, and what a compose stack shows."""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from python_on_whales.exceptions import DockerException

from slipway import stack
from slipway.config import Config
from slipway.errors import ConfigError, DeployFailed
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
    probes: list[tuple[int, str]] | None = None,
    ports: dict[str, list[dict[str, str]] | None] | None = None,
) -> Any:
    log = [SimpleNamespace(exit_code=code, output=out) for code, out in probes or []]
    return SimpleNamespace(
        name=f"slipway-prod-{service}-1",
        state=SimpleNamespace(
            status=status,
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
        [_container(health="unhealthy", probes=probes)],
        "app-1  | INFO: Started server process\napp-1  | ERROR: database is locked",
    )

    assert stack.diagnose(_docker(compose), "app").splitlines() == [
        "health probe exit 1: ConnectionRefusedError: [Errno 111]",
        "health probe exit 1: ",
        "health probe exit 0: ",
        "log: app-1  | INFO: Started server process",
        "log: app-1  | ERROR: database is locked",
    ]


def test_up_that_never_gets_healthy_raises_deploy_failed_with_diagnosis(
    config: Config,
) -> None:
    compose = _FakeCompose(
        [_container(health="unhealthy", probes=[(1, "refused")])], "app-1  | booting"
    )

    def up(**_options: Any) -> None:
        raise DockerException(
            ["docker", "compose", "up"], 1, stderr=b"dependency failed to start: app is unhealthy"
        )

    compose.up = up  # type: ignore[method-assign]

    with pytest.raises(DeployFailed) as caught:
        stack.up(_docker(compose), config, config.environment("prod"))

    assert str(caught.value) == (
        "the prod stack did not become healthy within 90s: "
        "dependency failed to start: app is unhealthy"
    )
    assert caught.value.details == "health probe exit 1: refused\nlog: app-1  | booting"


def test_up_waits_for_health_within_the_environments_timeout(config: Config) -> None:
    compose = _FakeCompose([])

    stack.up(_docker(compose), config, config.environment("dev"))

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
