"""slipway.proxy: the HAProxy configuration slipway writes for each environment."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from slipway import proxy, state
from slipway.config import Config
from slipway.errors import DeployFailed

NAMES = ["slipway-prod-app-3", "slipway-prod-app-4"]


def _server_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("server ")]


def test_render_names_one_server_per_container_on_the_app_port() -> None:
    text = proxy.render(NAMES, project="slipway")

    assert _server_lines(text) == [
        "server slipway-prod-app-3 slipway-prod-app-3:8000",
        "server slipway-prod-app-4 slipway-prod-app-4:8000",
    ]
    assert "bind :8080" in text
    assert "option httpchk GET /health" in text


def test_render_checks_the_given_health_path() -> None:
    text = proxy.render(["slipway-prod-app-1"], project="slipway", health_path="/ready")

    assert "option httpchk GET /ready" in text
    assert "/health\n" not in text


def test_render_without_containers_has_no_server_line() -> None:
    assert _server_lines(proxy.render([], project="slipway")) == []


def test_config_dir_is_per_environment_under_the_state_dir(
    config: Config, project_root: Path
) -> None:
    prod, dev = config.environment("prod"), config.environment("dev")

    assert state.proxy_folder(config, prod) == project_root / ".slipway/prod-proxy"
    assert state.proxy_folder(config, dev) == project_root / ".slipway/dev-proxy"


def test_servers_of_a_missing_config_is_empty(config: Config) -> None:
    assert proxy.servers_of(config, config.environment("prod")) == []


def test_write_says_whether_the_config_changed(config: Config) -> None:
    prod = config.environment("prod")

    assert proxy.write(config, prod, NAMES) is True
    assert proxy.write(config, prod, NAMES) is False
    assert proxy.write(config, prod, NAMES[:1]) is True
    assert proxy.servers_of(config, prod) == NAMES[:1]


def test_written_config_is_readable_by_the_proxy_and_names_the_servers(
    config: Config, project_root: Path
) -> None:
    prod = config.environment("prod")

    proxy.write(config, prod, NAMES)

    path = project_root / ".slipway/prod-proxy/haproxy.cfg"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_text() == proxy.render(NAMES, project="slipway")
    assert proxy.servers_of(config, prod) == NAMES
    # Written through a scratch file and renamed: nothing else is left in the folder.
    assert [p.name for p in path.parent.iterdir()] == ["haproxy.cfg"]


def test_environments_have_separate_configs(config: Config) -> None:
    proxy.write(config, config.environment("prod"), NAMES)

    assert proxy.servers_of(config, config.environment("dev")) == []


@pytest.mark.parametrize(
    ("health_path", "sent"),
    [
        ('/a b"c', "/a%20b%22c"),
        ("/x#y", "/x%23y"),
        ("/x\n    server evil evil:1\n", "/x%0A%20%20%20%20server%20evil%20evil:1%0A"),
        ("/${HOME}'\\", "/%24%7BHOME%7D%27%5C"),
        ("/50%", "/50%25"),
        ("/ok%20path?full=1", "/ok%20path?full=1"),
        ("health", "/health"),
    ],
)
def test_render_percent_encodes_what_haproxy_would_not_read_as_one_word(
    health_path: str, sent: str
) -> None:
    text = proxy.render(NAMES, project="slipway", health_path=health_path)

    assert f"    option httpchk GET {sent}\n" in text
    assert len(text.splitlines()) == len(proxy.render(NAMES, project="slipway").splitlines())
    assert _server_lines(text) == _server_lines(proxy.render(NAMES, project="slipway"))


@pytest.mark.parametrize(
    ("servers", "project", "port"),
    [
        (["app 1"], "slipway", 8000),
        (["app\n    server evil evil:1"], "slipway", 8000),
        (NAMES, "slipway\nglobal", 8000),
        (NAMES, "x # y", 8000),
        (NAMES, "slipway", 0),
        (NAMES, "slipway", 70000),
    ],
)
def test_render_refuses_a_name_or_port_that_is_not_one_haproxy_word(
    servers: list[str], project: str, port: int
) -> None:
    with pytest.raises(DeployFailed, match=r"^cannot write haproxy\.cfg: .* is not "):
        proxy.render(servers, project=project, port=port)
