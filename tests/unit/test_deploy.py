"""slipway.deploy: build, check, then (and only then) roll the stack onto the image,
and put the previous release back when the new one is not healthy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from slipway import deploy, history, stack
from slipway.config import Config, Environment, Target
from slipway.errors import CheckFailed, DeployFailed, UsageError
from slipway.images import BuiltImage
from slipway.release import Source

MakeImage = Callable[..., BuiltImage]

REVISION = "abcdef0123456789abcdef0123456789abcdef01"
NEW = "slipway/notes:abcdef012345"  # the immutable tag of a clean build at REVISION
OLD = "slipway/notes:0000aaaa1111"
SOURCE = Source(REVISION, False, "2026-11-22T21:59:40+00:00", "")


class _Engine:
    """Stands in for docker: records what deploy asked for, in order.

    ``up_failures`` are raised by successive stack.up calls (None: healthy).
    """

    def __init__(
        self, config: Config, image: BuiltImage, up_failures: list[DeployFailed | None]
    ) -> None:
        self.config, self.image = config, image
        self.up_failures = up_failures
        self.events: list[str] = []
        self.labels: dict[str, str] | None = None
        self.running: list[str] = []  # services the stack reports running

    def client(self, _config: Config, env: Environment | None = None) -> Any:
        return SimpleNamespace(env=env.name if env else None)

    def ensure_engine(self, _docker: Any, *, compose: bool = False) -> None:
        self.events.append(f"ensure_engine compose={compose}")

    def ensure_port_free(self, docker: Any, service: str) -> None:
        self.events.append(f"ensure_port_free {docker.env} {service}")

    def build(self, _docker: Any, _config: Config, target: Target, **options: Any) -> BuiltImage:
        self.events.append(f"build {target}")
        self.labels = options["labels"]
        return self.image

    def tag(self, _docker: Any, image: BuiltImage, ref: str) -> None:
        self.events.append(f"tag {image.short_id} {ref}")

    def up(self, docker: Any, env: Environment) -> None:
        """Records the image compose would start: the one in the state file."""
        self.events.append(f"up {docker.env} {stack.deployed_image(self.config, env)}")
        failure = self.up_failures.pop(0) if self.up_failures else None
        if failure is not None:
            raise failure

    def status(self, _docker: Any) -> list[Any]:
        return [SimpleNamespace(service=s, state="running") for s in self.running]

    def backup(self, _config: Config, env_name: str) -> Any:
        self.events.append(f"backup {env_name}")
        return SimpleNamespace(path=self.config.root / "backups/x.sqlite3", detail="1 note")

    def down(self, docker: Any, **_options: Any) -> None:
        self.events.append(f"down {docker.env}")

    def url(self, _docker: Any, _service: str) -> str:
        return "http://127.0.0.1:8000"


Install = Callable[..., _Engine]


@pytest.fixture
def engine_for(monkeypatch: pytest.MonkeyPatch, config: Config) -> Install:
    def install(image: BuiltImage, up_failures: list[DeployFailed | None] | None = None) -> _Engine:
        fake = _Engine(config, image, list(up_failures or []))
        monkeypatch.setattr(deploy.engine, "client", fake.client)
        monkeypatch.setattr(deploy.engine, "ensure_engine", fake.ensure_engine)
        monkeypatch.setattr(deploy.images, "build", fake.build)
        monkeypatch.setattr(deploy.release, "source", lambda _root: SOURCE)
        monkeypatch.setattr(deploy.release, "tag", fake.tag)
        monkeypatch.setattr(deploy.stack, "ensure_port_free", fake.ensure_port_free)
        monkeypatch.setattr(deploy.stack, "up", fake.up)
        monkeypatch.setattr(deploy.stack, "down", fake.down)
        monkeypatch.setattr(deploy.stack, "status", fake.status)
        monkeypatch.setattr(deploy.backup, "backup", fake.backup)
        monkeypatch.setattr(deploy.stack, "url", fake.url)
        return fake

    return install


@pytest.fixture
def example(project_root: Path) -> Path:
    path = project_root / "env/prod.env.example"
    path.parent.mkdir()
    path.write_text("APP_PORT=8000\n")
    return path


def _state(project_root: Path) -> str:
    return (project_root / ".slipway/prod.env").read_text()


def _outcomes(config: Config) -> list[tuple[str, str]]:
    return [(r.image, r.outcome) for r in history.releases(config, config.environment("prod"))]


UNHEALTHY = DeployFailed(
    "app did not become healthy within 90s (health: unhealthy)",
    details="app log: ERROR: database is locked",
)


# --- deploy -------------------------------------------------------------------------


@pytest.mark.usefixtures("example")
def test_deploy_builds_checks_records_the_image_and_starts_the_stack(
    engine_for: Install, config: Config, make_image: MakeImage, project_root: Path
) -> None:
    fake = engine_for(make_image(size=187_650_000))
    seen: list[str] = []

    result = deploy.deploy(config, "prod", report=seen.append)

    assert fake.events == [
        "ensure_engine compose=True",
        "ensure_port_free prod app",
        "build prod",
        f"tag 0123456789ab {NEW}",
        f"up prod {NEW}",
    ]
    assert seen == [
        "created env/prod.env from its example",
        "building slipway/notes:prod ...",
        f"built {NEW} (0123456789ab, 187.7 MB)",
        f"rolling slipway-prod to {NEW}, waiting up to 90s for health ...",
    ]
    assert fake.labels is not None
    assert fake.labels["org.opencontainers.image.revision"] == REVISION
    assert result.environment == "prod"
    assert result.tag == NEW
    assert result.image.ref == NEW
    assert result.url == "http://127.0.0.1:8000"
    assert all(check.ok for check in result.checks)
    assert _state(project_root) == f"SLIPWAY_IMAGE={NEW}\n"
    assert _outcomes(config) == [(NEW, history.OK)]


@pytest.mark.usefixtures("example")
def test_deploy_with_failing_checks_leaves_the_running_stack_untouched(
    engine_for: Install, config: Config, make_image: MakeImage, project_root: Path
) -> None:
    fake = engine_for(make_image(user="0:0", size=262_400_000))

    with pytest.raises(CheckFailed) as caught:
        deploy.deploy(config, "prod", report=lambda _line: None)

    assert str(caught.value) == (
        f"{NEW} runs as 0:0: add a USER; "
        f"{NEW} is 262.4 MB, over its 250 MB budget "
        "(the running stack is untouched)"
    )
    assert not [event for event in fake.events if event.startswith("up ")]
    assert not (project_root / ".slipway").exists()


def test_deploy_to_an_unknown_environment_touches_nothing(
    engine_for: Install, config: Config, make_image: MakeImage
) -> None:
    fake = engine_for(make_image())

    with pytest.raises(UsageError, match=r"^unknown environment 'staging'"):
        deploy.deploy(config, "staging", report=lambda _line: None)

    assert fake.events == []


@pytest.mark.usefixtures("example")
def test_unhealthy_deploy_rolls_back_to_the_previous_release(
    engine_for: Install, config: Config, make_image: MakeImage, project_root: Path
) -> None:
    stack.record_image(config, config.environment("prod"), OLD)
    fake = engine_for(make_image(), [UNHEALTHY, None])
    seen: list[str] = []

    with pytest.raises(DeployFailed) as caught:
        deploy.deploy(config, "prod", report=seen.append)

    assert str(caught.value) == (
        "app did not become healthy within 90s (health: unhealthy); "
        f"rolled back to {OLD}, which is serving again"
    )
    assert caught.value.details == "app log: ERROR: database is locked"
    assert fake.events[-2:] == [f"up prod {NEW}", f"up prod {OLD}"]
    assert seen[-3:] == [
        f"rolling slipway-prod to {NEW}, waiting up to 90s for health ...",
        f"the new release failed ({UNHEALTHY}); putting {OLD} back ...",
        f"rolling slipway-prod to {OLD}, waiting up to 90s for health ...",
    ]
    assert _state(project_root) == f"SLIPWAY_IMAGE={OLD}\n"
    assert _outcomes(config) == [(NEW, history.FAILED), (OLD, history.ROLLED_BACK)]
    failed = history.releases(config, config.environment("prod"))[0]
    assert failed.detail == str(UNHEALTHY)


@pytest.mark.usefixtures("example")
def test_unhealthy_first_deploy_takes_the_stack_down(
    engine_for: Install, config: Config, make_image: MakeImage
) -> None:
    fake = engine_for(make_image(), [UNHEALTHY])

    with pytest.raises(DeployFailed) as caught:
        deploy.deploy(config, "prod", report=lambda _line: None)

    assert str(caught.value) == (
        "app did not become healthy within 90s (health: unhealthy); no earlier release "
        "to go back to, so the stack was taken down (data volumes kept)"
    )
    assert caught.value.details == UNHEALTHY.details
    assert fake.events[-2:] == [f"up prod {NEW}", "down prod"]
    assert _outcomes(config) == [(NEW, history.FAILED)]


@pytest.mark.usefixtures("example")
def test_failed_rollback_says_both_failures(
    engine_for: Install, config: Config, make_image: MakeImage
) -> None:
    stack.record_image(config, config.environment("prod"), OLD)
    again = DeployFailed("migrate exited with code 1: ERROR boom", details="migrate log: boom")
    engine_for(make_image(), [UNHEALTHY, again])

    with pytest.raises(DeployFailed) as caught:
        deploy.deploy(config, "prod", report=lambda _line: None)

    assert str(caught.value) == (f"{UNHEALTHY}; rolling back to {OLD} failed too: {again}")
    assert caught.value.details == f"{UNHEALTHY.details}\n{again.details}"
    assert _outcomes(config) == [(NEW, history.FAILED)]


# --- rollback -----------------------------------------------------------------------


def test_rollback_puts_back_the_newest_earlier_good_release(
    engine_for: Install, config: Config, make_image: MakeImage, project_root: Path
) -> None:
    prod = config.environment("prod")
    history.record(config, prod, OLD, "sha256:old", history.OK)
    history.record(config, prod, "slipway/notes:bad", "sha256:bad", history.FAILED)
    history.record(config, prod, NEW, "sha256:new", history.OK)
    stack.record_image(config, prod, NEW)
    fake = engine_for(make_image())
    seen: list[str] = []

    url = deploy.rollback(config, "prod", report=seen.append)

    assert url == "http://127.0.0.1:8000"
    assert fake.events == [f"up prod {OLD}"]
    assert seen == [f"rolling slipway-prod to {OLD}, waiting up to 90s for health ..."]
    assert _state(project_root) == f"SLIPWAY_IMAGE={OLD}\n"
    last = history.releases(config, prod)[-1]
    assert (last.image, last.image_id, last.outcome) == (OLD, "sha256:old", history.ROLLBACK)


def test_rollback_without_an_earlier_good_release_is_refused(
    engine_for: Install, config: Config, make_image: MakeImage, project_root: Path
) -> None:
    prod = config.environment("prod")
    history.record(config, prod, "slipway/notes:bad", "sha256:bad", history.FAILED)
    history.record(config, prod, NEW, "sha256:new", history.OK)
    stack.record_image(config, prod, NEW)
    fake = engine_for(make_image())

    with pytest.raises(UsageError) as caught:
        deploy.rollback(config, "prod", report=lambda _line: None)

    assert str(caught.value) == "prod has no earlier healthy release to roll back to"
    assert fake.events == []
    assert _state(project_root) == f"SLIPWAY_IMAGE={NEW}\n"


@pytest.mark.usefixtures("example")
def test_a_new_release_over_a_running_stack_is_preceded_by_a_backup(
    config: Config, engine_for: Install, make_image: MakeImage
) -> None:
    env = config.environment("prod")
    stack.record_image(config, env, OLD)
    fake = engine_for(make_image())
    fake.running = ["app"]

    deploy.deploy(config, "prod", report=lambda _line: None)

    assert fake.events.index("backup prod") < fake.events.index(f"up prod {NEW}")


@pytest.mark.usefixtures("example")
def test_redeploying_the_running_release_takes_no_backup(
    config: Config, engine_for: Install, make_image: MakeImage
) -> None:
    env = config.environment("prod")
    stack.record_image(config, env, NEW)
    fake = engine_for(make_image())
    fake.running = ["app"]

    deploy.deploy(config, "prod", report=lambda _line: None)

    assert "backup prod" not in fake.events
