"""slipway.deploy: build, check, then (and only then) roll the stack onto the image;
when the new release is not healthy, the previous one keeps (or goes back to) serving."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from slipway import deploy, history, retention, rollout, sbom, stack
from slipway.config import Config, Environment, Target
from slipway.errors import CheckFailed, DeployFailed, UsageError
from slipway.images import BuiltImage
from slipway.release import Source

MakeImage = Callable[..., BuiltImage]

REVISION = "abcdef0123456789abcdef0123456789abcdef01"
NEW = "slipway/notes:abcdef012345"  # the immutable tag of a clean build at REVISION
OLD = "slipway/notes:0000aaaa1111"
SOURCE = Source(REVISION, False, "2026-11-22T21:59:40+00:00", "")
URL = "http://127.0.0.1:8000"


class _Everything:
    def __contains__(self, _item: object) -> bool:
        return True


class _Stack:
    """Stands in for docker and the rollout: which release serves, what ran.

    ``failures`` are raised by successive rollouts (None: the rollout succeeds).
    A rollout starts the image recorded in the state file, as compose would.
    """

    def __init__(self, config: Config, image: BuiltImage, failures: list[DeployFailed | None]):
        self.config, self.image, self.failures = config, image, failures
        self.serving: str | None = None  # the release the proxy sends traffic to
        self.containers: tuple[str, ...] = ()
        self.built: list[Target] = []
        self.labels: dict[str, str] | None = None
        # What a user would see happen to the stack, in order.
        self.timeline: list[str] = []
        self.started = 0

    # docker and the image

    def client(self, _config: Config, env: Environment | None = None) -> Any:
        return SimpleNamespace(env=env.name if env else None)

    def ensure_engine(self, _docker: Any, *, compose: bool = False) -> None:
        pass

    def ensure_port_free(self, _docker: Any) -> None:
        pass

    def build(self, _docker: Any, _config: Config, target: Target, **options: Any) -> BuiltImage:
        self.built.append(target)
        self.labels = options["labels"]
        return self.image

    def tag(self, _docker: Any, _image: BuiltImage, _ref: str) -> None:
        pass

    # the running stack

    def roll(
        self, _docker: Any, config: Config, env: Environment, ref: str, *, migrations: bool = True
    ) -> rollout.Rollout:
        recorded = stack.deployed_image(config, env)
        assert recorded == ref, f"compose would start {recorded}, not {ref}"
        if migrations:
            self.timeline.append(f"migrate {ref}")
        failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            raise failure
        self.started += 1
        new = (f"slipway-prod-app-{self.started}",)
        old, self.containers, self.serving = self.containers, new, ref
        self.timeline.append(f"serve {ref}")
        return rollout.Rollout(new, old, 0.25)

    def in_place(self, _docker: Any, _config: Config, _env: Environment, ref: str) -> bool:
        return self.serving == ref

    def status(self, _docker: Any) -> list[Any]:
        return [SimpleNamespace(service="app", state="running")] if self.serving else []

    def backup(self, _config: Config, env_name: str) -> Any:
        self.timeline.append(f"backup {env_name}")
        return SimpleNamespace(path=self.config.root / "backups/x.sqlite3", detail="1 note")

    def down(self, _docker: Any, **_options: Any) -> None:
        self.serving, self.containers = None, ()
        self.timeline.append("down")

    def url(self, _docker: Any) -> str:
        return URL if self.serving else "(not published)"


Install = Callable[..., _Stack]


@pytest.fixture
def stack_for(monkeypatch: pytest.MonkeyPatch, config: Config) -> Install:
    def install(image: BuiltImage, failures: list[DeployFailed | None] | None = None) -> _Stack:
        fake = _Stack(config, image, list(failures or []))
        monkeypatch.setattr(deploy.engine, "client", fake.client)
        monkeypatch.setattr(deploy.engine, "ensure_engine", fake.ensure_engine)
        monkeypatch.setattr(deploy.images, "build", fake.build)
        monkeypatch.setattr(deploy.release, "source", lambda _root: SOURCE)
        monkeypatch.setattr(deploy.release, "tag", fake.tag)
        monkeypatch.setattr(deploy.stack, "ensure_port_free", fake.ensure_port_free)
        monkeypatch.setattr(deploy.stack, "down", fake.down)
        monkeypatch.setattr(deploy.stack, "status", fake.status)
        monkeypatch.setattr(deploy.stack, "url", fake.url)
        monkeypatch.setattr(deploy.backup, "backup", fake.backup)
        monkeypatch.setattr(deploy.rollout, "roll", fake.roll)
        monkeypatch.setattr(deploy.rollout, "in_place", fake.in_place)
        # The deploy lock has tests of its own (test_lock.py).
        monkeypatch.setattr(deploy.lock, "held", lambda *_a, **_k: contextlib.nullcontext())
        # Retention has tests of its own (test_retention.py); every image is still there.
        monkeypatch.setattr(deploy.retention, "prune", lambda *_a: retention.Pruned((), (), 0))
        monkeypatch.setattr(deploy.images, "present", lambda *_a: _Everything())
        # The SBOM has tests of its own (test_sbom.py, tests/docker/test_supply_chain.py).
        monkeypatch.setattr(
            deploy.sbom, "write", lambda *_a: sbom.Sbom(config.root / "x.cdx.json", "0" * 64, 1, 1)
        )
        return fake

    return install


@pytest.fixture
def example(project_root: Path) -> Path:
    path = project_root / "env/prod.env.example"
    path.parent.mkdir()
    path.write_text("APP_PORT=8000\n")
    return path


def _running(config: Config, fake: _Stack, ref: str) -> None:
    """``ref`` was deployed earlier and serves now."""
    stack.record_image(config, config.environment("prod"), ref)
    fake.serving, fake.containers = ref, ("slipway-prod-app-0",)


def _recorded(config: Config) -> str | None:
    return stack.deployed_image(config, config.environment("prod"))


def _outcomes(config: Config) -> list[tuple[str, str]]:
    return [(r.image, r.outcome) for r in history.releases(config, config.environment("prod"))]


UNHEALTHY = DeployFailed(
    "app did not become healthy within 90s (health: unhealthy)",
    details="app log: ERROR: database is locked",
)


# --- deploy -------------------------------------------------------------------------


@pytest.mark.usefixtures("example")
def test_deploy_builds_checks_and_rolls_the_stack_onto_the_new_release(
    stack_for: Install, config: Config, make_image: MakeImage
) -> None:
    fake = stack_for(make_image(size=187_650_000))
    _running(config, fake, OLD)
    seen: list[str] = []

    result = deploy.deploy(config, "prod", report=seen.append)

    assert result.environment == "prod"
    assert result.tag == result.image.ref == NEW
    assert result.url == URL
    assert all(check.ok for check in result.checks)
    assert fake.labels is not None
    assert fake.labels["org.opencontainers.image.revision"] == REVISION
    assert seen[0] == "created env/prod.env from its example"
    assert seen[-2:] == [
        f"rolling slipway-prod to {NEW}: 1 new container(s) beside the old, "
        "waiting up to 90s for health before the switch ...",
        "switched the proxy to slipway-prod-app-1 in 0.25s; drained and removed slipway-prod-app-0",
    ]
    assert f"built {NEW} (0123456789ab, 187.7 MB)" in seen
    assert fake.serving == NEW
    assert _recorded(config) == NEW
    (entry,) = history.releases(config, config.environment("prod"))
    assert (entry.image, entry.outcome, entry.switch_seconds) == (NEW, history.OK, 0.25)


@pytest.mark.usefixtures("example")
def test_deploy_with_failing_checks_leaves_the_running_stack_untouched(
    stack_for: Install, config: Config, make_image: MakeImage
) -> None:
    fake = stack_for(make_image(user="0:0", size=262_400_000))

    with pytest.raises(CheckFailed) as caught:
        deploy.deploy(config, "prod", report=lambda _line: None)

    assert str(caught.value) == (
        f"{NEW} runs as 0:0: add a USER; "
        f"{NEW} is 262.4 MB, over its 250 MB budget "
        "(the running stack is untouched)"
    )
    assert fake.timeline == []
    assert not (config.root / ".slipway").exists()


def test_deploy_to_an_unknown_environment_touches_nothing(
    stack_for: Install, config: Config, make_image: MakeImage
) -> None:
    fake = stack_for(make_image())

    with pytest.raises(UsageError, match=r"^unknown environment 'staging'"):
        deploy.deploy(config, "staging", report=lambda _line: None)

    assert fake.built == []
    assert fake.timeline == []


@pytest.mark.usefixtures("example")
def test_unhealthy_deploy_leaves_the_previous_release_serving(
    stack_for: Install, config: Config, make_image: MakeImage
) -> None:
    fake = stack_for(make_image(), [UNHEALTHY])
    _running(config, fake, OLD)

    with pytest.raises(DeployFailed) as caught:
        deploy.deploy(config, "prod", report=lambda _line: None)

    assert str(caught.value) == (
        f"{UNHEALTHY}; {OLD} kept serving and no request reached the new release"
    )
    assert caught.value.details == "app log: ERROR: database is locked"
    assert fake.serving == OLD
    assert _recorded(config) == OLD
    assert _outcomes(config) == [(NEW, history.FAILED)]
    assert history.releases(config, config.environment("prod"))[0].detail == str(UNHEALTHY)


@pytest.mark.usefixtures("example")
def test_unhealthy_deploy_over_a_stopped_stack_starts_the_previous_release_again(
    stack_for: Install, config: Config, make_image: MakeImage
) -> None:
    stack.record_image(config, config.environment("prod"), OLD)  # recorded, not serving
    fake = stack_for(make_image(), [UNHEALTHY, None])
    seen: list[str] = []

    with pytest.raises(DeployFailed) as caught:
        deploy.deploy(config, "prod", report=seen.append)

    assert str(caught.value) == f"{UNHEALTHY}; rolled back to {OLD}, which is serving again"
    assert caught.value.details == UNHEALTHY.details
    assert f"the new release failed ({UNHEALTHY}); starting {OLD} again ..." in seen
    assert fake.serving == OLD
    assert _recorded(config) == OLD
    assert _outcomes(config) == [(NEW, history.FAILED), (OLD, history.ROLLED_BACK)]


@pytest.mark.usefixtures("example")
def test_unhealthy_first_deploy_takes_the_stack_down(
    stack_for: Install, config: Config, make_image: MakeImage
) -> None:
    fake = stack_for(make_image(), [UNHEALTHY])

    with pytest.raises(DeployFailed) as caught:
        deploy.deploy(config, "prod", report=lambda _line: None)

    assert str(caught.value) == (
        f"{UNHEALTHY}; no earlier release to go back to, so the stack was taken down "
        "(data volumes kept)"
    )
    assert caught.value.details == UNHEALTHY.details
    assert fake.timeline[-1] == "down"
    assert _recorded(config) is None
    assert _outcomes(config) == [(NEW, history.FAILED)]


@pytest.mark.usefixtures("example")
def test_failed_restart_of_the_previous_release_says_both_failures(
    stack_for: Install, config: Config, make_image: MakeImage
) -> None:
    stack.record_image(config, config.environment("prod"), OLD)  # recorded, not serving
    again = DeployFailed("migrate exited with code 1: ERROR boom", details="migrate log: boom")
    stack_for(make_image(), [UNHEALTHY, again])

    with pytest.raises(DeployFailed) as caught:
        deploy.deploy(config, "prod", report=lambda _line: None)

    assert str(caught.value) == f"{UNHEALTHY}; starting {OLD} failed too: {again}"
    assert caught.value.details == f"{UNHEALTHY.details}\n{again.details}"
    assert _outcomes(config) == [(NEW, history.FAILED)]


@pytest.mark.usefixtures("example")
def test_a_new_release_over_a_running_stack_is_preceded_by_a_backup(
    config: Config, stack_for: Install, make_image: MakeImage
) -> None:
    fake = stack_for(make_image())
    _running(config, fake, OLD)
    seen: list[str] = []

    deploy.deploy(config, "prod", report=seen.append)

    assert fake.timeline == ["backup prod", f"migrate {NEW}", f"serve {NEW}"]
    assert "backed up prod to backups/x.sqlite3 (1 note)" in seen


@pytest.mark.usefixtures("example")
def test_a_new_release_over_a_stopped_stack_takes_no_backup(
    config: Config, stack_for: Install, make_image: MakeImage
) -> None:
    stack.record_image(config, config.environment("prod"), OLD)  # recorded, not running
    fake = stack_for(make_image())

    deploy.deploy(config, "prod", report=lambda _line: None)

    assert "backup prod" not in fake.timeline
    assert fake.serving == NEW


@pytest.mark.usefixtures("example")
def test_redeploying_the_running_release_takes_no_backup(
    config: Config, stack_for: Install, make_image: MakeImage
) -> None:
    fake = stack_for(make_image())
    _running(config, fake, NEW)

    deploy.deploy(config, "prod", report=lambda _line: None)

    assert "backup prod" not in fake.timeline
    assert fake.serving == NEW


# --- rollback -----------------------------------------------------------------------


def test_rollback_puts_back_the_newest_earlier_good_release_without_migrating(
    stack_for: Install, config: Config, make_image: MakeImage
) -> None:
    prod = config.environment("prod")
    history.record(config, prod, OLD, "sha256:old", history.OK)
    history.record(config, prod, "slipway/notes:bad", "sha256:bad", history.FAILED)
    history.record(config, prod, NEW, "sha256:new", history.OK)
    fake = stack_for(make_image())
    _running(config, fake, NEW)

    url = deploy.rollback(config, "prod", report=lambda _line: None)

    assert url == URL
    # An older release's migrations would not know the newer schema: none run.
    assert fake.timeline == [f"serve {OLD}"]
    assert fake.serving == OLD
    assert _recorded(config) == OLD
    last = history.releases(config, prod)[-1]
    assert (last.image, last.image_id, last.outcome) == (OLD, "sha256:old", history.ROLLBACK)
    assert last.switch_seconds == 0.25


def test_rollback_without_an_earlier_good_release_is_refused(
    stack_for: Install, config: Config, make_image: MakeImage
) -> None:
    prod = config.environment("prod")
    history.record(config, prod, "slipway/notes:bad", "sha256:bad", history.FAILED)
    history.record(config, prod, NEW, "sha256:new", history.OK)
    fake = stack_for(make_image())
    _running(config, fake, NEW)

    with pytest.raises(UsageError) as caught:
        deploy.rollback(config, "prod", report=lambda _line: None)

    assert str(caught.value) == "prod has no earlier healthy release to roll back to"
    assert fake.timeline == []
    assert _recorded(config) == NEW


def test_failed_rollback_keeps_the_current_release_serving(
    stack_for: Install, config: Config, make_image: MakeImage
) -> None:
    prod = config.environment("prod")
    history.record(config, prod, OLD, "sha256:old", history.OK)
    history.record(config, prod, NEW, "sha256:new", history.OK)
    fake = stack_for(make_image(), [UNHEALTHY])
    _running(config, fake, NEW)

    with pytest.raises(DeployFailed) as caught:
        deploy.rollback(config, "prod", report=lambda _line: None)

    assert str(caught.value) == f"{UNHEALTHY}; {NEW} kept serving"
    assert caught.value.details == UNHEALTHY.details
    assert fake.serving == NEW
    assert _recorded(config) == NEW
    assert history.releases(config, prod)[-1].outcome == history.OK
