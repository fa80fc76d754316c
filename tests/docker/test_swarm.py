"""An environment on a multi-node Docker Swarm (issue 24, its first part):
`orchestrator: swarm`, the release pushed to a registry and deployed by
digest, rolled out in phases, and the truth of what Swarm did read back.

The swarm is two docker:26-dind nodes and a registry:2 on a network this
module creates (bench/cluster.py); this host reaches the manager's engine
and its proxy over loopback. The environment runs the reference stack on
PostgreSQL and Redis, with quicker health checks than the image's own:
Swarm watches every update for interval x retries + start period (6 s
here, 60 s with the image's check).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator

import pytest
import yaml
from python_on_whales import docker

from bench.cluster import Cluster, swarm
from bench.traffic import Traffic
from tests.docker.conftest import (
    HEALTH,
    Project,
    assert_no_request_failed,
    commit_change,
    git,
    http,
    make_project,
    same_note,
    unhealthy_release,
)

pytestmark = pytest.mark.docker

ENV = "cluster"
# What the manager runs besides the release, as a server that pulled them has them.
IMAGES = ("haproxy:3.0", "postgres:17", "redis:8")
QUICK_CHECKS = """\
# The cluster tests' own: health checks quick enough that Swarm's monitor
# window (interval x retries + start period) is 6 s, not the image's 60 s.
x-quick: &quick
  interval: 1s
  timeout: 2s
  retries: 3
  start_period: 3s
  start_interval: 1s
services:
  app:
    healthcheck:
      test: ["CMD", "python", "/usr/local/lib/slipway/healthcheck.py"]
      <<: *quick
  worker:
    healthcheck:
      test: ["CMD", "python", "/usr/local/lib/slipway/heartbeat.py"]
      <<: *quick
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with swarm(IMAGES) as made:
        yield made


FILES = ["compose/base.yaml", "compose/prod.yaml", "compose/postgres.yaml", "compose/quick.yaml"]


def _environment(cluster: Cluster, **changes: object) -> dict[str, object]:
    spec: dict[str, object] = {
        "target": "prod",
        "compose_files": FILES,
        "env_file": "env/cluster.env",
        "health_timeout": 60,
        "replicas": 2,
        "engine": cluster.address,
        "orchestrator": "swarm",
        "registry": cluster.registry,
        "build": "local",
        "roles": {"worker": {"singleton": True}},
    }
    return spec | changes


@pytest.fixture(scope="module")
def project(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Project:
    made = make_project(tmp_path_factory.mktemp("swarm"))
    copy = Project(made.root, made.name, made.image, cluster.app_port)
    (copy.root / "compose/quick.yaml").write_text(QUICK_CHECKS)
    (copy.root / "env/cluster.env.example").write_text(f"APP_PORT={cluster.app_port}\n")
    (copy.root / "compose/host-pid.yaml").write_text("services:\n  app:\n    pid: host\n")
    path = copy.root / "slipway.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["environments"] = {
        ENV: _environment(cluster),
        # SQLite: base and prod alone.
        "on-sqlite": _environment(
            cluster, compose_files=["compose/base.yaml", "compose/prod.yaml"]
        ),
        # The swarm's other node, a worker.
        "on-worker": _environment(cluster, engine=cluster.addresses[1]),
        "host-pid": _environment(cluster, compose_files=[*FILES, "compose/host-pid.yaml"]),
    }
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    git(copy.root, "add", "-A")
    git(copy.root, "commit", "-qm", "a swarm environment")
    # Nothing to take down afterwards: everything runs inside the swarm's
    # nodes, which go with it, and the images built here go with the session.
    return copy


def _services(cluster: Cluster) -> list[str]:
    return sorted(str(s.spec.name) for s in cluster.manager.service.list())


