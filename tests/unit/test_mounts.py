"""What reaches the containers from the environment's volume on its engine
(slipway.engine.mounts), the secrets slipway sends there first
(slipway.secretfiles.deliver), and the state kept there (slipway.shared)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from slipway import engine, secretfiles, shared, state
from slipway.config import Config
from slipway.engine import mounts
from slipway.errors import ConfigError
from slipway.kept import Kept

BASE = """\
services:
  app:
    secrets:
      - secret_key
      - {source: tls, target: certs/tls.pem}
      - from_env
  migrate: {}
  proxy:
    image: haproxy:3.0
secrets:
  secret_key:
    file: ../secrets/secret_key
  tls:
    file: /etc/ssl/private/notes.pem
  from_env:
    environment: SOME_VARIABLE
"""
PROD = """\
x-hardened: &hardened
  read_only: true
services:
  migrate:
    <<: *hardened
    secrets: [secret_key]
"""


@pytest.fixture
def project(config: Config) -> Config:
    (config.root / "compose/base.yaml").write_text(BASE)
    (config.root / "compose/prod.yaml").write_text(PROD)
    return config


def test_each_file_secret_a_service_declares_is_mounted_where_compose_would_put_it(
    project: Config,
) -> None:
    found = mounts.declared(project.environment("prod").compose_files)

    assert found.files == {
        "secret_key": project.root / "secrets/secret_key",
        "tls": Path("/etc/ssl/private/notes.pem"),
    }
    assert found.mounted == {
        "app": {"secret_key": "/run/secrets/secret_key", "tls": "/run/secrets/certs/tls.pem"},
        "migrate": {"secret_key": "/run/secrets/secret_key"},
    }
    assert found.others == {"app": ["from_env"]}


def test_the_mounts_file_replaces_bind_mounts_with_the_environment_s_volume(
    project: Config,
) -> None:
    prod = project.environment("prod")
    text = mounts.text(project, prod)
    # compose's own tags: PyYAML reads them as unknown; strip them to read the rest.
    model = yaml.safe_load(text.replace("!override ", ""))

    app = model["services"]["app"]
    assert '    secrets: !override ["from_env"]\n' in text
    assert app["secrets"] == ["from_env"]
    assert app["volumes"] == [
        {
            "type": "volume",
            "source": "slipway-state",
            "target": "/run/secrets/secret_key",
            "read_only": True,
            "volume": {"subpath": "secrets/secret_key"},
        },
        {
            "type": "volume",
            "source": "slipway-state",
            "target": "/run/secrets/certs/tls.pem",
            "read_only": True,
            "volume": {"subpath": "secrets/tls"},
        },
    ]
    assert [v["target"] for v in model["services"]["proxy"]["volumes"]] == [
        "/usr/local/etc/haproxy"
    ]
    assert model["volumes"] == {"slipway-state": {"name": "slipway-prod-state", "external": True}}
    assert mounts.write(project, prod).read_text() == text


class _Kept:
    """The environment's volume on its engine, as a dict."""

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files = dict(files or {})
        self.sent: list[dict[str, bytes]] = []

    def read(self, folder: str) -> dict[str, bytes]:
        prefix = f"{folder}/"
        return {p.removeprefix(prefix): c for p, c in self.files.items() if p.startswith(prefix)}

    def write(self, files: dict[str, bytes], *, mode: int) -> None:
        assert mode == (0o644 if all(p.startswith("state/") for p in files) else 0o444)
        self.sent.append(files)
        self.files.update(files)


@pytest.fixture
def only_ours(project: Config) -> Config:
    """The app declares only secret_key (the tls file is the user's, elsewhere)."""
    (project.root / "compose/base.yaml").write_text(
        BASE.replace("      - {source: tls, target: certs/tls.pem}\n", "")
    )
    return project


def test_a_first_deploy_makes_the_secret_here_and_sends_it_to_the_engine(
    only_ours: Config,
) -> None:
    kept, said = _Kept(), []

    secretfiles.deliver(kept, only_ours, only_ours.environment("prod"), report=said.append)

    value = (only_ours.root / "secrets/secret_key").read_bytes()
    assert kept.sent == [{"secrets/secret_key": value}]
    assert said == [
        "created secrets/secret_key with a random value (git-ignored)",
        "prod's engine (the local engine) now keeps the secret(s) secret_key",
    ]


def test_the_engine_s_secret_serves_a_checkout_without_the_file(only_ours: Config) -> None:
    kept, said = _Kept({"secrets/secret_key": b"the engine's"}), []

    secretfiles.deliver(kept, only_ours, only_ours.environment("prod"), report=said.append)

    assert kept.sent == []
    assert said == []
    assert not (only_ours.root / "secrets/secret_key").exists()


