"""One owner of .slipway/: slipway.state builds every path under it, and no
other module names the folder."""

from __future__ import annotations

import ast
from pathlib import Path

from slipway import state
from slipway.config import Config

SRC = Path(state.__file__).parent


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            found.add(id(body[0].value))
    return found


def _named(source: str) -> list[int]:
    """The lines whose code (not a docstring) names the state folder."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docs
        and (node.value == state.DIR or node.value.startswith(f"{state.DIR}/"))
    ]


def test_no_module_but_state_names_the_state_folder() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        if path != Path(state.__file__) and "templates" not in path.parts
        for line in _named(path.read_text())
    ]
    assert offenders == []


def test_the_check_finds_code_that_names_it_and_lets_docstrings_be() -> None:
    source = '"""Docs may say .slipway."""\nX = Path(".slipway")\nY = ".slipway/prod.env"\n'
    assert sorted(_named(source)) == [2, 3]


def test_every_path_is_under_the_state_folder(config: Config) -> None:
    prod = config.environment("prod")
    folder = config.root / ".slipway"
    assert state.folder(config) == folder
    assert state.release_file(config, prod) == folder / "prod.env"
    assert state.settings_file(config, prod) == folder / "prod.settings.env"
    assert state.proxy_folder(config, prod) == folder / "prod-proxy"
    assert state.history_file(config) == folder / "history.jsonl"
    assert state.sbom_file(config, "slipway/notes:0123456789ab") == (
        folder / "sbom/0123456789ab.cdx.json"
    )
    assert state.build_folder(config) == folder / "build"
    assert state.schema_copy(config.root) == folder / "slipway.schema.json"


def test_the_release_pointer_is_written_read_and_forgotten(config: Config) -> None:
    prod = config.environment("prod")
    assert state.release(config, prod) is None
    state.stage_release(config, prod, {state.IMAGE_KEY: "slipway/notes:abc", "X": "1"})
    assert state.release(config, prod) is None  # staged: not what runs yet
    state.commit_release(config, prod)
    assert state.release(config, prod) == "slipway/notes:abc"
    assert state.release_file(config, prod).read_text() == "SLIPWAY_IMAGE=slipway/notes:abc\nX=1\n"
    state.forget_release(config, prod)
    assert state.release(config, prod) is None


def test_a_staged_release_that_is_dropped_leaves_the_pointer_where_it_was(config: Config) -> None:
    prod = config.environment("prod")
    state.stage_release(config, prod, {state.IMAGE_KEY: "slipway/notes:old"})
    state.commit_release(config, prod)

    state.stage_release(config, prod, {state.IMAGE_KEY: "slipway/notes:new"})
    state.drop_staged(config, prod)

    assert state.release(config, prod) == "slipway/notes:old"
    assert not state.staged_release_file(config, prod).exists()


def test_a_rotated_secret_is_marked_on_the_recorded_configuration_until_the_next_rollout(
    config: Config,
) -> None:
    prod = config.environment("prod")
    state.mark_rotated(config, prod, "secret_key")
    assert state.applied(config, prod) is None  # no rollout recorded: the next one rolls anyway

    state.record_applied(config, prod, {"app": "h1", "proxy": "h2"})
    state.mark_rotated(config, prod, "secret_key")
    state.mark_rotated(config, prod, "db_password")
    state.mark_rotated(config, prod, "secret_key")
    assert state.applied(config, prod) == {
        "app": "h1",
        "proxy": "h2",
        state.ROTATED: "db_password, secret_key",
    }
    state.record_applied(config, prod, {"app": "h3", "proxy": "h2"})  # what a rollout records
    assert state.ROTATED not in (state.applied(config, prod) or {})
