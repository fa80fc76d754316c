"""slipway.backends.compose.stack: the env file, the recorded release, and what
a compose stack shows."""

from __future__ import annotations

import dataclasses
import socket
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from slipway import engine, proxy, state
from slipway.backends import ServiceStatus
from slipway.backends.compose import files as _composefiles
from slipway.backends.compose import stack
from slipway.cli import stacks
from slipway.config import Config, Environment, load
from slipway.errors import ConfigError, PortInUse

WriteConfig = Callable[[object], Path]
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


# --- the release pointer ------------------------------------------------------------------


def _record(config: Config, env: Environment, ref: str, extra: Mapping[str, str] = {}) -> None:
    """What the compose backend records once a release serves."""
    state.stage_release(config, env, {**stack.release_values(env, ref), **extra})
    state.commit_release(config, env)


def test_record_image_writes_the_image_and_replicas_into_the_state_file(
    config: Config, project_root: Path
) -> None:
    _record(config, config.environment("prod"), "slipway/notes:prod")

    state = project_root / ".slipway/prod.env"
    assert state.read_text() == ("SLIPWAY_IMAGE=slipway/notes:prod\nSLIPWAY_REPLICAS=1\n")


def test_record_image_writes_the_environments_replicas_and_extra_values(
    write_config: WriteConfig, config_data: dict[str, Any], project_root: Path
) -> None:
    config_data["environments"]["prod"]["replicas"] = 3
    config = load(write_config(config_data))

    _record(config, config.environment("prod"), "slipway/notes:prod", {"EXTRA": "1"})

    lines = (project_root / ".slipway/prod.env").read_text().splitlines()
    assert "SLIPWAY_REPLICAS=3" in lines
    assert lines[-1] == "EXTRA=1"


def test_record_image_replaces_the_previous_image(config: Config, project_root: Path) -> None:
    dev = config.environment("dev")
    _record(config, dev, "slipway/notes:old")

    _record(config, dev, "slipway/notes:dev")

    lines = (project_root / ".slipway/dev.env").read_text().splitlines()
    assert [line for line in lines if line.startswith("SLIPWAY_IMAGE=")] == [
        "SLIPWAY_IMAGE=slipway/notes:dev"
    ]
    assert state.release(config, dev) == "slipway/notes:dev"


# --- a (fake) running stack -------------------------------------------------------------


def _container(
    *,
    service: str = "app",
    status: str = "running",
    health: str | None = "healthy",
    ports: Mapping[str, Any] | None = None,
) -> Any:
    return SimpleNamespace(
        name=f"slipway-prod-{service}-1",
        state=SimpleNamespace(
            status=status,
            health=None if health is None else SimpleNamespace(status=health),
        ),
        network_settings=SimpleNamespace(ports=ports),
        config=SimpleNamespace(labels={stack.SERVICE_LABEL: service}, image="slipway/notes:prod"),
        image="sha256:84d206f32bfd0123456789abcdef",
    )


class _FakeCompose:
    def __init__(self, containers: list[Any], log_text: str = "") -> None:
        self.containers, self.log_text = containers, log_text

    def ps(self, **_options: Any) -> list[Any]:
        return self.containers

    def logs(self, services: list[str] | None = None, **options: Any) -> Any:
        self.logged_services = services
        if options.get("stream"):
            return [("stdout", f"{line}\n".encode()) for line in self.log_text.splitlines()]
        return self.log_text

    def port(self, service: str, port: int) -> tuple[str | None, int | None]:
        """Like compose: where a running container publishes the service's port."""
        for c in self.containers:
            if c.config.labels[stack.SERVICE_LABEL] != service:
                continue
            for bind in (c.network_settings.ports or {}).get(f"{port}/tcp") or []:
                return bind["HostIp"], int(bind["HostPort"])
        return None, None

    def down(self, **_options: Any) -> None:
        pass


def _docker(compose: _FakeCompose) -> Any:
    return SimpleNamespace(compose=compose)


