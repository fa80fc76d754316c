"""slipway.yaml's JSON Schema, made from the models, and the copy of it a
project keeps for editors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slipway import state
from slipway.config.project import Settings

# The published schema, shipped in the package; a project's copy, which the
# slipway.yaml `slipway init` writes names for editors, is kept beside its state.
SCHEMA = Path(__file__).parents[1] / "schema" / "slipway.schema.json"


def json_schema() -> dict[str, Any]:
    """slipway.yaml's JSON Schema, for editors (yaml-language-server) and CI."""
    schema = Settings.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "slipway.yaml"
    return schema


def publish_schema(root: Path) -> None:
    """Keep ``root/.slipway/slipway.schema.json`` the installed slipway's, so
    that editors check slipway.yaml against the version that reads it (a fresh
    clone gets it from its first command). Best effort: a read-only checkout
    only goes without it. Commands call it as they start (loading only reads)."""
    published = SCHEMA.read_bytes()
    copy = state.schema_copy(root)
    if copy.is_symlink():  # never written through: it could point anywhere
        return
    try:
        if not copy.is_file() or copy.read_bytes() != published:
            copy.parent.mkdir(exist_ok=True)
            copy.write_bytes(published)
    except OSError:
        return
