"""The SBOM lists what the image holds: the lock's packages the image's
Python environment has, those only the image has, and the names of the
locked ones it lacks; markers are judged as the image's interpreter would."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from typing import Any, cast

import pytest
from packaging.markers import Marker

from slipway import config, state
from slipway.build import installed, sbom

LINUX = {
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "python_version": "3.13",
    "python_full_version": "3.13.1",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
}


def _component(ref: str, marker: str | None = None, version: str = "1.0") -> dict[str, Any]:
    props = [{"name": "uv:package:marker", "value": marker}] if marker else []
    return {
        "type": "library",
        "bom-ref": f"{ref}-1@{version}",
        "name": ref,
        "version": version,
        "purl": f"pkg:pypi/{ref}@{version}",
        "externalReferences": [{"type": "distribution", "hashes": [{"content": "ab"}]}],
        "properties": props,
    }


def _export(*components: dict[str, Any]) -> dict[str, Any]:
    """uv's export: the project as the metadata component, edges by bom-ref."""
    refs = [c["bom-ref"] for c in components]
    return {
        "metadata": {"component": {"bom-ref": "svc-0@0.1.0", "name": "svc", "version": "0.1.0"}},
        "components": list(components),
        "dependencies": [
            {"ref": "svc-0@0.1.0", "dependsOn": refs},
            *({"ref": r, "dependsOn": [x for x in refs if x != r]} for r in refs),
        ],
    }


def _image(**held: str) -> installed.ImagePython:
    distributions = sorted((name.replace("_", "-"), v) for name, v in held.items())
    return installed.ImagePython.parse(
        json.dumps({"markers": LINUX, "distributions": distributions})
    )


def _properties(doc: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in doc["metadata"].get("properties", [])}


def test_a_locked_package_the_image_lacks_is_left_out_and_named_in_the_metadata() -> None:
    # The Dockerfile ran `uv sync --locked --no-install-package six`.
    doc = installed.held_by_image(
        _export(_component("fastapi"), _component("six")), _image(svc="0.1.0", fastapi="1.0")
    )

    assert [c["name"] for c in doc["components"]] == ["fastapi"]
    assert doc["components"][0]["externalReferences"]  # the lock's hashes stay
    assert _properties(doc) == {
        "slipway:python:not-installed-count": "1",
        "slipway:python:not-installed": "six",
    }
    assert doc["dependencies"] == [
        {"ref": "svc-0@0.1.0", "dependsOn": ["fastapi-1@1.0"]},
        {"ref": "fastapi-1@1.0", "dependsOn": []},
    ]


def test_a_package_only_the_image_holds_is_listed_as_the_image_says() -> None:
    # pip installed gunicorn in a RUN; the project itself (svc) is no extra.
    doc = installed.held_by_image(
        _export(_component("fastapi")), _image(svc="0.1.0", fastapi="1.0", gunicorn="23.0.0")
    )

    assert doc["components"][1] == {
        "type": "library",
        "bom-ref": "pkg:pypi/gunicorn@23.0.0",
        "name": "gunicorn",
        "version": "23.0.0",
        "purl": "pkg:pypi/gunicorn@23.0.0",
        "properties": [
            {"name": "slipway:python:found-in", "value": "the image only: not in uv.lock"}
        ],
    }
    assert [c["name"] for c in doc["components"]] == ["fastapi", "gunicorn"]
    assert installed.image_only_refs(doc) == ["pkg:pypi/gunicorn@23.0.0"]
    assert _properties(doc)["slipway:python:not-installed-count"] == "0"
    assert _properties(doc)["slipway:python:not-installed"] == "none"


def test_a_locked_package_at_another_version_in_the_image_is_the_images() -> None:
    doc = installed.held_by_image(_export(_component("six", version="1.16.0")), _image(six="1.17"))

    assert [(c["name"], c["version"]) for c in doc["components"]] == [("six", "1.17")]
    assert installed.image_only_refs(doc) == ["pkg:pypi/six@1.17"]
    assert _properties(doc)["slipway:python:not-installed"] == "six"


def test_versions_and_names_compare_as_python_packaging_does() -> None:
    doc = installed.held_by_image(
        _export(_component("typing-extensions", version="4.0")),
        installed.ImagePython.parse(
            json.dumps({"markers": LINUX, "distributions": [["Typing_Extensions", "4.0.0"]]})
        ),
    )

    assert [c["name"] for c in doc["components"]] == ["typing-extensions"]
    assert installed.image_only_refs(doc) == []


def test_markers_still_apply_to_what_the_image_lacks() -> None:
    linux = {**LINUX, "platform_python_implementation": "CPython"}
    export = _export(
        _component("fastapi"),
        _component("tzdata", "sys_platform == 'win32'"),
        _component(
            "uvloop", "sys_platform != 'win32' and platform_python_implementation != 'PyPy'"
        ),
    )
    image = installed.ImagePython(linux, {"fastapi": "1.0"})

    doc = installed.held_by_image(export, image)

    # tzdata is absent as its marker says: neither listed nor "not installed";
    # uvloop's marker applies here, so its absence is named.
    assert [c["name"] for c in doc["components"]] == ["fastapi"]
    assert _properties(doc)["slipway:python:not-installed"] == "uvloop"
    assert {e["ref"] for e in doc["dependencies"]} == {"svc-0@0.1.0", "fastapi-1@1.0"}


def test_the_script_reads_this_interpreters_environment() -> None:
    out = subprocess.run(
        [sys.executable, "-c", installed.SCRIPT], capture_output=True, text=True, check=True
    ).stdout

    image = installed.ImagePython.parse(out)

    assert image.distributions["packaging"] == metadata.version("packaging")
    assert image.distributions["python-on-whales"] == metadata.version("python-on-whales")
    assert image.markers["python_version"] == "{}.{}".format(*sys.version_info[:2])
    assert Marker("python_version >= '3.11'").evaluate(image.markers)


def test_the_document_lists_the_image_only_package_under_the_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = config.load()
    reported = json.dumps({"markers": LINUX, "distributions": [["fastapi", "1.0"], ["pip", "25"]]})
    monkeypatch.setattr(sbom.engine, "run_python", lambda _d, _r, _c: reported)
    monkeypatch.setattr(sbom, "locked_packages", lambda _c: _export(_component("fastapi")))
    monkeypatch.setattr(sbom, "os_packages", lambda _d, _r: ([], None))

    doc = sbom.document(cfg, cast(Any, None), "slipway/notes:0123456789ab", "sha256:1")

    assert [c["name"] for c in doc["components"]] == ["svc", "fastapi", "pip"]
    assert doc["dependencies"][-1] == {
        "ref": "slipway/notes:0123456789ab",
        "dependsOn": ["svc-0@0.1.0", "pkg:pypi/pip@25"],
    }
    assert sbom._counts(doc) == (2, 0)


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
