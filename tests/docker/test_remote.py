"""An environment on another engine (issue 21, its first part): `engine:` in
slipway.yaml, nothing of the checkout bind-mounted, the secrets kept there.

The remote is a docker:26-dind container on a network this module creates,
reached from this host only over loopback (its API on a free 127.0.0.1
port), with the base images the project builds on loaded into it. Requests
to the remote's proxy go from a container the test runs in the remote's own
network namespace: its proxy publishes on the remote's loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from python_on_whales import DockerClient, docker

from bench.cluster import wait_for
from bench.traffic import Traffic
from tests.docker.conftest import (
    Project,
    assert_no_request_failed,
    commit_change,
    free_port,
    git,
    http,
    make_project,
    remove_project,
    same_note,
)

pytestmark = pytest.mark.docker

BASE_IMAGES = (
    "python:3.13-slim-trixie",
    "ghcr.io/astral-sh/uv:0.13.9",
    "haproxy:3.0",
    "postgres:17",
    "redis:8",
)
PYTHON = BASE_IMAGES[0]
# The labels compose puts on every container it makes, with paths of the
# machine compose ran on.
COMPOSE_LABELS = ("config_files", "environment_file", "working_dir")


# The remote: the docker:26-dind stand-in with an SSH server beside its
# engine, so the same engine answers over tcp:// and over ssh://.
SSH_NODE = """\
FROM docker:26-dind
RUN apt-get update \\
 && apt-get install -y --no-install-recommends openssh-server \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir -p /run/sshd /root/.ssh && chmod 700 /root/.ssh
COPY --chmod=755 <<'SH' /usr/local/bin/dockerd-and-sshd
#!/bin/sh
/usr/sbin/sshd -e
exec dockerd-entrypoint.sh "$@"
SH
ENTRYPOINT ["dockerd-and-sshd"]
"""
# The `ssh` the docker CLI runs, first on PATH: this test's key, no host key
# to trust (a new node each run), never a prompt. The user's own ~/.ssh is
# left alone.
SSH_WRAPPER = """\
#!/bin/sh
exec /usr/bin/ssh -i {key} -o IdentitiesOnly=yes -o BatchMode=yes \\
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$@"
"""


@dataclass(frozen=True)
class Remote:
    """A second engine: its addresses for slipway.yaml, a client of it, and
    the PATH under which ssh uses the key it trusts (or one it refuses)."""

    address: str
    ssh: str
    client: DockerClient
    ssh_path: str
    wrong_key_path: str
    # A port the remote publishes on its own host, which this host reaches
    # on its loopback (the remote's proxy listens there with listen: 0.0.0.0).
    app_port: int

    def request(self, port: int, method: str, path: str, body: dict[str, str] | None = None):
        """An HTTP request to the remote's 127.0.0.1:port, from a container in
        the remote's network namespace: (status, JSON body)."""
        code = (
            "import json, sys, urllib.request as u\n"
            f"r = u.Request('http://127.0.0.1:{port}{path}', method={method!r}, "
            f"data={json.dumps(body).encode() if body else None!r}, "
            "headers={'Content-Type': 'application/json'})\n"
            "with u.urlopen(r, timeout=10) as a: print(a.status); print(a.read().decode())\n"
        )
        out = str(
            self.client.run(
                PYTHON, ["python", "-c", code], networks=["host"], remove=True, pull="never"
            )
        )
        status, _, text = out.partition("\n")
        return int(status), json.loads(text)


