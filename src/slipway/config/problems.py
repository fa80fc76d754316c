"""slipway.yaml's errors: one line each, with the file, the line and the
dotted key (``slipway.yaml:23: environments.prod.health_timeout: expected a
positive integer, got 'soon'``), whichever section found the problem.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from slipway.config.targets import Target
from slipway.config.values import described
from slipway.errors import ConfigError


def _line(node: yaml.Node | None, path: tuple[str, ...]) -> int | None:
    """The line of ``path``'s value (or of the deepest mapping that has it)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for key in path:
        if not isinstance(node, yaml.MappingNode):
            break
        found = [(k, v) for k, v in node.value if str(k.value) == key]
        if not found:
            break
        key_node, node = found[0]
        line = key_node.start_mark.line + 1
    return line


def _inside(kind: object, key: str) -> object:
    """The type of ``key``'s value in a value of type ``kind`` (a model, a
    mapping of any key, or either or None); None when it has no such key."""
    if get_origin(kind) in (Union, types.UnionType):
        inner = [_inside(arg, key) for arg in get_args(kind) if arg is not type(None)]
        return next((k for k in inner if k is not None), None)
    if get_origin(kind) is dict:
        return get_args(kind)[1]
    if isinstance(kind, type) and issubclass(kind, BaseModel) and key in kind.model_fields:
        return kind.model_fields[key].annotation
    return None


def _model_at(root: type[BaseModel], path: tuple[str, ...]) -> type[BaseModel] | None:
    """The model whose keys the mapping at ``path`` may hold."""
    kind: object = root
    for key in path:
        kind = _inside(kind, key)
    if get_origin(kind) in (Union, types.UnionType):
        kind = next((a for a in get_args(kind) if a is not type(None)), None)
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


class Problems:
    """Makes the ConfigError for one problem at a key of the file."""

    def __init__(self, path: Path, tree: yaml.Node | None) -> None:
        self.path, self.tree = path, tree

    def fail(self, key: tuple[str, ...], why: str) -> ConfigError:
        line = _line(self.tree, key) if key else None
        where = f"{self.path.name}:{line}" if line else self.path.name
        return ConfigError(f"{where}: {'.'.join(key) or '(top level)'}: {why}")

    def existing(self, root: Path, value: str, key: tuple[str, ...]) -> Path:
        """``root / value``, which must exist."""
        if not (root / value).exists():
            raise self.fail(key, f"{value} does not exist")
        return root / value

    def from_pydantic(self, error: ValidationError, root: type[BaseModel]) -> ConfigError:
        """The first of ``error``'s problems, validating the ``root`` model."""
        first = error.errors()[0]
        loc = tuple(str(part) for part in first["loc"])
        loc = loc[:-1] if loc[-1:] == ("[key]",) else loc  # a mapping's key is the problem
        kind, value = first["type"], first.get("input")
        if kind == "extra_forbidden":
            model = _model_at(root, loc[:-1])
            allowed = ", ".join(model.model_fields) if model else ""
            return self.fail(loc, f"unknown key (expected one of {allowed})")
        if kind == "literal_error" and loc[:1] == ("targets",):
            targets = ", ".join(t.value for t in Target)
            return self.fail(loc[:2], f"unknown target (the Dockerfile's targets are {targets})")
        if kind == "missing":
            return self.fail(loc, "missing")
        if kind in ("model_type", "dict_type"):
            return self.fail(loc, f"expected a mapping, got {described(value)}")
        return self.fail(loc, first["msg"])
