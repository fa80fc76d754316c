"""slipway.deploy: build, check, then (and only then) roll the stack onto the image."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from slipway import deploy
from slipway.config import Config, Environment, Target
from slipway.errors import CheckFailed, UsageError
from slipway.images import BuiltImage

MakeImage = Callable[..., BuiltImage]


class _Engine:
    """Stands in for docker: records what deploy asked for, in order."""

    def __init__(self, image: BuiltImage) -> None:
        self.image = image
        self.events: list[str] = []

    def client(self, _config: Config, env: Environment | None = None) -> Any:
        return SimpleNamespace(env=env.name if env else None)

    def ensure_engine(self, _docker: Any, *, compose: bool = False) -> None:
        self.events.append(f"ensure_engine compose={compose}")

    def build(self, _docker: Any, _config: Config, target: Target, **_options: Any) -> BuiltImage:
        self.events.append(f"build {target}")
        return self.image

    def up(self, docker: Any, _config: Config, _env: Environment) -> None:
        self.events.append(f"up {docker.env}")

    def url(self, _docker: Any, _service: str) -> str:
        return "http://127.0.0.1:8000"


@pytest.fixture
def engine_for(monkeypatch: pytest.MonkeyPatch) -> Callable[[BuiltImage], _Engine]:
    def install(image: BuiltImage) -> _Engine:
        fake = _Engine(image)
        monkeypatch.setattr(deploy.engine, "client", fake.client)
        monkeypatch.setattr(deploy.engine, "ensure_engine", fake.ensure_engine)
        monkeypatch.setattr(deploy.images, "build", fake.build)
        monkeypatch.setattr(deploy.stack, "up", fake.up)
        monkeypatch.setattr(deploy.stack, "url", fake.url)
        return fake

    return install


@pytest.fixture
def example(project_root: Path) -> Path:
    path = project_root / "env/prod.env.example"
    path.parent.mkdir()
    path.write_text("APP_PORT=8000\n")
    return path


@pytest.mark.usefixtures("example")
def test_deploy_builds_checks_records_the_image_and_starts_the_stack(
    engine_for: Callable[[BuiltImage], _Engine],
    config: Config,
    make_image: MakeImage,
    project_root: Path,
) -> None:
    fake = engine_for(make_image(size=187_650_000))
    seen: list[str] = []

    result = deploy.deploy(config, "prod", report=seen.append)

    assert fake.events == ["ensure_engine compose=True", "build prod", "up prod"]
    assert seen == [
        "created env/prod.env from its example",
        "building slipway/notes:prod ...",
        "built slipway/notes:prod (0123456789ab, 187.7 MB)",
        "starting slipway-prod, waiting up to 90s for health ...",
    ]
    assert result.environment == "prod"
    assert result.url == "http://127.0.0.1:8000"
    assert all(check.ok for check in result.checks)
    assert (project_root / ".slipway/prod.env").read_text() == "SLIPWAY_IMAGE=slipway/notes:prod\n"


@pytest.mark.usefixtures("example")
def test_deploy_with_failing_checks_leaves_the_running_stack_untouched(
    engine_for: Callable[[BuiltImage], _Engine],
    config: Config,
    make_image: MakeImage,
    project_root: Path,
) -> None:
    fake = engine_for(make_image(user="0:0", size=262_400_000))

    with pytest.raises(CheckFailed) as caught:
        deploy.deploy(config, "prod", report=lambda _line: None)

    assert str(caught.value) == (
        "slipway/notes:prod runs as 0:0: add a USER; "
        "slipway/notes:prod is 262.4 MB, over its 250 MB budget "
        "(the running stack is untouched)"
    )
    assert "up prod" not in fake.events
    assert not (project_root / ".slipway").exists()


def test_deploy_to_an_unknown_environment_touches_nothing(
    engine_for: Callable[[BuiltImage], _Engine], config: Config, make_image: MakeImage
) -> None:
    fake = engine_for(make_image())

    with pytest.raises(UsageError, match=r"^unknown environment 'staging'"):
        deploy.deploy(config, "staging", report=lambda _line: None)

    assert fake.events == []