def _ssh_path(folder: Path, name: str) -> str:
    """A PATH whose `ssh` uses a new key ``name`` in ``folder``; the key's
    public half is ``folder/name.pub``."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", folder / name], check=True)
    bin_dir = folder / f"{name}-bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text(SSH_WRAPPER.format(key=folder / name))
    (bin_dir / "ssh").chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    name = f"slipway-test-remote-{uuid.uuid4().hex[:6]}"
    folder = tmp_path_factory.mktemp("ssh")
    (folder / "Dockerfile").write_text(SSH_NODE)
    image = f"slipway-test/dind-ssh:{name.rpartition('-')[2]}"
    docker.build(folder, tags=[image], progress=False)
    ssh_path, wrong_key_path = _ssh_path(folder, "key"), _ssh_path(folder, "wrong")
    port, ssh_port, app_port = free_port(), free_port(), free_port()
    network = docker.network.create(name)
    node = docker.run(
        image,
        name=name,
        privileged=True,
        networks=[network],
        publish=[
            (f"127.0.0.1:{port}", 2375),
            (f"127.0.0.1:{ssh_port}", 22),
            (f"127.0.0.1:{app_port}", app_port),
        ],
        detach=True,
        pull="never",
    )
    try:
        client = DockerClient(host=f"tcp://127.0.0.1:{port}")
        wait_for(client)
        docker.container.copy(folder / "key.pub", (node, "/root/.ssh/authorized_keys"))
        # The base images, as a server that pulled them would have them.
        save = subprocess.Popen(["docker", "save", *BASE_IMAGES], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "--host", f"tcp://127.0.0.1:{port}", "load", "-q"],
            stdin=save.stdout,
            check=True,
            capture_output=True,
        )
        assert save.wait() == 0
        yield Remote(
            f"tcp://127.0.0.1:{port}",
            f"ssh://root@127.0.0.1:{ssh_port}",
            client,
            ssh_path,
            wrong_key_path,
            app_port,
        )
    finally:
        docker.container.remove(node, force=True, volumes=True)
        docker.network.remove(network)


def _on(project: Project, engine: str, env: str = "prod") -> None:
    """Point an environment of the copy at ``engine``, its proxy published on
    every address of the engine's host, committed."""
    path = project.root / "slipway.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["environments"][env].update(engine=engine, listen="0.0.0.0")
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    git(project.root, "commit", "-qam", f"{env} runs on {engine}")


