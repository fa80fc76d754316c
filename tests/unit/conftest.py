"""Fixtures for slipway's unit tests: a throw-away project, built images, docker errors.

Nothing here (or in any unit test) runs the docker CLI: the autouse fixture
below makes any attempt fail loudly instead of reaching a real engine.
"""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from python_on_whales.client_config import ClientConfig
from python_on_whales.exceptions import DockerException

from slipway.build.images import BuiltImage
from slipway.config import CONFIG_ENV, Config, load

WriteConfig = Callable[[object], Path]
MakeImage = Callable[..., BuiltImage]
MakeDockerError = Callable[..., DockerException]

# The Python files slipway ships into images (docker/healthcheck.py...).
TEMPLATES = Path(__file__).resolve().parents[2] / "src/slipway/templates"


def load_template(name: str) -> ModuleType:
    """A Python template of slipway's, ``docker/NAME.py``, imported as a module."""
    spec = importlib.util.spec_from_file_location(
        f"slipway_{name}", TEMPLATES / f"docker/{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Files the valid test config names; each test project gets empty copies.
PROJECT_FILES = ("compose/base.yaml", "compose/dev.yaml", "compose/prod.yaml", "docker/Dockerfile")


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    """No leaking environment, and no way to reach the docker CLI."""
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)

    def no_docker(_self: ClientConfig) -> list[str | Path]:
        raise AssertionError("unit tests must not run the docker CLI")

    monkeypatch.setattr(ClientConfig, "get_client_call_with_path", no_docker)


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    """A project folder holding the (nearly empty) files the valid config names."""
    for name in PROJECT_FILES:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    # The service slipway.yaml names is one of the compose files' (config checks it).
    (tmp_path / "compose/base.yaml").write_text("services:\n  app: {}\n  migrate: {}\n")
    return tmp_path


@pytest.fixture
def config_data() -> dict[str, Any]:
    """A valid slipway.yaml as data; tests break one key of it."""
    return {
        "project": "slipway",
        "image": "slipway/notes",
        "dockerfile": "docker/Dockerfile",
        "context": ".",
        "service": "app",
        "targets": {
            "dev": None,
            "test": {"size_budget_mb": 700},
            "prod": {"size_budget_mb": 250},
        },
        "environments": {
            "dev": {
                "target": "dev",
                "compose_files": ["compose/base.yaml", "compose/dev.yaml"],
                "env_file": "env/dev.env",
            },
            "prod": {
                "target": "prod",
                "compose_files": ["compose/base.yaml", "compose/prod.yaml"],
                "env_file": "env/prod.env",
                "health_timeout": 90,
            },
        },
    }


@pytest.fixture
def write_config(project_root: Path) -> WriteConfig:
    """Write data (or raw text) as the project's slipway.yaml; return its path."""

    def write(data: object) -> Path:
        path = project_root / "slipway.yaml"
        text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
        path.write_text(text)
        return path

    return write


@pytest.fixture
def config(write_config: WriteConfig, config_data: dict[str, Any]) -> Config:
    """The valid test config, loaded from the tmp project."""
    return load(write_config(config_data))


@pytest.fixture
def make_image() -> MakeImage:
    """A BuiltImage as images.describe returns it; override what a test needs."""

    def make(
        *,
        ref: str = "slipway/notes:prod",
        image_id: str = "sha256:0123456789abcdef0123456789abcdef",
        size: int = 120_000_000,
        user: str = "10001:10001",
        has_healthcheck: bool = True,
    ) -> BuiltImage:
        return BuiltImage(
            ref=ref, id=image_id, size=size, user=user, has_healthcheck=has_healthcheck
        )

    return make


@pytest.fixture
def docker_error() -> MakeDockerError:
    """A DockerException as python-on-whales raises it when the CLI fails."""

    def make(
        stderr: str | None = None,
        stdout: str | None = None,
        *,
        command: tuple[str, ...] = ("docker", "compose", "up"),
        return_code: int = 1,
    ) -> DockerException:
        return DockerException(
            command_launched=list(command),
            return_code=return_code,
            stdout=stdout.encode() if stdout is not None else None,
            stderr=stderr.encode() if stderr is not None else None,
        )

    return make


@pytest.fixture
def listener() -> Iterator[int]:
    """A program listening on a free loopback port; yields the port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]
