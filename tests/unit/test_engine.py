"""slipway.engine: the docker client for an environment, one-line docker errors,
and what the raw-argv commands' output reads as."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from python_on_whales import DockerClient
from python_on_whales.client_config import ClientNotFoundError
from python_on_whales.exceptions import (
    DockerException,
    NoSuchContainer,
    NoSuchImage,
    NoSuchNetwork,
    NoSuchService,
    NoSuchVolume,
    NotASwarmManager,
)

from slipway import engine, state
from slipway.config import Config, load
from slipway.errors import (
    AlreadyExists,
    CommandNotFound,
    DockerUnavailable,
    EngineError,
    InUse,
    NotFound,
    NotRunning,
    NotSwarmManager,
    SlipwayError,
)

WriteConfig = Callable[[object], Path]
MakeDockerError = Callable[..., Exception]

UNREACHABLE = "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?"


def _raise_inside(action: str, error: BaseException) -> None:
    with engine.docker_errors(action):
        raise error


# --- docker_errors -------------------------------------------------------------


def test_unreachable_daemon_names_docker_host(
    monkeypatch: pytest.MonkeyPatch, docker_error: MakeDockerError
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///x.sock")

    with pytest.raises(DockerUnavailable) as caught:
        _raise_inside("docker version", docker_error(UNREACHABLE, ""))

    assert str(caught.value) == (
        "cannot reach the Docker daemon at unix:///x.sock: start Docker, or fix DOCKER_HOST"
    )


def test_unreachable_daemon_without_docker_host_names_the_default_socket(
    docker_error: MakeDockerError,
) -> None:
    with pytest.raises(DockerUnavailable) as caught:
        _raise_inside("docker version", docker_error(UNREACHABLE))

    assert str(caught.value) == (
        "cannot reach the Docker daemon at the default socket: start Docker, or fix DOCKER_HOST"
    )


# The docker CLI's own words, captured here (docker CLI 28.2).
_SSH_REFUSED = (
    'error during connect: Get "http://docker.example.com/v1.50/version": command [ssh -o '
    "ConnectTimeout=30 -T -l nobody -p 1 -- 127.0.0.1 docker system dial-stdio] has exited "
    "with exit status 255, make sure the URL is valid, and Docker 18.09 or later is installed "
    "on the remote host: stderr=ssh: connect to host 127.0.0.1 port 1: Connection refused"
)
_SSH_KEY_REFUSED = (
    'error during connect: Get "http://docker.example.com/v1.50/version": command [ssh -o '
    "ConnectTimeout=30 -T -l root -p 12422 -- 127.0.0.1 docker system dial-stdio] has exited "
    "with exit status 255, make sure the URL is valid, and Docker 18.09 or later is installed "
    "on the remote host: stderr=root@127.0.0.1: Permission denied (publickey,password).\n"
)
_NO_CONTEXT = (
    'Failed to initialize: unable to resolve docker endpoint: context "nope": context not '
    "found: open /root/.docker/contexts/meta/ca37/meta.json: no such file or directory"
)


@pytest.mark.parametrize(
    ("command", "stderr", "said"),
    [
        (
            ("docker", "--host", "tcp://127.0.0.1:1", "version"),
            "Cannot connect to the Docker daemon at tcp://127.0.0.1:1. Is the docker daemon "
            "running?",
            "cannot reach the Docker daemon at tcp://127.0.0.1:1: start it or make it "
            "reachable from here, or fix engine: in slipway.yaml",
        ),
        (
            ("docker", "--host", "ssh://nobody@127.0.0.1:1", "version"),
            _SSH_REFUSED,
            "cannot reach the Docker daemon at ssh://nobody@127.0.0.1:1 (ssh: connect to host "
            "127.0.0.1 port 1: Connection refused): start it or make it reachable from here, "
            "or fix engine: in slipway.yaml",
        ),
        (
            ("docker", "--host", "ssh://root@127.0.0.1:12422", "version"),
            _SSH_KEY_REFUSED,
            "ssh://root@127.0.0.1:12422 refused this machine's SSH key (root@127.0.0.1: "
            "Permission denied (publickey,password)): add the key to the server's "
            "authorized_keys, or fix engine: in slipway.yaml",
        ),
        (
            ("docker", "--context", "nope", "version"),
            _NO_CONTEXT,
            "docker context nope does not exist here: `docker context ls` lists those there "
            "are; fix engine: in slipway.yaml",
        ),
    ],
)
def test_an_engine_slipway_yaml_names_is_named_when_it_cannot_be_reached(
    command: tuple[str, ...], stderr: str, said: str, docker_error: MakeDockerError
) -> None:
    with pytest.raises(DockerUnavailable) as caught:
        _raise_inside("docker version", docker_error(stderr, command=command))

    assert str(caught.value) == said


@pytest.mark.parametrize(
    "stderr",
    [
        'error during connect: Get "http://%2F%2F.%2Fpipe%2Fdocker_engine/v1.47/version"',
        "permission denied while trying to connect to the Docker daemon socket at "
        'unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/_ping"',
        "failed to connect: dial unix /var/run/docker.sock: connect: no such file or directory",
    ],
)
def test_every_unreachable_daemon_symptom_is_docker_unavailable(
    stderr: str, docker_error: MakeDockerError
) -> None:
    with pytest.raises(DockerUnavailable, match=r"^cannot reach the Docker daemon at "):
        _raise_inside("docker version", docker_error(stderr))


@pytest.mark.parametrize(
    "stderr",
    [
        "docker: 'compose' is not a docker command.\nSee 'docker --help'",
        "unknown command: docker compose\n\nRun 'docker --help' for more information",
    ],
)
def test_missing_compose_plugin_says_what_to_install(
    stderr: str, docker_error: MakeDockerError
) -> None:
    with pytest.raises(DockerUnavailable) as caught:
        _raise_inside("docker compose version", docker_error(stderr))

    assert str(caught.value) == (
        "the docker compose v2 plugin is missing: install docker-compose-plugin"
    )


@pytest.mark.parametrize(
    "said",
    [
        "docker: 'buildx' is not a docker command.\nSee 'docker --help'",
        "docker: unknown command: docker buildx\n\nRun 'docker --help' for more information",
    ],
)
def test_missing_buildx_plugin_says_what_to_install(
    docker_error: MakeDockerError, said: str
) -> None:
    error = docker_error(said)

    with pytest.raises(DockerUnavailable) as caught:
        _raise_inside("docker buildx version", error)

    assert str(caught.value) == (
        "the docker buildx plugin is missing: install docker-buildx-plugin"
    )


def test_other_failure_names_the_action_and_the_last_error_line(
    docker_error: MakeDockerError,
) -> None:
    error = docker_error(
        "Container slipway-prod-app-1  Stopping\n"
        "Error response from daemon: removal of container slipway-prod-app-1 is already "
        "in progress\n"
        "exit status 1\n"
    )

    with pytest.raises(SlipwayError) as caught:
        _raise_inside("docker compose down", error)

    assert type(caught.value) is EngineError
    assert str(caught.value) == (
        "docker compose down failed: Error response from daemon: removal of container "
        "slipway-prod-app-1 is already in progress"
    )


def test_a_failure_keeps_its_exit_code_and_output_for_the_caller(
    docker_error: MakeDockerError,
) -> None:
    error = docker_error("Error: No such container: x\n", "half a line", return_code=125)

    with pytest.raises(EngineError) as caught:
        _raise_inside("docker exec", error)

    failure = caught.value
    assert (failure.return_code, failure.stdout, failure.stderr) == (
        125,
        "half a line",
        "Error: No such container: x\n",
    )
    assert failure.reason == "Error: No such container: x"


def test_output_that_was_not_captured_reads_as_empty(docker_error: MakeDockerError) -> None:
    with pytest.raises(EngineError) as caught:
        _raise_inside("docker run", docker_error(None, None, return_code=3))

    assert (caught.value.stdout, caught.value.stderr) == ("", "")
    assert str(caught.value) == "docker run failed: exit code 3"


def test_docker_error_hides_the_python_on_whales_traceback(
    docker_error: MakeDockerError,
) -> None:
    with pytest.raises(SlipwayError) as caught:
        _raise_inside("docker compose ps", docker_error("Error: no such service: web"))

    assert caught.value.__suppress_context__
    assert caught.value.__cause__ is None


# What the docker CLI and the daemon say, by the type the engine raises for it.
SAID = [
    ("Error response from daemon: No such image: slipway/notes:prod-20261206\n", NotFound),
    # A swarm task gone between `docker service ps` and `docker inspect`.
    ("Error response from daemon: task s9x9aji9gewclgy9p029vlur3 not found\n", NotFound),
    ("Error: No such container: 3f2a\n", NotFound),
    ("Error: No such object: 3f2a\n", NotFound),
    ("Error response from daemon: network 3f2a not found\n", NotFound),
    ("Error: No such network: slipway-prod-lock\n", NotFound),
    ("Error response from daemon: get slipway_data: no such volume\n", NotFound),
    ("no such service: web\n", NotFound),
    (
        "Error response from daemon: network with name slipway-prod-lock already exists\n",
        AlreadyExists,
    ),
    (
        'Error response from daemon: conflict: unable to remove repository reference "'
        'slipway/notes:prod-1" (must force) - container 3f2a is using its referenced image 9b1c\n',
        InUse,
    ),
    (
        "Error response from daemon: conflict: unable to delete 9b1c (cannot be forced) - "
        "image is being used by running container 3f2a\n",
        InUse,
    ),
    (
        "Error response from daemon: error while removing network: network "
        "slipway-prod-lock id 3f2a has active endpoints\n",
        InUse,
    ),
    ("Error response from daemon: remove slipway_data: volume is in use - [3f2a]\n", InUse),
    ('service "app" is not running\n', NotRunning),
    ('service "app" is not running container #2\n', NotRunning),
    ("Error response from daemon: container 3f2a is not running\n", NotRunning),
    ("No container found for app_1\n", NotRunning),
    (
        "Error response from daemon: This node is not a swarm manager. Use "
        '"docker swarm init" or "docker swarm join" to connect this node to swarm and try again.\n',
        NotSwarmManager,
    ),
    # docker run, then docker exec, of a command the image lacks (the lines also
    # say "container ... not found": the command, not the container, is missing).
    (
        "docker: Error response from daemon: failed to create task for container: failed to "
        "create shim task: OCI runtime create failed: runc create failed: unable to start "
        'container process: exec: "pytest": executable file not found in $PATH: unknown\n\n'
        "Run 'docker run --help' for more information\n",
        CommandNotFound,
    ),
    (
        "docker: Error response from daemon: failed to create task for container: failed to "
        "create shim task: OCI runtime create failed: runc create failed: unable to start "
        'container process: exec: "/app/.venv/bin/pytest": stat /app/.venv/bin/pytest: '
        "no such file or directory: unknown\n",
        CommandNotFound,
    ),
    (
        "OCI runtime exec failed: exec failed: unable to start container process: "
        'exec: "psql": executable file not found in $PATH: unknown\n',
        CommandNotFound,
    ),
    # Nothing said that a caller branches on: the plain EngineError.
    (
        "Error response from daemon: removal of container slipway-prod-app-1 is already "
        "in progress\n",
        EngineError,
    ),
    ("pg_dump: error: connection to server failed\n", EngineError),
    ("", EngineError),
]


@pytest.mark.parametrize(("stderr", "kind"), SAID)
def test_each_docker_message_raises_its_type(
    stderr: str, kind: type[EngineError], docker_error: MakeDockerError
) -> None:
    with pytest.raises(EngineError) as caught:
        _raise_inside("docker network rm", docker_error(stderr, ""))

    assert type(caught.value) is kind


def test_every_engine_error_type_has_a_message_that_raises_it() -> None:
    assert {kind for _said, kind in SAID} == {EngineError, *EngineError.__subclasses__()}


@pytest.mark.parametrize(
    ("whales", "kind"),
    [
        (NoSuchContainer, NotFound),
        (NoSuchImage, NotFound),
        (NoSuchNetwork, NotFound),
        (NoSuchVolume, NotFound),
        (NoSuchService, NotFound),
        (NotASwarmManager, NotSwarmManager),
        (DockerException, EngineError),
    ],
)
def test_python_on_whales_own_types_raise_theirs(
    whales: type[DockerException], kind: type[EngineError]
) -> None:
    """python-on-whales types some failures itself; its words may not be ours."""
    error = whales(["docker", "image", "rm", "x"], 1, stderr=b"Error: it is gone\n")

    with pytest.raises(EngineError) as caught:
        _raise_inside("docker image rm x", error)

    assert type(caught.value) is kind


def test_the_first_meaning_in_the_table_wins() -> None:
    """A compose exec into a stopped service is NotRunning, whatever else it says."""
    said = 'service "app" is not running: no such container: slipway-prod-app-1\n'
    error = NoSuchContainer(["docker", "compose", "exec"], 1, stderr=said.encode())

    with pytest.raises(NotRunning):
        _raise_inside("docker compose exec", error)


def test_the_type_comes_from_dockers_words_not_the_commands_output(
    docker_error: MakeDockerError,
) -> None:
    """stdout is the command's own (a container's, for exec and run): what it
    prints means nothing about the engine."""
    error = docker_error("", "table notes already exists\nservice x is not running\n")

    with pytest.raises(EngineError) as caught:
        _raise_inside("`psql` in db", error)

    assert type(caught.value) is EngineError


def test_a_typed_failure_keeps_the_message_and_output(docker_error: MakeDockerError) -> None:
    error = docker_error("Error response from daemon: network 3f2a not found\n", "", return_code=1)

    with pytest.raises(NotFound) as caught:
        _raise_inside("releasing the deploy lock slipway-prod-lock", error)

    failure = caught.value
    assert str(failure) == (
        "releasing the deploy lock slipway-prod-lock failed: "
        "Error response from daemon: network 3f2a not found"
    )
    assert failure.reason == "Error response from daemon: network 3f2a not found"
    assert (failure.return_code, failure.stdout, failure.stderr) == (
        1,
        "",
        "Error response from daemon: network 3f2a not found\n",
    )
    assert caught.value.__suppress_context__


def test_an_unreachable_daemon_is_unavailable_whatever_else_it_says(
    docker_error: MakeDockerError,
) -> None:
    with pytest.raises(DockerUnavailable):
        _raise_inside("docker image rm x", docker_error(f"{UNREACHABLE}\nNo such image: x\n"))


def test_missing_docker_cli_is_docker_unavailable() -> None:
    error = ClientNotFoundError("The binary 'docker' could not be found on your PATH.")

    with pytest.raises(DockerUnavailable) as caught:
        _raise_inside("docker version", error)

    assert str(caught.value) == (
        "the docker CLI is not installed: install Docker Engine with buildx and compose v2"
    )


def test_slipway_errors_pass_through_unchanged() -> None:
    error = SlipwayError("already explained")

    with pytest.raises(SlipwayError) as caught:
        _raise_inside("anything", error)

    assert caught.value is error


# --- message_of ----------------------------------------------------------------


def test_message_of_picks_the_last_line_mentioning_an_error(
    docker_error: MakeDockerError,
) -> None:
    error = docker_error(
        '#9 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1\n'
        "------\n"
        'ERROR: failed to solve: process "/bin/sh -c false" did not complete successfully\n'
        "\n"
        "View build details: docker-desktop://dashboard/build/default/default/abc\n"
    )

    assert engine.message_of(error) == (
        'ERROR: failed to solve: process "/bin/sh -c false" did not complete successfully'
    )


def test_message_of_falls_back_to_the_last_non_blank_line(
    docker_error: MakeDockerError,
) -> None:
    error = docker_error('  service "app" didn\'t become healthy  \n\n', "")

    assert engine.message_of(error) == 'service "app" didn\'t become healthy'


def test_message_of_reads_stdout_too(docker_error: MakeDockerError) -> None:
    error = docker_error(None, "validating compose.yaml: services.app Error: bad port\n")

    assert engine.message_of(error) == "validating compose.yaml: services.app Error: bad port"


def test_message_of_without_output_gives_the_exit_code(docker_error: MakeDockerError) -> None:
    assert engine.message_of(docker_error(None, None, return_code=125)) == "exit code 125"


# --- names and the client -------------------------------------------------------


def test_project_name_is_project_dash_environment(config: Config) -> None:
    assert engine.project_name(config, config.environment("prod")) == "slipway-prod"
    assert engine.project_name(config, config.environment("dev")) == "slipway-dev"


def test_state_file_lives_in_dot_slipway(config: Config, project_root: Path) -> None:
    pointer = state.release_file(config, config.environment("prod"))

    assert pointer == project_root / ".slipway" / "prod.env"


def test_client_without_environment_has_no_compose_settings(config: Config) -> None:
    client_config = engine.client(config).client_config

    assert client_config.compose_files == []
    assert client_config.compose_project_name is None


def test_client_for_an_environment_names_its_compose_files_and_project(
    config: Config, project_root: Path
) -> None:
    client = engine.client(config, config.environment("prod"))

    assert isinstance(client, DockerClient)
    assert client.client_config.compose_files == [
        str(project_root / "compose/base.yaml"),
        str(project_root / "compose/prod.yaml"),
        str(project_root / ".slipway/prod.mounts.yaml"),
    ]
    assert client.client_config.compose_project_name == "slipway-prod"
    # The local engine: as the docker CLI decides (DOCKER_HOST, the context).
    assert client.client_config.host is None
    assert client.client_config.context is None


@pytest.mark.parametrize(
    ("address", "host", "context"),
    [
        ("tcp://127.0.0.1:12375", "tcp://127.0.0.1:12375", None),
        ("ssh://deploy@server.example:2222", "ssh://deploy@server.example:2222", None),
        ("staging-box", None, "staging-box"),
    ],
)
def test_an_environment_s_engine_is_python_on_whales_own_host_or_context(
    config: Config, address: str, host: str | None, context: str | None
) -> None:
    env = dataclasses.replace(config.environment("prod"), engine=address)

    client_config = engine.client(config, env).client_config

    assert (client_config.host, client_config.context) == (host, context)
    assert engine.where(env) == (address if host else f"docker context {address}")


def test_client_leaves_out_env_files_that_do_not_exist(config: Config, project_root: Path) -> None:
    client = engine.client(config, config.environment("prod"))

    settings = project_root / ".slipway/prod.settings.env"
    assert list(client.client_config.compose_env_files) == [settings]


def test_client_passes_the_env_file_then_slipway_yaml_then_the_recorded_release(
    config: Config, project_root: Path
) -> None:
    env_file = project_root / "env/prod.env"
    state = project_root / ".slipway/prod.env"
    for path in (env_file, state):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("X=1\n")

    client = engine.client(config, config.environment("prod"))

    settings = project_root / ".slipway/prod.settings.env"
    # compose lets a later file win: the recorded release over the stand-in.
    assert list(client.client_config.compose_env_files) == [env_file, settings, state]


def test_the_settings_file_says_what_slipway_yaml_says_and_follows_it(
    write_config: WriteConfig, config_data: dict[str, object]
) -> None:
    config = load(write_config(config_data))
    path = engine.settings_file(config, config.environment("dev"))
    assert path.read_text() == (
        "SLIPWAY_IMAGE=slipway/notes:dev\nSLIPWAY_PORT=8000\nSLIPWAY_HEALTH_PATH=/health\n"
        "SLIPWAY_LISTEN=127.0.0.1\n"
    )

    config_data["port"] = 9000
    config = load(write_config(config_data))
    assert (
        "SLIPWAY_PORT=9000\n" in engine.settings_file(config, config.environment("dev")).read_text()
    )


# --- ensure_engine ----------------------------------------------------------------


class _FakeEngine:
    """Records which `version` commands ran; optionally fails one of them."""

    def __init__(self, failing: str = "", error: Exception | None = None) -> None:
        self.ran: list[str] = []
        self.buildx = SimpleNamespace(version=self._command("buildx", failing, error))
        self.compose = SimpleNamespace(version=self._command("compose", failing, error))
        self.version = self._command("docker", failing, error)

    def _command(self, name: str, failing: str, error: Exception | None) -> Callable[[], None]:
        def run() -> None:
            self.ran.append(name)
            if name == failing and error is not None:
                raise error

        return run


def test_ensure_engine_checks_docker_and_buildx() -> None:
    fake = _FakeEngine()

    engine.ensure_engine(fake)  # type: ignore[arg-type]

    assert fake.ran == ["docker", "buildx"]


def test_ensure_engine_checks_compose_when_asked() -> None:
    fake = _FakeEngine()

    engine.ensure_engine(fake, compose=True)  # type: ignore[arg-type]

    assert fake.ran == ["docker", "buildx", "compose"]


def test_ensure_engine_reports_an_unreachable_daemon(docker_error: MakeDockerError) -> None:
    fake = _FakeEngine("docker", docker_error(UNREACHABLE))

    with pytest.raises(DockerUnavailable, match=r"^cannot reach the Docker daemon"):
        engine.ensure_engine(fake, compose=True)  # type: ignore[arg-type]

    assert fake.ran == ["docker"]


def test_ensure_engine_reports_a_missing_compose_plugin(docker_error: MakeDockerError) -> None:
    fake = _FakeEngine("compose", docker_error("docker: 'compose' is not a docker command."))

    with pytest.raises(DockerUnavailable, match="compose v2 plugin is missing"):
        engine.ensure_engine(fake, compose=True)  # type: ignore[arg-type]


# --- raw argv: image history, compose watch ------------------------------------------


def _cli_prints(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(engine.gaps, "_run", lambda _argv, **_options: text)


def _cli_fails(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def run(_argv: list[str], **_options: Any) -> str:
        raise error

    monkeypatch.setattr(engine.gaps, "_run", run)


IMAGES = SimpleNamespace(docker_cmd=["docker"])
COMPOSE = SimpleNamespace(docker_compose_cmd=["docker", "compose"])


def test_image_history_is_one_row_per_line_newest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [
        {"CreatedBy": 'CMD ["notes-service"]', "Size": "0"},
        {"CreatedBy": "RUN /bin/sh -c uv sync --locked # buildkit", "Size": "98700000"},
    ]
    _cli_prints(monkeypatch, "\n".join(json.dumps(row) for row in rows) + "\n")

    assert engine.image_history(IMAGES, "slipway/notes:prod") == rows  # type: ignore[arg-type]


def test_image_history_of_a_missing_image_names_it(
    monkeypatch: pytest.MonkeyPatch, docker_error: MakeDockerError
) -> None:
    _cli_fails(monkeypatch, docker_error("Error response from daemon: No such image: x:y\n"))

    with pytest.raises(EngineError) as caught:
        engine.image_history(IMAGES, "x:y")  # type: ignore[arg-type]

    assert str(caught.value) == (
        "docker image history x:y failed: Error response from daemon: No such image: x:y"
    )


def _streams(
    monkeypatch: pytest.MonkeyPatch, chunks: list[tuple[str, bytes]], error: Exception | None
) -> None:
    def stream(_argv: list[str]) -> Iterator[tuple[str, bytes]]:
        yield from chunks
        if error is not None:
            raise error

    monkeypatch.setattr(engine.gaps, "_stream", stream)
    monkeypatch.setattr(engine.gaps, "_stopping", stream)


def test_compose_watch_yields_its_lines_as_text_then_how_it_ended(
    monkeypatch: pytest.MonkeyPatch, docker_error: MakeDockerError
) -> None:
    chunks = [("stderr", b"Watch enabled\n"), ("stdout", b"caf\xe9 synced\n")]
    _streams(monkeypatch, chunks, docker_error("", return_code=130))
    seen: list[str] = []

    with pytest.raises(EngineError) as caught:
        seen.extend(engine.compose_watch(COMPOSE))  # type: ignore[arg-type]

    assert seen == ["Watch enabled", "caf\ufffd synced"]
    assert caught.value.return_code == 130


def test_a_stream_that_ends_hands_over_its_lines_then_its_exit_code() -> None:
    lines: list[tuple[str, bytes]] = []
    with pytest.raises(DockerException) as caught:  # the typed error, as python-on-whales raises it
        lines.extend(engine.gaps._stopping(["sh", "-c", "echo out; echo err >&2; exit 130"]))
    assert sorted(lines) == [("stderr", b"err\n"), ("stdout", b"out\n")]
    assert getattr(caught.value, "return_code", None) == 130


def test_a_stream_left_early_stops_its_command_as_ctrl_c_would() -> None:
    """Ctrl-C that reached slipway alone: the command (compose watch) must
    not run on after it. Here, one that says where it runs, then waits."""
    stream = engine.gaps._stopping(["sh", "-c", "echo $$; exec sleep 60"])
    _, line = next(stream)
    pid = int(line)
    assert Path(f"/proc/{pid}").exists()
    stream.close()  # what a KeyboardInterrupt in the reader does to it
    assert not Path(f"/proc/{pid}").exists()  # stopped and reaped: SIGINT ends sleep


def test_a_failing_stream_hands_over_its_output_before_the_failure(
    monkeypatch: pytest.MonkeyPatch, docker_error: MakeDockerError
) -> None:
    chunks = [("stdout", b"\x00\x01partial dump"), ("stderr", b"pg_dump: error: lost\n")]
    _streams(monkeypatch, chunks, docker_error("pg_dump: error: lost\n"))
    argv = engine.compose_exec_argv(COMPOSE, "db", ["pg_dump"])  # type: ignore[arg-type]
    seen: list[tuple[str, bytes]] = []

    with pytest.raises(EngineError, match=r"^the backup failed: pg_dump: error: lost$"):
        seen.extend(engine.stream(argv, action="the backup"))

    assert seen == chunks


def test_feed_failing_in_a_stopped_service_keeps_compose_s_words(
    monkeypatch: pytest.MonkeyPatch, docker_error: MakeDockerError
) -> None:
    _cli_fails(monkeypatch, docker_error('service "db" is not running\n'))
    argv = engine.compose_run_argv(COMPOSE, "app", ["python", "-c", "..."])  # type: ignore[arg-type]

    with pytest.raises(EngineError) as caught:
        engine.feed(argv, b"data", action="the restore")

    assert str(caught.value) == 'the restore failed: service "db" is not running'
    assert "is not running" in caught.value.stderr