PUBLISHED = {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000"}]}
PROXY_PUBLISHED = {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000"}]}


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
            "84d206f32bfd",
        ),
        ServiceStatus(
            "migrate",
            "slipway-prod-migrate-1",
            "exited",
            "-",
            "slipway/notes:prod",
            "-",
            "84d206f32bfd",
        ),
    ]


def test_url_is_where_the_host_reaches_the_proxy() -> None:
    app_ports = {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "9999"}]}
    compose = _FakeCompose(
        [
            _container(ports=app_ports),  # an app port published too is not the URL
            _container(service=proxy.SERVICE, health=None, ports=PROXY_PUBLISHED),
        ]
    )

    assert stack.url(_docker(compose)) == "http://127.0.0.1:8000"


def test_url_without_a_published_proxy_says_so() -> None:
    compose = _FakeCompose([_container(ports=PUBLISHED)])  # only the app, no proxy

    assert stack.url(_docker(compose)) == "(not published)"


# --- deployed_image ---------------------------------------------------------------------


def test_deployed_image_is_none_before_any_deploy(config: Config) -> None:
    assert state.release(config, config.environment("prod")) is None


def test_deployed_image_reads_slipway_image_from_the_state_file(config: Config) -> None:
    prod = config.environment("prod")
    _record(config, prod, "slipway/notes:abcdef012345", {"EXTRA": "1"})

    assert state.release(config, prod) == "slipway/notes:abcdef012345"
    assert state.release(config, config.environment("dev")) is None


def test_deployed_image_of_a_state_file_without_slipway_image_is_none(
    config: Config, project_root: Path
) -> None:
    (project_root / ".slipway").mkdir(exist_ok=True)
    (project_root / ".slipway/prod.env").write_text("OTHER=x\n")

    assert state.release(config, config.environment("prod")) is None


# --- published_port and ensure_port_free ------------------------------------------------


def _with_config(model: dict[str, Any]) -> Any:
    compose = _FakeCompose([])
    compose.config = lambda **_options: model  # type: ignore[attr-defined]
    return _docker(compose)


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ([{"target": 8080, "published": "8000", "host_ip": "127.0.0.1"}], ("127.0.0.1", 8000)),
        (
            [{"target": 9000, "published": "9000"}, {"target": 8080, "published": "80"}],
            ("0.0.0.0", 80),
        ),
        ([{"target": 8080}], None),
        (None, None),
    ],
)
def test_published_port_is_where_the_proxy_port_is_published(
    ports: list[dict[str, Any]] | None, expected: tuple[str, int] | None
) -> None:
    docker = _with_config({"services": {"proxy": {"ports": ports}}})

    assert stack.published_port(docker) == expected


def test_published_port_of_the_app_alone_is_none() -> None:
    """Only the proxy is reached from the host; an app port is not the stack's port."""
    app = {"ports": [{"target": 8000, "published": "8000"}]}

    assert stack.published_port(_with_config({"services": {"app": app}})) is None
    assert stack.published_port(_with_config({"services": {}})) is None


def _publish(
    monkeypatch: pytest.MonkeyPatch, port: int | None, rows: list[ServiceStatus] | None = None
) -> None:
    address = None if port is None else ("127.0.0.1", port)
    monkeypatch.setattr(stack, "published_port", lambda _docker: address)
    monkeypatch.setattr(stack, "status", lambda _docker: rows or [])


def _proxy_row(port: int, state: str = "running") -> ServiceStatus:
    return ServiceStatus(
        "proxy",
        "slipway-prod-proxy-1",
        state,
        "healthy",
        "haproxy:3.0",
        f"127.0.0.1:{port}->8080/tcp",
    )


def test_port_held_by_another_program_is_refused(
    monkeypatch: pytest.MonkeyPatch, listener: int
) -> None:
    _publish(monkeypatch, listener)

    with pytest.raises(PortInUse) as caught:
        stack.ensure_port_free(_docker(_FakeCompose([])))

    assert str(caught.value) == (
        f"port 127.0.0.1:{listener} is already in use by another program: stop it, "
        "or publish the proxy on another host port in the environment's compose files"
    )


