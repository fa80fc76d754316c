"""The SBOM lists what the image installs: markers are judged as the image's
interpreter would."""

from __future__ import annotations

from typing import Any

from slipway import config, state
from slipway.build import sbom

LINUX = {
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "python_version": "3.13",
    "python_full_version": "3.13.1",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
}


def _component(ref: str, marker: str | None = None) -> dict[str, Any]:
    props = [{"name": "uv:package:marker", "value": marker}] if marker else []
    return {"bom-ref": ref, "name": ref, "properties": props}


def test_packages_a_marker_excludes_from_the_image_are_dropped_with_their_edges() -> None:
    doc = {
        "metadata": {"component": {"bom-ref": "svc"}},
        "components": [
            _component("fastapi"),
            _component("tzdata", "sys_platform == 'win32'"),
            _component(
                "uvloop", "sys_platform != 'win32' and platform_python_implementation != 'PyPy'"
            ),
        ],
        "dependencies": [
            {"ref": "svc", "dependsOn": ["fastapi", "tzdata", "uvloop"]},
            {"ref": "tzdata", "dependsOn": []},
        ],
    }
    kept = sbom._installed_in(doc, {**LINUX, "platform_python_implementation": "CPython"})
    assert [c["bom-ref"] for c in kept["components"]] == ["fastapi", "uvloop"]
    assert kept["dependencies"] == [{"ref": "svc", "dependsOn": ["fastapi", "uvloop"]}]


def test_the_release_tag_names_the_file() -> None:
    cfg = config.load()
    path = state.sbom_file(cfg, "slipway/notes:0123456789ab")
    assert path == state.folder(cfg) / "sbom" / "0123456789ab.cdx.json"


def test_the_locked_export_covers_the_configured_package_without_dev_tools() -> None:
    doc = sbom.locked_packages(config.load())
    assert doc["metadata"]["component"]["name"] == "notes-service"
    names = {c["name"] for c in doc["components"]}
    assert {"fastapi", "sqlalchemy", "alembic"} <= names
    assert not names & {"pytest", "ruff", "mypy"}
