"""The release's roles: slipway.yaml's `roles`, what slipway's compose file
gives them, the heartbeat probe, the singleton's lease, the policy's rule."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from slipway.checks import policy
from slipway.config import Config, load
from slipway.engine import mounts
from slipway.errors import ConfigError, UsageError
from slipway.handle import Handle
from tests.unit.conftest import WriteConfig, load_template

heartbeat = load_template("heartbeat")
entrypoint = load_template("entrypoint")

COMPOSE = """
x-app: &app
  image: ${SLIPWAY_IMAGE:?}
services:
  migrate:
    <<: *app
    restart: "no"
  app:
    <<: *app
    depends_on: {migrate: {condition: service_completed_successfully}}
  worker:
    <<: *app
    command: [run, worker]
  beat:
    <<: *app
    healthcheck: {test: [CMD, pgrep, beat]}
  seed:
    <<: *app
  redis:
    image: redis:8
  proxy:
    image: haproxy:3.0
    depends_on:
      app: {condition: service_started}
      seed: {condition: service_completed_successfully}
"""


@pytest.fixture
def staffed(project_root: Path, write_config: WriteConfig, config_data: dict[str, Any]) -> Config:
    (project_root / "compose/base.yaml").write_text(COMPOSE)
    config_data["environments"]["prod"]["roles"] = {
        "worker": {"singleton": True},
        "beat": {"replicas": 2},
    }
    return load(write_config(config_data))


def test_the_roles_are_the_services_running_the_release_image_but_the_web_one_and_jobs(
    staffed: Config,
) -> None:
    env = staffed.environment("prod")
    assert mounts.declared(env.compose_files).roles("app", "migrate") == ["beat", "worker"]
    assert env.roles["worker"].singleton
    assert env.roles["beat"].replicas == 2


def test_slipways_compose_file_gives_a_role_its_heartbeat_and_a_singleton_its_lease(
    staffed: Config,
) -> None:
    env = staffed.environment("prod")
    written = yaml.safe_load(mounts.text(staffed, env).replace("!override", ""))
    worker, beat = written["services"]["worker"], written["services"]["beat"]
    assert worker["environment"] == {
        "HEARTBEAT_FILE": "/run/slipway/heartbeat",
        "SLIPWAY_LEASE": "/var/lib/slipway/leases/worker",
    }
    assert worker["tmpfs"] == ["/run/slipway"]
    assert worker["healthcheck"]["test"] == ["CMD", "python", "/usr/local/lib/slipway/heartbeat.py"]
    assert worker["volumes"] == [
        {"type": "volume", "source": "slipway-leases", "target": "/var/lib/slipway/leases"}
    ]
    # Its own check is kept; not a singleton: no lease.
    assert "healthcheck" not in beat
    assert beat["environment"] == {"HEARTBEAT_FILE": "/run/slipway/heartbeat"}
    assert written["volumes"]["slipway-leases"] == {"name": "slipway-prod-leases"}


def test_a_sidecar_that_names_no_network_is_on_an_internal_one_every_role_reaches(
    staffed: Config,
) -> None:
    env = staffed.environment("prod")
    written = yaml.safe_load(mounts.text(staffed, env).replace("!override", ""))
    services = written["services"]
    assert services["redis"]["networks"] == ["slipway-sidecars"]
    for reaching in ("app", "migrate", "worker", "beat", "seed"):
        assert services[reaching]["networks"] == {"default": {}, "slipway-sidecars": {}}
    assert "networks" not in services["proxy"]
    assert written["networks"] == {"slipway-sidecars": {"internal": True}}


@pytest.mark.usefixtures("staffed")
def test_a_singleton_with_replicas_and_a_role_compose_lacks_are_refused(
    write_config: WriteConfig, config_data: dict[str, Any]
) -> None:
    config_data["environments"]["prod"]["roles"] = {"worker": {"singleton": True, "replicas": 2}}
    with pytest.raises(ConfigError, match=r"roles\.worker\.replicas: a singleton runs one"):
        load(write_config(config_data))
    config_data["environments"]["prod"]["roles"] = {"cron": {}}
    with pytest.raises(ConfigError, match=r"roles\.cron: 'cron' is not a role of prod's compose"):
        load(write_config(config_data))


def test_a_role_is_named_by_its_service_and_the_web_one_also_as_web(staffed: Config) -> None:
    at = Handle(staffed, staffed.environment("prod"), None, None, print)  # type: ignore[arg-type]
    assert at.role(None) == at.role("web") == at.role("app") == "app"
    assert at.role("worker") == "worker"
    with pytest.raises(UsageError) as caught:
        at.role("cron")
    assert str(caught.value) == "prod has no role 'cron': its roles are app (web), beat, worker"


# --- the policy ---------------------------------------------------------------


def _service(**extra: Any) -> dict[str, Any]:
    return {"image": "slipway/notes:prod", **extra}


def test_the_policy_refuses_a_role_with_the_web_roles_http_check() -> None:
    heartbeat_check = {"test": ["CMD", "python", policy.HEARTBEAT_PROBE]}
    model = {
        "services": {
            "app": _service(),
            "inherits": _service(),
            "curls": _service(healthcheck={"test": ["CMD", "curl", "http://127.0.0.1/"]}),
            "beats": _service(healthcheck=heartbeat_check),
        }
    }
    results = policy.check(model, env_name="prod", own_image="slipway/notes", web="app")
    rule = "policy: heartbeat healthcheck"
    broken = {r.detail.split(":")[1].strip() for r in results if r.name == rule}
    assert broken == {"inherits", "curls"}
    assert not any("app: heartbeat" in r.detail or "beats: heartbeat" in r.detail for r in results)


# --- the heartbeat probe ------------------------------------------------------


@pytest.fixture
def watchdog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The probe's watchdog with its files in tmp_path and kills recorded."""
    probe = heartbeat.WATCHDOG
    killed: list[int] = []
    monkeypatch.setattr(probe, "COUNTER", tmp_path / "failures")
    monkeypatch.setattr(probe, "SERVED", tmp_path / "served")
    monkeypatch.setattr(probe, "container_start", lambda: "42")
    monkeypatch.setattr(probe, "server_pids", lambda: [7])
    monkeypatch.setattr(probe.os, "kill", lambda pid, _sig: killed.append(pid))
    monkeypatch.setenv("HEARTBEAT_FILE", str(tmp_path / "heartbeat"))
    monkeypatch.setenv("HEARTBEAT_MAX_AGE", "10")
    return SimpleNamespace(file=tmp_path / "heartbeat", killed=killed)