def test_the_port_message_names_how_this_project_sets_the_port(
    monkeypatch: pytest.MonkeyPatch, listener: int, config: Config, project_root: Path
) -> None:
    """Not APP_PORT, a variable only slipway's own compose files define."""
    (project_root / "compose/prod.yaml").write_text(
        'services:\n  proxy:\n    ports: ["127.0.0.1:${WEB_PORT:-8000}:8080"]\n'
    )
    _publish(monkeypatch, listener)
    env = config.environment("prod")

    with pytest.raises(PortInUse) as caught:
        stack.ensure_port_free(
            _docker(_FakeCompose([])), change=_composefiles.port_setting(config, env)
        )

    assert str(caught.value).endswith(": stop it, or set WEB_PORT in env/prod.env")
    assert "APP_PORT" not in str(caught.value)


@pytest.mark.parametrize(
    ("ports", "setting"),
    [
        # slipway's own compose files.
        ('["127.0.0.1:${APP_PORT:-8000}:8080"]', "set APP_PORT in env/prod.env"),
        ('["$PORT:8080/tcp", "9000:9000"]', "set PORT in env/prod.env"),
        (
            "[{target: 8080, published: '${HTTP_PORT}', host_ip: 127.0.0.1}]",
            "set HTTP_PORT in env/prod.env",
        ),
        ('["8000:8080"]', "change the proxy's published port (8000) in compose/prod.yaml"),
        ('["8080"]', _composefiles.ANOTHER_PORT),
        ("[]", _composefiles.ANOTHER_PORT),
    ],
)
def test_port_setting_reads_the_proxys_published_port_from_the_compose_files(
    config: Config, project_root: Path, ports: str, setting: str
) -> None:
    (project_root / "compose/prod.yaml").write_text(f"services:\n  proxy:\n    ports: {ports}\n")

    assert _composefiles.port_setting(config, config.environment("prod")) == setting


def test_port_setting_of_compose_files_without_a_proxy_says_where_to_look(
    config: Config, project_root: Path
) -> None:
    (project_root / "compose/prod.yaml").write_text(": not yaml: [")

    assert (
        _composefiles.port_setting(config, config.environment("prod")) == _composefiles.ANOTHER_PORT
    )


def test_port_held_by_a_stopped_container_of_ours_is_still_refused(
    monkeypatch: pytest.MonkeyPatch, listener: int
) -> None:
    _publish(monkeypatch, listener, [_proxy_row(listener, state="exited")])

    with pytest.raises(PortInUse, match=f":{listener} is already in use"):
        stack.ensure_port_free(_docker(_FakeCompose([])))


def test_port_held_by_our_running_container_is_fine(
    monkeypatch: pytest.MonkeyPatch, listener: int
) -> None:
    _publish(monkeypatch, listener, [_proxy_row(listener)])

    stack.ensure_port_free(_docker(_FakeCompose([])))


def test_free_port_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _publish(monkeypatch, port)

    stack.ensure_port_free(_docker(_FakeCompose([])))


def test_unpublished_port_is_not_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    _publish(monkeypatch, None)

    def no_status(_docker: Any) -> list[ServiceStatus]:
        raise AssertionError("status read for an unpublished port")

    monkeypatch.setattr(stack, "status", no_status)

    stack.ensure_port_free(_docker(_FakeCompose([])))


def test_logs_are_decoded_lines() -> None:
    compose = _FakeCompose([], "app-1  | GET /health 200\napp-1  | caf\u00e9")

    lines = list(stack.logs(_docker(compose), tail="2"))

    assert lines == ["app-1  | GET /health 200", "app-1  | caf\u00e9"]


