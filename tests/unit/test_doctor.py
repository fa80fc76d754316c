"""slipway.checks.doctor and its helpers (checks.versions, config.dotenv,
build.dockerfile, backends.compose.files, checks.host): the logic behind each row,
without an engine."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from slipway.backends.compose.files import long_form, proxy_address_from_files
from slipway.build import dockerfile
from slipway.checks import CheckResult, doctor, verdict
from slipway.checks.host import env_file_row, secret_row, secret_rows, uv_pin, uv_rows
from slipway.checks.versions import Version, parse_version
from slipway.config import Config, dotenv
from slipway.errors import CheckFailed, NotChecked, SlipwayError
from tests.unit.conftest import MakeDockerError

ROOT = Path(__file__).resolve().parents[2]

# --- versions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "numbers", "shown"),
    [
        ("2.26.1-4", (2, 26, 1), "2.26.1-4"),  # Debian's compose
        ("v2.29.0", (2, 29, 0), "v2.29.0"),
        ("2.26.1+ds1", (2, 26, 1), "2.26.1+ds1"),
        ("Docker Compose version 2.26.1-4", (2, 26, 1), "2.26.1-4"),
        ("Docker Compose version v2.29.0-desktop.1", (2, 29, 0), "v2.29.0-desktop.1"),
        ("github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3", (0, 13, 1), "0.13.1+ds1"),
        (
            "github.com/docker/buildx v0.4.2 fb7b670b764764dc4716df3eba07ffdae4cc47b2",
            (0, 4, 2),
            "v0.4.2",
        ),
        ("uv 0.13.9 (x86_64-unknown-linux-gnu)", (0, 13, 9), "0.13.9"),
        ("2.22", (2, 22, 0), "2.22"),
    ],
)
def test_versions_are_read_as_tools_print_them(
    text: str, numbers: tuple[int, int, int], shown: str
) -> None:
    version = parse_version(text)

    assert version is not None
    assert version.numbers == numbers
    assert str(version) == shown


def test_text_without_a_version_has_none() -> None:
    assert parse_version("docker: 'compose' is not a docker command.") is None


def test_versions_compare_by_their_numbers_not_their_suffixes() -> None:
    assert Version((2, 26, 1), "2.26.1-4") == Version((2, 26, 1), "v2.26.1")
    assert Version((2, 22, 0), "2.22.0") > Version((2, 9, 9), "2.9.9")


class _Cli:
    """The three answers tool_rows reads from docker, compose and buildx."""

    def __init__(
        self, compose: str | Exception, buildx: str = "github.com/docker/buildx v0.13.1"
    ) -> None:
        server = SimpleNamespace(version="26.1.5", api_version="1.45")
        self.version = lambda: SimpleNamespace(server=server)
        self.buildx = SimpleNamespace(version=lambda: buildx)
        self.compose = SimpleNamespace(version=self._answer(compose))

    @staticmethod
    def _answer(answer: str | Exception) -> Any:
        def version() -> str:
            if isinstance(answer, Exception):
                raise answer
            return answer

        return version


def _rows(cli: _Cli) -> dict[str, CheckResult]:
    _engine_ok, _compose_ok, rows = doctor.tool_rows(cli)  # type: ignore[arg-type]
    return {row.name: row for row in rows}


def test_a_current_compose_has_watch_and_wait() -> None:
    rows = _rows(_Cli("Docker Compose version 2.26.1-4"))

    assert all(row.ok for row in rows.values())
    assert rows["compose"].detail == "compose 2.26.1-4"
    assert rows["compose watch"].detail.startswith("compose 2.26.1-4 >= 2.22.0")


def test_compose_before_2_22_has_no_watch_but_waits() -> None:
    rows = _rows(_Cli("Docker Compose version v2.21.0"))

    assert not rows["compose watch"].ok
    assert "upgrade compose to 2.22.0 or later" in rows["compose watch"].detail
    assert rows["compose up --wait"].ok


def test_compose_before_2_1_1_cannot_wait() -> None:
    rows = _rows(_Cli("docker-compose version 2.1.0"))

    assert not rows["compose up --wait"].ok


def test_missing_compose_plugin_fails_its_row_and_leaves_the_features_unchecked(
    docker_error: MakeDockerError,
) -> None:
    missing = docker_error("docker: 'compose' is not a docker command.\n")
    engine_ok, compose_ok, _ = doctor.tool_rows(_Cli(missing))  # type: ignore[arg-type]
    rows = _rows(_Cli(missing))

    assert (engine_ok, compose_ok) == (True, False)
    assert rows["compose"].detail == (
        "the docker compose v2 plugin is missing: install docker-compose-plugin"
    )
    assert rows["compose watch"] == CheckResult(
        "compose watch", False, "compose watch: not checked: no compose plugin"
    )
    assert not rows["compose up --wait"].ok
    assert rows["engine"].ok


# --- env files --------------------------------------------------------------------------


def test_env_file_values_skip_comments_and_strip_quotes() -> None:
    text = (
        "# Network\n"
        "APP_PORT=8000\n"
        "\n"
        "# DATABASE_URL=sqlite:////app/data/notes.db\n"
        "export LOG_LEVEL='info'\n"
        'GREETING="hello # not a comment"\n'
        "MODE=fast # a comment\n"
        "not an assignment\n"
    )

    assert dotenv.parse(text) == {
        "APP_PORT": "8000",
        "LOG_LEVEL": "info",
        "GREETING": "hello # not a comment",
        "MODE": "fast",
    }


def test_keys_added_to_the_example_later_are_named_in_its_order() -> None:
    example = "APP_PORT=8000\nLOG_LEVEL=info\n# OPTIONAL=1\nWORKERS=2\nTIMEOUT=30\n"
    actual = "export APP_PORT=9000\nTIMEOUT=10\nEXTRA=only-here\n"

    assert dotenv.missing_keys(example, actual) == ["LOG_LEVEL", "WORKERS"]


def test_an_env_file_with_every_key_misses_none() -> None:
    assert dotenv.missing_keys("A=1\nB=2\n", "B=\nA=x\n") == []


def _env_files(config: Config, example: str, actual: str | None) -> None:
    env = config.environment("prod")
    env.env_example.parent.mkdir(parents=True, exist_ok=True)
    env.env_example.write_text(example)
    if actual is not None:
        env.env_file.write_text(actual)


def test_env_row_names_the_missing_keys_and_the_example(config: Config) -> None:
    _env_files(config, "APP_PORT=8000\nLOG_LEVEL=info\n", "APP_PORT=8000\n")

    assert env_file_row(config, config.environment("prod")) == CheckResult(
        "env prod", False, "env/prod.env lacks LOG_LEVEL (in env/prod.env.example): add them"
    )


def test_env_row_passes_when_the_file_has_every_key(config: Config) -> None:
    _env_files(config, "APP_PORT=8000\n", "APP_PORT=9000\nEXTRA=1\n")

    assert env_file_row(config, config.environment("prod")).ok


def test_missing_env_file_that_deploy_creates_is_a_note_not_a_failure(config: Config) -> None:
    # A fresh clone: deploy creates env/prod.env from its example when it runs.
    _env_files(config, "APP_PORT=8000\n", None)

    prod = env_file_row(config, config.environment("prod"))
    dev = env_file_row(config, config.environment("dev"))

    assert (prod.ok, prod.note) == (True, True)
    assert prod.detail == (
        "env/prod.env is not there yet: `invoke deploy --env prod` creates it from "
        "env/prod.env.example (or cp env/prod.env.example env/prod.env)"
    )
    assert not dev.ok
    # No example for dev: nothing to create it from.
    assert dev.detail == "env/dev.env is missing and there is no env/dev.env.example: create it"


# --- secrets ----------------------------------------------------------------------------


def _declare_secret(config: Config) -> Path:
    (config.root / "compose/prod.yaml").write_text(
        "secrets:\n  secret_key:\n    file: ../secrets/secret_key\n"
        "  outside:\n    file: ../elsewhere/token\n"
        "  from_env:\n    environment: TOKEN\n"
    )
    return (config.root / "secrets/secret_key").resolve()


def test_missing_secret_file_is_named_with_the_command_that_creates_it(config: Config) -> None:
    _declare_secret(config)

    rows = {row.name: row for row in secret_rows(config)}

    assert set(rows) == {"secret secrets/secret_key", "secret elsewhere/token"}
    # slipway creates what is under secrets/ when a deploy needs it: a note.
    ours = rows["secret secrets/secret_key"]
    assert (ours.ok, ours.note) == (True, True)
    assert ours.detail == (
        "secrets/secret_key is not there yet (needed by prod): "
        "`invoke secrets` or a deploy creates it"
    )
    assert not rows["secret elsewhere/token"].ok
    assert rows["secret elsewhere/token"].detail == (
        "elsewhere/token is missing (needed by prod): create it (slipway writes only secrets/)"
    )


def test_a_secret_only_its_owner_reads_passes(config: Config) -> None:
    """0600 is fine: deploy sends the value to the engine, where the container
    users read it (the host file is no longer mounted as it is)."""
    path = _declare_secret(config)
    path.parent.mkdir()
    path.write_text("s3cret")
    path.chmod(0o600)

    row = secret_row(config, path, ["prod"])

    assert (row.ok, row.detail) == (True, "present and readable (needed by prod)")


# --- Dockerfile base images and the uv pin ----------------------------------------------


def test_the_projects_dockerfile_starts_from_uv_and_python() -> None:
    images = dockerfile.base_images((ROOT / "docker/Dockerfile").read_text())

    assert images == ["ghcr.io/astral-sh/uv:0.13.9", "python:3.13-slim-trixie"]
    assert uv_pin(images) == "0.13.9"


def test_base_images_skip_stages_scratch_and_unresolvable_args() -> None:
    text = (
        "# syntax=docker/dockerfile:1\n"
        "ARG PY=3.13\n"
        "ARG DISTRO\n"
        "ARG REGISTRY=docker.io \\\n"
        "    TAG=1.2\n"
        "FROM --platform=$BUILDPLATFORM python:${PY}-slim AS Base\n"
        "ARG PY=9.9\n"
        "FROM base AS builder\n"
        "COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/\n"
        "COPY --from=builder /app /app\n"
        "COPY --from=0 /x /x\n"
        "FROM debian:${DISTRO}\n"
        "from scratch as empty\n"
        "FROM ${REGISTRY}/library/haproxy:${TAG:-3.0}\n"
        "FROM python:${PY}-slim\n"
    )

    assert dockerfile.base_images(text) == [
        "python:3.13-slim",
        "ghcr.io/astral-sh/uv:0.13.9",
        "docker.io/library/haproxy:1.2",
    ]


def test_no_uv_image_means_no_pin() -> None:
    assert uv_pin(["python:3.13-slim", "ghcr.io/astral-sh/uvx:1.0"]) is None
    assert uv_pin(["ghcr.io/astral-sh/uv:0.13.9@sha256:abc"]) == "0.13.9"


# --- uv.lock without the package index -------------------------------------------------

UV_PIN = ["ghcr.io/astral-sh/uv:0.13.9"]
NO_SUCH_PACKAGE = "zzz-slipway-no-such-package"


@pytest.fixture
def stale_lock(config: Config, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: Any) -> Config:
    """A project whose uv.lock predates a new dependency: telling whether it is
    up to date needs the package index. Real uv, an empty cache, this Python."""
    if shutil.which("uv") is None:
        pytest.skip("needs uv on PATH")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path_factory.mktemp("uv-cache")))
    monkeypatch.setenv("UV_PYTHON", sys.executable)
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    monkeypatch.setenv("UV_NO_CONFIG", "1")  # no uv.toml of this machine (an index, offline)
    for name in ("UV_OFFLINE", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX"):
        monkeypatch.delenv(name, raising=False)
    pyproject = config.root / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\nversion = "0.1"\ndependencies = []\n')
    subprocess.run(["uv", "lock", "--offline", "-q"], cwd=config.root, check=True, timeout=60)
    pyproject.write_text(pyproject.read_text().replace("[]", f'["{NO_SUCH_PACKAGE}"]'))
    return config


def test_a_lock_check_that_cannot_reach_the_index_is_not_checked_not_failed(
    stale_lock: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_OFFLINE", "1")
    offline = uv_rows(stale_lock, UV_PIN)[1]
    assert offline.detail == (
        f"not checked: no network (uv runs offline and its cache lacks {NO_SUCH_PACKAGE}): "
        "`uv lock --check` needs the package index"
    )

    monkeypatch.delenv("UV_OFFLINE")
    with socket.socket() as sock:  # a port nothing listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("UV_INDEX_URL", f"http://127.0.0.1:{port}/simple")
    unreachable = uv_rows(stale_lock, UV_PIN)[1]
    assert unreachable.detail.startswith(
        f"not checked: no network (127.0.0.1:{port}: Connection refused"
    )
    with pytest.raises(NotChecked):  # exit 3 when nothing else fails: never a pass
        verdict([CheckResult("uv", True, "uv"), offline, unreachable])

    # A lock that is stale whatever the index holds still fails, index or not.
    pyproject = stale_lock.root / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\nversion = "0.2"\ndependencies = []\n')
    stale = uv_rows(stale_lock, UV_PIN)[1]
    assert stale.detail.startswith("`uv lock --check` failed: ")
    with pytest.raises(CheckFailed):
        verdict([stale])


# --- substitution, compose files, ports ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${SET}", "yes"),
        ("$SET-x", "yes-x"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${SET:+alt}", "alt"),
        ("${UNSET:+alt}", ""),
        ("$$SET", "$SET"),
        ("${UNSET}", None),
        ("${EMPTY:?set EMPTY}", None),
        ("${SET:?set SET}", "yes"),
    ],
)
def test_substitution_follows_compose(text: str, expected: str | None) -> None:
    assert dotenv.substitute(text, {"SET": "yes", "EMPTY": ""}) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "127.0.0.1:${APP_PORT:-8000}:8080",
            {"host_ip": "127.0.0.1", "published": "9000", "target": 8080},
        ),
        ("[::1]:9000:8080/tcp", {"host_ip": "::1", "published": "9000", "target": 8080}),
        ("9000:8080", {"host_ip": "", "published": "9000", "target": 8080}),
        ("8080", {"target": 8080}),
        ({"target": 8080, "published": "${APP_PORT}"}, {"target": 8080, "published": "9000"}),
    ],
)
def test_ports_entries_read_as_compose_config_writes_them(
    spec: object, expected: dict[str, object]
) -> None:
    assert long_form(spec, {"APP_PORT": "9000"}) == expected


PROXY = 'services:\n  proxy:\n    ports:\n      - "127.0.0.1:${APP_PORT:-8000}:8080"\n'


def test_port_from_files_reads_the_env_file_then_the_shell(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_PORT", raising=False)
    (config.root / "compose/base.yaml").write_text(PROXY)
    prod = config.environment("prod")

    assert proxy_address_from_files(config, prod) == ("127.0.0.1", 8000)
    _env_files(config, "APP_PORT=8001\n", None)
    assert proxy_address_from_files(config, prod) == ("127.0.0.1", 8001)  # the example
    prod.env_file.write_text("APP_PORT=8002\n")
    assert proxy_address_from_files(config, prod) == ("127.0.0.1", 8002)
    monkeypatch.setenv("APP_PORT", "8003")
    assert proxy_address_from_files(config, prod) == ("127.0.0.1", 8003)


def _model(port: int) -> dict[str, Any]:
    ports = [{"target": 8080, "published": str(port), "host_ip": "127.0.0.1"}]
    return {"services": {"proxy": {"ports": ports}}}


def test_free_port_passes(config: Config) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    assert doctor.port_row(config, config.environment("prod"), _model(port)) == CheckResult(
        "port prod", True, f"127.0.0.1:{port} free"
    )


def test_port_in_use_without_compose_is_named_with_its_environment(
    config: Config, listener: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_PORT", str(listener))
    (config.root / "compose/base.yaml").write_text(PROXY)

    row = doctor.port_row(config, config.environment("prod"), None)

    assert row == CheckResult(
        "port prod",
        False,
        f"prod: port 127.0.0.1:{listener} is in use (by whom: not checked: no compose "
        "plugin): stop it, or set APP_PORT in env/prod.env",
    )


def test_failed_compose_config_fails_the_port_row(config: Config) -> None:
    row = doctor.port_row(
        config, config.environment("prod"), SlipwayError("docker compose config failed: x")
    )

    assert row == CheckResult("port prod", False, "prod: docker compose config failed: x")


# --- compose images, disk ---------------------------------------------------------------


def test_service_images_leave_out_built_ones_and_slipways_own() -> None:
    model = {
        "services": {
            "app": {"image": "slipway/notes:prod", "build": {"context": "."}},
            "migrate": {"image": "slipway/notes:prod"},
            "proxy": {"image": "haproxy:3.0"},
            "db": {"image": "postgres:17"},
            "tool": {"build": {"context": "tool"}},
        }
    }

    assert doctor.service_images(model, "app") == ["haproxy:3.0", "postgres:17"]


def test_free_space_is_df_s_available_column() -> None:
    out = (
        "Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
        "overlay         102687672 21040252  76388208      22% /\n"
    )

    assert doctor.available_bytes(out) == 76388208 * 1024
    assert doctor.available_bytes("df: /: No such file or directory\n") is None