def test_a_file_that_differs_from_the_engine_s_secret_is_refused(only_ours: Config) -> None:
    secretfiles.create(only_ours.root / "secrets/secret_key", "mine")
    kept = _Kept({"secrets/secret_key": b"the engine's"})

    with pytest.raises(ConfigError) as caught:
        secretfiles.deliver(kept, only_ours, only_ours.environment("prod"), report=print)

    assert str(caught.value) == (
        "secrets/secret_key differs from the secret secret_key that prod's engine (the local "
        "engine) keeps: delete secrets/secret_key to deploy with the engine's"
    )
    assert kept.sent == []


def test_a_missing_secret_file_outside_secrets_is_the_user_s_to_make(project: Config) -> None:
    kept = _Kept({"secrets/secret_key": b"kept"})

    with pytest.raises(ConfigError) as caught:
        secretfiles.deliver(kept, project, project.environment("prod"), report=print)

    assert str(caught.value) == (
        "secret tls: /etc/ssl/private/notes.pem is missing: create it (slipway makes only "
        "files under secrets/)"
    )


# --- the state the engine keeps (slipway.shared) -----------------------------------------


def _history(*rows: tuple[str, str]) -> bytes:
    return b"".join(
        json.dumps({"environment": env, "image": image}).encode() + b"\n" for env, image in rows
    )


def test_pull_makes_the_checkout_hold_what_the_engine_keeps(config: Config) -> None:
    prod = config.environment("prod")
    state.history_file(config).parent.mkdir(parents=True)
    state.history_file(config).write_bytes(_history(("dev", "d:1"), ("prod", "p:stale")))
    state.release_file(config, prod).write_text("SLIPWAY_IMAGE=p:stale\n")
    kept = _Kept(
        {
            "state/release.env": b"SLIPWAY_IMAGE=p:2\n",
            "state/applied.json": b"",
            "state/history.jsonl": _history(("prod", "p:1"), ("prod", "p:2")),
        }
    )

    assert shared.pull(kept, config, prod) is True

    assert state.release(config, prod) == "p:2"
    assert not state.applied_file(config, prod).exists()
    # Other environments' lines stay; this one's are the engine's.
    assert state.history_file(config).read_bytes() == _history(
        ("dev", "d:1"), ("prod", "p:1"), ("prod", "p:2")
    )


def test_an_engine_that_keeps_nothing_yet_leaves_the_checkout_as_it_is(config: Config) -> None:
    prod = config.environment("prod")
    state.release_file(config, prod).parent.mkdir(parents=True)
    state.release_file(config, prod).write_text("SLIPWAY_IMAGE=p:1\n")

    assert shared.pull(_Kept(), config, prod) is False

    assert state.release(config, prod) == "p:1"


def test_push_sends_the_environment_s_pointer_and_its_history_lines_only(config: Config) -> None:
    prod = config.environment("prod")
    state.history_file(config).parent.mkdir(parents=True)
    state.history_file(config).write_bytes(_history(("prod", "p:1"), ("dev", "d:1")))
    kept = _Kept()

    shared.push(kept, config, prod)

    assert kept.files == {
        "state/release.env": b"",
        "state/applied.json": b"",
        "state/history.jsonl": _history(("prod", "p:1")),
    }


def test_a_stack_with_nothing_to_mount_gets_an_empty_mounts_file(config: Config) -> None:
    """No proxy and no file secret (a project's own prod.yaml alone)."""
    (config.root / "compose/base.yaml").write_text("services:\n  app:\n    image: tiny/app\n")
    (config.root / "compose/prod.yaml").write_text("services:\n  migrate: {}\n")

    text = mounts.text(config, config.environment("prod"))

    assert yaml.safe_load(text) == {"services": {}}


def test_a_command_reads_the_engine_s_volume_once_and_keeps_what_it_writes(
    monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, content in {"slipway/secrets/k": b"v", "slipway/state/release.env": b"X"}.items():
            entry = tarfile.TarInfo(path)
            entry.size = len(content)
            archive.addfile(entry, io.BytesIO(content))
    calls: list[str] = []
    monkeypatch.setattr(
        engine, "archive_out", lambda _d, _c, path: calls.append(path) or buffer.getvalue()
    )
    monkeypatch.setattr(engine, "archive_in", lambda _d, _c, dest, _a: calls.append(dest))
    docker = SimpleNamespace(container=SimpleNamespace(exists=lambda _name: True))
    prod = config.environment("prod")

    kept = Kept.of(docker, config, prod)  # type: ignore[arg-type]

    assert Kept.of(docker, config, prod) is kept  # type: ignore[arg-type]
    assert kept.read("secrets") == {"k": b"v"}
    assert kept.read("state") == {"release.env": b"X"}
    kept.write({"proxy/haproxy.cfg": b"cfg"}, mode=0o644)
    assert kept.read("proxy") == {"haproxy.cfg": b"cfg"}
    assert calls == ["/slipway", "/slipway"]  # one read of everything, one write