def test_plain_logs_carry_no_control_sequences() -> None:
    """compose writes ESC[2K before each line even into a pipe; apps colour theirs."""
    compose = _FakeCompose(
        [],
        "\x1b[2Kapp-1  | \x1b[31mred\x1b[0m\tdone\x07\n"
        "\x1b[2Kapp-1  | \x1b]0;title\x07caf\u00e9\x1b(B",
    )

    lines = list(stack.logs(_docker(compose), tail="2", plain_text=True))

    assert lines == ["app-1  | red\tdone", "app-1  | caf\u00e9"]


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
        docker = _docker(compose)
        # The container that holds what the engine keeps goes too (not its volume).
        docker.container = SimpleNamespace(remove=lambda name, **_o: downed.append(name))
        return docker

    monkeypatch.setattr(engine, "client", client)

    done = stacks.cleaned(config)

    assert done == ["prod stack removed (volumes kept)", ".nox/ deleted", "reports/ deleted"]
    assert downed == ["prod", "slipway-prod-state"]
    assert not (project_root / ".nox").exists()
    assert not (project_root / "reports").exists()


# --- execute: `slipway exec` and `shell` ------------------------------------------------
# In the first running replica, through slipway's entrypoint when the image has
# it (compose exec skips an image's entrypoint; the server's DATABASE_URL is made there).


def _replica(number: int, entrypoint: list[str] | None, *, running: bool = True) -> Any:
    return SimpleNamespace(
        state=SimpleNamespace(running=running),
        config=SimpleNamespace(labels={stack.NUMBER_LABEL: str(number)}, entrypoint=entrypoint),
    )


def fake_docker(*replicas: Any) -> tuple[Any, list[tuple[str, list[str], int, bool]]]:
    ran: list[tuple[str, list[str], int, bool]] = []

    def ps(services: list[str]) -> list[Any]:
        assert services == ["app"]
        return list(replicas)

    def execute(
        service: str, argv: list[str], *, tty: bool, index: int, envs: dict[str, str]
    ) -> str:
        ran.append((service, argv, index, tty, envs))
        return "done\n"

    return SimpleNamespace(compose=SimpleNamespace(ps=ps, execute=execute)), ran


@pytest.mark.parametrize(
    ("entrypoint", "argv", "envs"),
    [
        # Through slipway's entrypoint, which must not wait for a singleton's
        # lease: the role's own process holds it.
        (list(stack.ENTRYPOINT), [*stack.ENTRYPOINT, "alembic", "current"], {"SLIPWAY_LEASE": ""}),
        (None, ["alembic", "current"], {}),
        (["/docker-entrypoint.sh"], ["alembic", "current"], {}),
    ],
)
def test_a_command_runs_in_the_first_running_replica_through_slipways_entrypoint(
    entrypoint: list[str] | None, argv: list[str], envs: dict[str, str]
) -> None:
    client, ran = fake_docker(
        _replica(3, entrypoint), _replica(2, entrypoint), _replica(1, entrypoint, running=False)
    )
    out = stack.execute(client, "app", ["alembic", "current"], tty=False)
    assert out == "done\n"
    assert ran == [("app", argv, 2, False, envs)]


def test_a_listen_address_the_compose_files_do_not_follow_is_refused(
    monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    server = dataclasses.replace(config.environment("prod"), listen="0.0.0.0")
    monkeypatch.setattr(stack, "published_port", lambda _docker: ("127.0.0.1", 8000))

    with pytest.raises(ConfigError) as caught:
        stack.ensure_listening(_docker(_FakeCompose([])), server)

    assert str(caught.value) == (
        "prod has listen: 0.0.0.0 in slipway.yaml, but its compose files publish the proxy on "
        '127.0.0.1: publish it on "${SLIPWAY_LISTEN:-127.0.0.1}:<port>:8080" as slipway init '
        "writes it"
    )
    monkeypatch.setattr(stack, "published_port", lambda _docker: ("0.0.0.0", 8000))
    stack.ensure_listening(_docker(_FakeCompose([])), server)