@pytest.fixture(scope="module")
def on_remote(remote: Remote, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    made = make_project(tmp_path_factory.mktemp("remote"))
    copy = Project(made.root, made.name, made.image, remote.app_port)
    _on(copy, remote.address)
    yield copy
    remove_project(copy)


@contextmanager
def _changed(path: Path, text: str) -> Iterator[None]:
    """``path`` holds ``text`` for the block, then what it held before."""
    before = path.read_text()
    path.write_text(text)
    try:
        yield
    finally:
        path.write_text(before)


def _inspected(remote: Remote) -> str:
    """Every container's `docker inspect` on the remote, as the CLI prints it."""
    ids = [c.id for c in remote.client.container.list(all=True)]
    argv = ["docker", "--host", remote.address, "container", "inspect", *ids]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def first_deploy(on_remote: Project) -> str:
    """The copy's first deploy onto the remote: what it printed."""
    return on_remote.ok("deploy", "--env", "prod")


def test_deploy_onto_a_remote_engine_serves_from_there_with_nothing_mounted_from_here(
    remote: Remote, on_remote: Project, first_deploy: str
) -> None:
    out = first_deploy

    assert f"prod's engine ({remote.address}) now keeps the secret(s) secret_key" in out
    assert "prod is healthy" in out
    # Served by the remote's engine, and only there.
    status, note = remote.request(on_remote.port, "POST", "/notes", {"text": "far away"})
    assert status == 201
    assert remote.request(on_remote.port, "GET", f"/notes/{note['id']}")[1]["text"] == "far away"
    project = f"{on_remote.name}-prod"
    here = docker.container.list(
        all=True, filters=[("label", f"com.docker.compose.project={project}")]
    )
    assert here == []
    names = {c.name for c in remote.client.container.list(all=True)}
    assert {f"{project}-proxy-1", f"{project}-state"} <= names
    # No path of the checkout, and no secret's value, in any container there.
    inspected = _inspected(remote)
    secret = (on_remote.root / "secrets/secret_key").read_text().strip()
    assert secret not in inspected
    # compose's own labels say where its files were on the machine that ran
    # it (config_files, environment_file, working_dir): nothing else does.
    paths = {ln.strip() for ln in inspected.splitlines() if str(on_remote.root) in ln}
    assert paths, "compose labels its containers with its files"
    assert {p.partition('":')[0] for p in paths} == {
        f'"com.docker.compose.project.{label}' for label in COMPOSE_LABELS
    }, paths
    assert '"Type": "bind"' not in inspected
    # slipway status answers from the remote.
    # doctor checks the remote itself: its engine, images, disk and secrets.
    doctor = {r["name"]: r for r in json.loads(on_remote.ok("doctor", "--env", "prod", "--json"))}
    assert doctor["engine prod"]["detail"].endswith(f" at {remote.address}")
    assert doctor["image haproxy:3.0 on prod"]["detail"] == "present"
    assert doctor["secrets prod"]["detail"] == "the engine keeps secret_key"
    assert "secret secrets/secret_key" not in doctor  # the engine's copy counts
    assert all(r["ok"] for r in doctor.values()), doctor
    rows = [ln.split() for ln in on_remote.ok("status", "--env", "prod").splitlines()]
    proxy = next(row for row in rows if row[0] == "proxy")
    assert proxy[1:4] == ["running", "healthy", "haproxy:3.0"]
    assert proxy[-1] == f"0.0.0.0:{on_remote.port}->8080/tcp"
    # listen: 0.0.0.0 publishes it beyond the remote's loopback: this host
    # reaches it through the port the remote's own host publishes.
    assert same_note(http("GET", f"{on_remote.url}/notes/{note['id']}"), note)
    assert [row[1:3] for row in rows if row[0] == "app"] == [["running", "healthy"]] * 2


@pytest.mark.usefixtures("first_deploy")
def test_a_checkout_whose_secret_differs_from_the_remote_s_is_refused_before_anything_runs(
    remote: Remote, on_remote: Project
) -> None:
    secret = on_remote.root / "secrets/secret_key"
    running = sorted(c.id for c in remote.client.container.list())
    with _changed(secret, "another value\n"):
        result = on_remote.invoke("deploy", "--env", "prod")

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"slipway: secrets/secret_key differs from the secret secret_key that prod's engine "
        f"({remote.address}) keeps: delete secrets/secret_key to deploy with the engine's"
    ], result.stderr
    assert sorted(c.id for c in remote.client.container.list()) == running
    with _changed(secret, "another value\n"):
        doctor = on_remote.invoke("doctor", "--env", "prod", "--json")
    assert doctor.returncode == 1
    (row,) = [r for r in json.loads(doctor.stdout) if r["name"] == "secrets prod"]
    assert (row["ok"], row["detail"]) == (False, lines[0].removeprefix("slipway: "))
    # Deleted here, the engine's value serves the next deploy from this checkout.
    secret.unlink()
    out = on_remote.ok("deploy", "--env", "prod")
    assert "nothing to roll" in out
    assert not secret.exists()


def _tag(project: Project) -> str:
    """The release the copy's HEAD builds: <image>:<commit, 12 hex digits>."""
    head = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return f"{project.image}:{head}"