def test_a_fresh_heartbeat_is_healthy_and_a_stale_one_is_killed_at_the_third(
    watchdog: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    watchdog.file.touch()
    assert heartbeat.main() == 0
    old = time.time() - 25
    os.utime(watchdog.file, (old, old))
    assert [heartbeat.main() for _ in range(3)] == [1, 1, 1]
    assert watchdog.killed == [7]
    said = capsys.readouterr().out.splitlines()
    assert said[0] == f"the heartbeat at {watchdog.file} is 25s old (limit 10s) (1 in a row)"
    assert said[-1] == "watchdog: killing hung server process 7"


def test_a_role_that_never_beat_is_unhealthy_but_never_killed(
    watchdog: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(heartbeat.WATCHDOG, "container_age", lambda: 5.0)
    assert [heartbeat.main() for _ in range(4)] == [1, 1, 1, 1]
    assert watchdog.killed == []


# --- the singleton's lease ----------------------------------------------------


def test_the_lease_is_held_until_its_holder_lets_go_and_each_taking_fences_higher(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "worker")
    first, token = entrypoint.take_lease(path)
    assert token == 1
    assert os.get_inheritable(first)
    taken: list[int] = []
    second = threading.Thread(target=lambda: taken.append(entrypoint.take_lease(path)[1]))
    second.start()
    time.sleep(0.3)
    assert taken == []  # waiting: the first holds it
    os.close(first)
    second.join(5)
    assert taken == [2]
    assert Path(path).read_text() == "2\n"


def test_a_command_gets_the_fencing_token_and_an_unopenable_lease_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[dict[str, str]] = []
    monkeypatch.setattr(entrypoint.os, "execvpe", lambda _f, _argv, env: ran.append(env))
    lease = str(tmp_path / "worker")
    assert entrypoint.main(["work"], {"SLIPWAY_LEASE": lease}) == 0
    assert int(ran[0]["SLIPWAY_FENCING_TOKEN"]) == 1
    missing = str(tmp_path / "nowhere/worker")
    assert entrypoint.main(["work"], {"SLIPWAY_LEASE": missing}) == entrypoint.EX_CONFIG
    assert capsys.readouterr().err == (
        f"entrypoint: SLIPWAY_LEASE={missing}: cannot be opened (No such file or directory)\n"
    )
    # Run by `slipway exec` beside the holder: no lease is taken.
    assert entrypoint.main(["sh"], {"SLIPWAY_LEASE": ""}) == 0
    assert "SLIPWAY_FENCING_TOKEN" not in ran[-1]