def _refused(project: Project, env: str) -> str:
    result = project.invoke("deploy", "--env", env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_what_a_swarm_cannot_run_is_refused_in_one_line_before_anything_runs(
    project: Project, cluster: Cluster
) -> None:
    sqlite = _refused(project, "on-sqlite")
    assert "DATABASE_URL is SQLite" in sqlite
    assert "use PostgreSQL" in sqlite
    worker = _refused(project, "on-worker")
    assert "is a worker of its swarm, not a manager" in worker
    pid = _refused(project, "host-pid")
    assert "service app sets pid, which a swarm cannot honour" in pid
    settings = yaml.safe_load((project.root / "slipway.yaml").read_text())
    del settings["environments"][ENV]["registry"]
    (project.root / "slipway.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    try:
        missing = _refused(project, ENV)
    finally:
        git(project.root, "checkout", "slipway.yaml")
    assert "environments.cluster.orchestrator: swarm needs a registry" in missing
    assert _services(cluster) == []


@pytest.fixture(scope="module")
def first_deploy(project: Project) -> str:
    return project.ok("deploy", "--env", ENV)


def _app_tasks(project: Project, service: str = "app") -> list[list[str]]:
    """`status`'s rows of a service's tasks: service, node, state, health, image, digest."""
    out = project.ok("status", "--env", ENV)
    return [line.split() for line in out.splitlines() if line.startswith(f"{service} ")]


def _registry_digest(cluster: Cluster, project: Project) -> str:
    """The digest the registry holds for the release the environment records."""
    release = project.ok("history", "--env", ENV).strip().splitlines()[-1].split()[1]
    remote = f"{cluster.registry}/{release}"
    digests = cluster.manager.image.inspect(remote).repo_digests
    return digests[0].partition("@sha256:")[2][:12]


def test_a_deploy_serves_from_tasks_on_both_nodes_by_digest(
    project: Project, cluster: Cluster, first_deploy: str
) -> None:
    assert f"is healthy at http://127.0.0.1:{cluster.app_port}" in first_deploy
    assert "migrate ran once and exited 0" in first_deploy
    assert "sidecars healthy on" in first_deploy
    status, note = http("POST", f"{project.url}/notes", {"text": "one two three"})
    assert status == 201
    assert same_note(http("GET", f"{project.url}/notes/{note['id']}"), note)
    tasks = _app_tasks(project)
    assert len(tasks) == 2
    assert {t[1] for t in tasks} == {*_node_names(cluster)}
    assert {t[2] for t in tasks} == {"running"}
    assert {t[5] for t in tasks} == {_registry_digest(cluster, project)}


def _node_names(cluster: Cluster) -> list[str]:
    return [str(n.description.hostname) for n in cluster.manager.node.list()]


@pytest.mark.usefixtures("first_deploy")
def test_a_deploy_killed_mid_way_leaves_no_lock_and_the_next_rolls_out_failing_no_request(
    project: Project, cluster: Cluster
) -> None:
    before = {t[5] for t in _app_tasks(project)}
    commit_change(project, HEALTH, (project.root / HEALTH).read_text() + "\n# v2\n", "v2")
    # Killed once the release is pushed: the lock held, nothing deployed yet.
    deploying = project.popen("deploy", "--env", ENV)
    assert deploying.stdout is not None
    for line in deploying.stdout:
        if line.startswith("pushed "):
            break
    os.kill(deploying.pid, signal.SIGKILL)
    deploying.wait()
    with Traffic(project.url, clients=4, min_seconds=20) as load:
        out = project.ok("deploy", "--env", ENV)
    assert_no_request_failed(load)
    assert f"released a stale deploy lock of {ENV}" in out
    assert "every task of app runs" in out
    after = {t[5] for t in _app_tasks(project)}
    assert after == {_registry_digest(cluster, project)}
    assert after != before


def _history(project: Project) -> list[str]:
    """The last row of `history`: time, image, id, outcome..."""
    return project.ok("history", "--env", ENV).strip().splitlines()[-1].split()


def _serving(project: Project) -> str:
    """The release the last successful deploy rolled out."""
    rows = [r.split() for r in project.ok("history", "--env", ENV).strip().splitlines()]
    return [r for r in rows if r[3] == "ok"][-1][1]


def _assert_rolled_back(
    project: Project,
    result: subprocess.CompletedProcess[str],
    serving: set[str],
    ref: str,
) -> None:
    """The deploy failed saying Swarm rolled back and what runs again, every
    task runs the digest it ran before, and the history says failed."""
    assert result.returncode == 1, result.stdout + result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("slipway: Swarm rolled the update of app back"), line
    assert line.endswith(f"; every task of app, worker runs {ref} again"), line
    assert {t[5] for t in _app_tasks(project)} == serving
    assert {t[5] for t in _app_tasks(project, "worker")} == serving
    assert _history(project)[3] == "failed"


@pytest.mark.usefixtures("first_deploy")
def test_a_release_that_never_gets_healthy_is_rolled_back_by_swarm_and_the_deploy_fails(
    project: Project,
) -> None:
    serving, ref = {t[5] for t in _app_tasks(project)}, _serving(project)
    with unhealthy_release(project), Traffic(project.url, clients=4, min_seconds=20) as load:
        result = project.invoke("deploy", "--env", ENV)
    _assert_rolled_back(project, result, serving, ref)
    # It never took a request: the proxy checks a server before sending it any.
    assert_no_request_failed(load)


@pytest.mark.usefixtures("first_deploy")
def test_an_unreachable_registry_is_one_line_and_nothing_running_is_touched(
    project: Project, cluster: Cluster
) -> None:
    serving = _app_tasks(project)
    commit_change(project, HEALTH, (project.root / HEALTH).read_text() + "# v3\n", "v3")
    docker.container.stop(cluster.registry_container)
    try:
        line = _refused(project, ENV)
    finally:
        docker.container.start(cluster.registry_container)
    assert line.startswith("slipway: could not push"), line
    assert "to the registry registry:5000 from" in line
    assert "kept serving and no request reached the new release" in line
    assert _app_tasks(project) == serving