@pytest.mark.usefixtures("first_deploy")
def test_a_second_checkout_over_ssh_sees_the_remote_s_secrets_history_and_rollback_target(
    remote: Remote, on_remote: Project, tmp_path: Path
) -> None:
    first = _tag(on_remote)
    _, note = remote.request(on_remote.port, "POST", "/notes", {"text": "from the first"})
    subprocess.run(["git", "clone", "-q", on_remote.root, tmp_path / "second"], check=True)
    second = Project(tmp_path / "second", on_remote.name, on_remote.image, on_remote.port)
    # The same engine, reached over ssh:// this time.
    _on(second, remote.ssh)
    commit_change(second, Path("service/CHANGES.md"), "A second release.\n", "a second release")

    # A redeploy onto a new committed release under load, from this host
    # through the remote's published port.
    with Traffic(second.url, clients=4) as load:
        out = second.ok("deploy", "--env", "prod", PATH=remote.ssh_path)
    assert_no_request_failed(load)

    # Its secret is the remote's: nothing made here, nothing sent.
    assert "secret" not in out
    assert not (second.root / "secrets").exists()
    assert remote.request(on_remote.port, "GET", f"/notes/{note['id']}")[1]["text"] == (
        "from the first"
    )
    history = json.loads(second.ok("history", "--env", "prod", "--json", PATH=remote.ssh_path))
    assert [(row["image"], row["outcome"]) for row in history][-2:] == [
        (first, "ok"),
        (_tag(second), "ok"),
    ]
    # Rolled back from the second checkout: to the first one's release.
    rolled = second.ok("rollback", "--env", "prod", PATH=remote.ssh_path)
    assert f"rolling back to {first}" in rolled

    # The first checkout's .slipway/ gone, nothing is lost: the engine keeps it.
    shutil.rmtree(on_remote.root / ".slipway")
    history = json.loads(on_remote.ok("history", "--env", "prod", "--json"))
    assert [(row["image"], row["outcome"]) for row in history][-1] == (first, "rollback")
    refused = on_remote.invoke("rollback", "--env", "prod")
    assert refused.returncode == 1
    assert f"prod has no release before {first} to roll back to" in refused.stderr


@pytest.mark.parametrize(
    ("engine", "said"),
    [
        ("tcp://127.0.0.1:{closed}", "cannot reach the Docker daemon at tcp://127.0.0.1:{closed}"),
        ("no-such-context", "docker context no-such-context does not exist here"),
        ("{ssh}", "{ssh} refused this machine's SSH key (root@127.0.0.1: Permission denied"),
    ],
)
def test_an_engine_that_cannot_be_reached_is_one_line(
    remote: Remote, on_remote: Project, engine: str, said: str
) -> None:
    closed = free_port()
    copy = Project(on_remote.root, on_remote.name, on_remote.image, on_remote.port)
    path = copy.root / "slipway.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["environments"]["prod"]["engine"] = engine.format(closed=closed, ssh=remote.ssh)
    with _changed(path, yaml.safe_dump(settings, sort_keys=False)):
        # ssh offers a key the remote does not trust.
        result = copy.invoke("deploy", "--env", "prod", PATH=remote.wrong_key_path)

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert said.format(closed=closed, ssh=remote.ssh) in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.usefixtures("first_deploy")
def test_a_base_image_the_remote_lacks_and_cannot_pull_is_one_line_naming_it(
    remote: Remote, on_remote: Project
) -> None:
    running = sorted(c.id for c in remote.client.container.list())
    dockerfile = on_remote.root / "docker/Dockerfile"
    # An image this machine has, and the remote does not.
    base = "python:3.11-slim-bookworm"
    docker.image.inspect(base)
    with _changed(dockerfile, dockerfile.read_text().replace(PYTHON, base)):
        result = on_remote.invoke("deploy", "--env", "prod")

    assert result.returncode == 1, result.stderr
    # The failing step's output above, its one line last.
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"slipway: building target prod failed at `load metadata for {base}`")
    assert line.endswith(
        f"hint: the base image {base} is not on prod's engine ({remote.address}) and its "
        "registry cannot be reached from it: load it there (docker load), or change the "
        "Dockerfile's FROM to an image the engine has (docker image ls)"
    ), line
    assert sorted(c.id for c in remote.client.container.list()) == running


@pytest.mark.usefixtures("first_deploy")
def test_build_local_builds_here_and_ships_the_release_to_the_remote(
    remote: Remote, on_remote: Project
) -> None:
    path = on_remote.root / "slipway.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["environments"]["prod"]["build"] = "local"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    git(on_remote.root, "commit", "-qam", "prod is built here")
    ref = _tag(on_remote)

    out = on_remote.ok("deploy", "--env", "prod")

    assert f"shipped {ref} to {remote.address} in " in out
    # Built by this engine, run by the remote's, the same image on both.
    assert docker.image.inspect(ref).id == remote.client.image.inspect(ref).id
    rows = json.loads(on_remote.ok("status", "--env", "prod", "--json"))
    assert {r["image"] for r in rows if r["service"] == "app"} == {ref}


