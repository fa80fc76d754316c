"""One handle per command, one client per command: `deploy`, `rollback` and
`status`, run as the tasks run them, build exactly one Docker client each.

The client is a fake engine (python-on-whales' DockerClient replaced where
slipway.engine builds it) that counts its constructions and runs an
in-memory stack: compose ps/up/run/port/config, container inspect, stop and
remove, the proxy's reload, images and the lock's networks. The image build,
its SBOM and the backup before a migration are stood in for where deploy
calls them; each checks it was handed the command's client.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from invoke.context import Context

from slipway import deploy, engine, handle, proxy
from slipway.build.images import BuiltImage
from slipway.cli import releases, stacks
from slipway.config import CONFIG_ENV, Config
from slipway.handle import Handle
from slipway.kept import Kept

_ids = itertools.count(1)


class _World:
    """What the fake engine holds: containers, images and networks."""

    def __init__(self) -> None:
        self.containers: list[Any] = []
        self.images: set[str] = set()
        self.networks: list[Any] = []
        self.clients: list[_Client] = []
        # The environment's volume on the engine (path: content).
        self.kept: dict[str, bytes] = {}


def _container(service: str, number: int, image: str) -> Any:
    healthy = SimpleNamespace(status="healthy", log=[])
    state = SimpleNamespace(running=True, restarting=False, status="running", health=healthy)
    labels = {
        "com.docker.compose.service": service,
        "com.docker.compose.container-number": str(number),
    }
    return SimpleNamespace(
        id=f"id-{next(_ids)}",
        name=f"slipway-prod-{service}-{number}",
        created=datetime.now(UTC).isoformat(),
        config=SimpleNamespace(image=image, labels=labels),
        image=f"sha256:{image}",
        state=state,
        restart_count=0,
        network_settings=SimpleNamespace(ports={}),
    )


class _Client:
    """One DockerClient, over the world, reading the release from its env files."""

    def __init__(self, world: _World, **options: Any) -> None:
        self.world, self.options = world, options
        world.clients.append(self)
        self.compose = SimpleNamespace(
            version=lambda: None,
            config=lambda **_k: {"services": {"app": {}, "migrate": {}, "proxy": {}}},
            ps=self._ps,
            up=self._up,
            run=lambda *_a, **_k: None,
            port=lambda _service, _port: ("127.0.0.1", 18080),
            down=lambda **_k: world.containers.clear(),
        )
        self.buildx = SimpleNamespace(version=lambda: None)
        self.container = SimpleNamespace(
            inspect=lambda cid: next(c for c in world.containers if c.id == cid),
            logs=lambda _c, **_k: "Loading success.\nFormer worker (7) exited with code 0",
            kill=lambda _c, **_k: None,
            stop=lambda _cs, **_k: None,
            remove=lambda cs, **_k: [world.containers.remove(c) for c in cs],
        )
        self.image = SimpleNamespace(
            inspect=lambda ref: SimpleNamespace(id=f"sha256:{ref}"),
            list=lambda _repo: [SimpleNamespace(repo_tags=sorted(world.images))],
            remove=world.images.discard,
        )
        self.system = SimpleNamespace(
            disk_free=lambda: SimpleNamespace(images=SimpleNamespace(size=0))
        )
        self.network = SimpleNamespace(
            create=self._network, list=lambda **_k: list(world.networks), remove=self._unlock
        )

    def version(self) -> None:
        pass

    def _release(self) -> str:
        """SLIPWAY_IMAGE as compose would read it: the last env file that sets it."""
        image = ""
        for path in self.options.get("compose_env_files", []):
            for line in Path(path).read_text().splitlines():
                if line.startswith("SLIPWAY_IMAGE="):
                    image = line.partition("=")[2]
        return image

    def _ps(self, services: list[str] | None = None, **_k: Any) -> list[Any]:
        return [
            c
            for c in self.world.containers
            if services is None or c.config.labels["com.docker.compose.service"] in services
        ]

    def _up(self, services: list[str], scales: dict[str, int] | None = None, **_k: Any) -> None:
        (service,) = services
        have = len(self._ps([service]))
        for number in range(have + 1, (scales or {}).get(service, 1) + 1):
            self.world.containers.append(_container(service, number, self._release()))

    def _network(self, name: str, labels: dict[str, str]) -> Any:
        net = SimpleNamespace(
            id=f"net-{next(_ids)}", name=name, labels=labels, created=datetime.now(UTC)
        )
        self.world.networks.append(net)
        return net

    def _unlock(self, network_id: str) -> None:
        self.world.networks[:] = [n for n in self.world.networks if n.id != network_id]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, config: Config, make_image: Any) -> _World:
    world = _World()
    monkeypatch.setenv(CONFIG_ENV, str(config.path))
    monkeypatch.setattr(engine, "DockerClient", lambda **options: _Client(world, **options))
    monkeypatch.setattr(proxy.time, "sleep", lambda _s: None)
    hashes = {"app": "1a" * 32, "proxy": "2b" * 32}
    monkeypatch.setattr(engine, "compose_config_hashes", lambda _docker, _services: hashes)
    (config.root / "env").mkdir()
    (config.root / "env/prod.env.example").write_text("LOG_LEVEL=info\n")
    revisions = iter(["aaaa00000001", "bbbb00000002"])

    def build(command: Handle) -> BuiltImage:
        assert command.docker is world.clients[-1]
        ref = f"slipway/notes:{next(revisions)}"
        world.images.add(ref)
        return make_image(ref=ref)

    def write_sbom(_config: Config, docker: Any, ref: str, _image_id: str) -> Any:
        assert docker is world.clients[-1]
        path = config.root / ".slipway/sbom" / f"{ref.rpartition(':')[2]}.cdx.json"
        return SimpleNamespace(path=path, python_packages=1, os_packages=2, sha256="ab" * 32)

    def backup(command: Handle) -> Any:
        assert command.docker is world.clients[-1]
        return SimpleNamespace(path=config.root / "backups/prod.sqlite3", detail="1 table")

    def read(kept: Kept, folder: str) -> dict[str, bytes]:
        assert kept.docker is world.clients[-1]
        prefix = f"{folder}/"
        return {p.removeprefix(prefix): c for p, c in world.kept.items() if p.startswith(prefix)}

    def write(kept: Kept, files: dict[str, bytes], *, mode: int) -> None:
        assert kept.docker is world.clients[-1]
        assert mode in {0o444, 0o644}
        world.kept.update(files)

    # What the environment's volume on the engine holds, through the command's client.
    monkeypatch.setattr(Kept, "read", read)
    monkeypatch.setattr(Kept, "write", write)
    monkeypatch.setattr(Kept, "remove", lambda _kept, *, volume: None)  # noqa: ARG005
    monkeypatch.setattr(Kept, "ensure", lambda _kept: None)
    monkeypatch.setattr(deploy.release, "build", build)
    monkeypatch.setattr(deploy.sbom, "write", write_sbom)
    monkeypatch.setattr(deploy.backup, "backup", backup)
    return world


def _clients_of(world: _World, task: Any, **flags: Any) -> int:
    before = len(world.clients)
    task(Context(), **flags)
    return len(world.clients) - before


def test_deploy_redeploy_rollback_and_status_each_build_one_client(
    world: _World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _clients_of(world, releases.deploy, env="prod") == 1
    assert _clients_of(world, releases.deploy, env="prod") == 1
    assert _clients_of(world, releases.rollback, env="prod") == 1
    said = capsys.readouterr().out
    assert _clients_of(world, stacks.status, env="prod") == 1

    assert "prod is healthy at http://127.0.0.1:18080 on the previous release" in said
    # What runs is what the tasks said: the first release, and status shows it.
    app = [c for c in world.containers if c.name.startswith("slipway-prod-app")]
    assert [c.config.image for c in app] == ["slipway/notes:aaaa00000001"]
    shown = capsys.readouterr().out
    assert "app      running  healthy  slipway/notes:aaaa00000001" in shown


def test_a_command_s_handle_carries_its_one_client_to_the_backend(
    world: _World, config: Config
) -> None:
    command = handle.of(config, "prod")

    assert world.clients == [command.docker]
    assert command.backend.name == "compose"
    assert command.env is config.environment("prod")


SRC = Path(__file__).resolve().parents[2] / "src" / "slipway"


def test_below_the_edge_only_the_checks_of_every_environment_build_a_client() -> None:
    """A job takes the command's handle; a client is built by handle.of, by the
    tasks and sessions that need no environment (build, check, the test
    image), and by the checks that look at every environment in turn."""
    builders = sorted(
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if "engine.client(" in path.read_text()
    )

    assert builders == [
        "checks/__init__.py",
        "checks/doctor.py",
        "checks/policy.py",
        "cli/releases.py",
        "cli/sessions.py",
        "handle.py",
    ]
