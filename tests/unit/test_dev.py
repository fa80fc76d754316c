"""The dev loop: the one-time sync (which paths, what goes into the archive)
and how the watch ends."""

from __future__ import annotations

import dataclasses
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from slipway import dev
from slipway.backends.compose import ComposeBackend
from slipway.config import Config
from slipway.dev import _tar_of, sync_paths
from slipway.errors import ConfigError, EngineError, SlipwayError
from slipway.handle import Handle, Report


def test_sync_paths_are_the_services_sync_rules_only() -> None:
    model = {
        "services": {
            "app": {
                "develop": {
                    "watch": [
                        {
                            "action": "sync",
                            "path": "/src/service/src",
                            "target": "/app/service/src",
                        },
                        {"action": "rebuild", "path": "/src/uv.lock"},
                    ]
                }
            },
            "proxy": {},
        }
    }
    assert sync_paths(model, "app") == [(Path("/src/service/src"), "/app/service/src")]
    assert sync_paths(model, "proxy") == []
    assert sync_paths({}, "app") == []


def test_the_archive_holds_every_source_file_and_no_bytecode(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "app.py").write_text("print('hi')\n")
    (tmp_path / "pkg" / "__pycache__" / "app.cpython-313.pyc").write_bytes(b"\0")
    data, count = _tar_of(tmp_path)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert archive.getnames() == ["pkg/app.py"]
    assert count == 1


# --- the watch, over a (fake) compose watch --------------------------------------------


def _rules(root: Path, *rules: tuple[str, str]) -> dict[str, Any]:
    """A compose model whose app service watches (path under root, action)."""
    watch = [{"path": str(root / path), "action": action, "target": "/x"} for path, action in rules]
    return {"services": {"app": {"develop": {"watch": watch}}, "proxy": {}}}


def _watch_prints(
    monkeypatch: pytest.MonkeyPatch,
    lines: list[str],
    return_code: int,
    model: dict[str, Any] | None = None,
) -> None:
    def compose_watch(_compose: Any) -> Iterator[str]:
        yield from lines
        raise EngineError("docker compose watch", "exit", return_code=return_code)

    monkeypatch.setattr(dev.engine, "compose_watch", compose_watch)
    monkeypatch.setattr(
        dev.engine, "compose_model", lambda _compose: model or _rules(Path("/"), ("src", "sync"))
    )


def _handle(config: Config, env_name: str, report: Report) -> Handle:
    """A dev command's handle whose client is never reached: the watch and the
    compose model are faked where the engine runs them."""
    # Any name: the project's own environments need not be slipway's.
    env, docker = dataclasses.replace(config.environment("dev"), name=env_name), SimpleNamespace()
    return Handle(config, env, docker, ComposeBackend(docker, config, env), report)  # type: ignore[arg-type]


def test_a_watch_compose_ended_on_ctrl_c_stops_quietly(
    monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    _watch_prints(monkeypatch, ["Syncing service app after changes were detected"], 130)
    seen: list[str] = []

    dev.watch(_handle(config, "dev", seen.append))

    assert seen[1:] == [
        "Syncing service app after changes were detected",
        "watch stopped; the dev stack keeps running (invoke down --env dev removes it)",
    ]


def test_the_watch_says_what_the_projects_own_compose_files_watch(
    monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    """Not slipway's reference layout (service/src): this project's develop.watch."""
    model = _rules(
        config.root,
        ("app", "sync"),
        ("web/static", "sync"),
        ("requirements.txt", "rebuild"),
        ("settings.toml", "sync+restart"),
    )
    _watch_prints(monkeypatch, [], 130, model)
    seen: list[str] = []

    dev.watch(_handle(config, "local", seen.append))

    assert seen == [
        "watching app, web/static (sync) and requirements.txt (rebuild) and settings.toml "
        "(sync+restart); Ctrl-C stops",
        "watch stopped; the local stack keeps running (invoke down --env local removes it)",
    ]


def test_a_service_without_watch_rules_is_one_line(
    monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    _watch_prints(monkeypatch, [], 130, {"services": {"app": {}}})

    with pytest.raises(ConfigError, match=r"give service app no develop.watch rules"):
        dev.watch(_handle(config, "dev", lambda _line: None))


def test_a_watch_that_failed_says_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    _watch_prints(monkeypatch, [], 1)

    with pytest.raises(SlipwayError, match=r"^docker compose watch stopped with code 1$"):
        dev.watch(_handle(config, "dev", lambda _line: None))


def test_a_failed_first_sync_keeps_its_own_message(
    monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    _watch_prints(monkeypatch, ["Watch enabled"], 130)

    def sync_once(_compose: Any, service: str) -> int:
        raise EngineError(f"syncing service/src into {service}", "no container", return_code=1)

    monkeypatch.setattr(dev, "sync_once", sync_once)

    with pytest.raises(SlipwayError, match=r"^syncing service/src into app failed: no container$"):
        dev.watch(_handle(config, "dev", lambda _line: None))