def _plugins_folder(plugin: str) -> str:
    """The folder the docker CLI here finds ``plugin`` in."""
    listed = subprocess.run(
        ["docker", "info", "--format", "{{range .ClientInfo.Plugins}}{{.Path}}\n{{end}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return next(str(Path(p).parent) for p in listed if Path(p).name == f"docker-{plugin}")


@pytest.mark.usefixtures("first_deploy")
def test_a_machine_without_the_buildx_plugin_is_one_line_and_touches_nothing(
    remote: Remote, on_remote: Project
) -> None:
    running = sorted(c.id for c in remote.client.container.list())
    # This machine as one without the CLI's plugins: an empty folder over
    # theirs, in a mount namespace of the command's own (nothing else sees it).
    hide = 'mount -t tmpfs slipway-test "$0" && exec "$@"'
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", hide]
    argv += [_plugins_folder("buildx"), sys.executable, "-m", "invoke", "deploy", "--env", "prod"]
    result = subprocess.run(
        argv, cwd=on_remote.root, env=on_remote.env(), capture_output=True, text=True, check=False
    )

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "slipway: the docker buildx plugin is missing: install docker-buildx-plugin"
    ], result.stderr
    assert sorted(c.id for c in remote.client.container.list()) == running


@pytest.mark.usefixtures("first_deploy")
def test_a_second_checkout_deploys_postgres_onto_the_remote_with_the_database_s_password(
    remote: Remote, on_remote: Project, tmp_path: Path
) -> None:
    # The PostgreSQL environment, on the same remote beside prod. (Last of the
    # module: its first deploy makes this checkout a secret_key file for
    # prod-pg's engine, where prod's keeps another one.)
    first = Project(on_remote.root, on_remote.name, on_remote.image, free_port())
    _on(first, remote.address, env="prod-pg")
    first.ok("deploy", "--env", "prod-pg")
    _, note = remote.request(first.port, "POST", "/notes", {"text": "kept in postgres"})
    subprocess.run(["git", "clone", "-q", first.root, tmp_path / "second"], check=True)
    second = Project(tmp_path / "second", first.name, first.image, first.port)
    commit_change(second, Path("service/CHANGES.md"), "A release on postgres.\n", "on postgres")

    out = second.ok("deploy", "--env", "prod-pg")

    # The database's password is the one the remote keeps: none made here, the
    # backup before the migration and the migration itself reached the
    # database with it, and the first checkout's note is there.
    assert "secret" not in out
    assert not (second.root / "secrets").exists()
    assert "backed up prod-pg to " in out
    assert "prod-pg is healthy" in out
    assert same_note(remote.request(first.port, "GET", f"/notes/{note['id']}"), note)
    history = json.loads(second.ok("history", "--env", "prod-pg", "--json"))
    assert [(row["image"], row["outcome"]) for row in history] == [
        (_tag(first), "ok"),
        (_tag(second), "ok"),
    ]
    # The other commands follow the environment to its engine: the backup
    # taken before the migration landed here, exec and logs answer from there.
    (dump,) = (second.root / "backups").glob("prod-pg-*.pgdump")
    assert dump.read_bytes().startswith(b"PGDMP")
    said = second.ok("exec", "--env", "prod-pg", "--", "python", "-c", "print('over there')")
    assert said.strip() == "over there"
    assert "app-" in second.ok("logs", "--env", "prod-pg", "--tail", "5")
    bill = json.loads(second.ok("sbom", "--env", "prod-pg"))
    assert bill["metadata"]["component"]["version"] == _tag(second).rpartition(":")[2]
    # Restored from the file here: the note written after the backup is gone.
    remote.request(first.port, "POST", "/notes", {"text": "after the backup"})
    second.ok("restore", str(dump), "--env", "prod-pg")
    status, notes = remote.request(first.port, "GET", "/notes")
    assert len(notes) == 1
    assert same_note((status, notes[0]), note)
    assert "prod-pg is down" in second.ok("down", "--env", "prod-pg")
    assert json.loads(second.ok("status", "--env", "prod-pg", "--json")) == []
