"""The SBOM's Python packages as the image holds them.

One run of the image's ``python`` (the one on its PATH: in a uv project's
prod image, its virtual environment) reports two things: PEP 508's marker
variables, and every distribution its ``sys.path`` holds (the
``*.dist-info`` that ``importlib.metadata`` reads; the working directory
left out). The lock's export (exact versions, file hashes) is then cut to
the image: a locked package the image holds at its version stays; one it
lacks goes, named in the metadata unless its marker excludes it from this
interpreter anyway (``tzdata; sys_platform == 'win32'`` on Linux); one the
image holds that the lock does not list is added as the image says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from packaging.markers import Marker
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

_MARKER = "uv:package:marker"
NOT_INSTALLED = "slipway:python:not-installed"
NOT_INSTALLED_COUNT = "slipway:python:not-installed-count"
IMAGE_ONLY = "slipway:python:found-in"
IMAGE_ONLY_VALUE = "the image only: not in uv.lock"
# PEP 508's marker variables, and the distributions on sys.path (the first
# of a name wins, as for imports), as the image's interpreter sees them.
SCRIPT = """
import importlib.metadata as m, json, os, platform, re, sys
held = {}
for d in m.distributions(path=[p for p in sys.path if p]):
    name, version = d.metadata.get("Name"), d.metadata.get("Version")
    if name and version:
        held.setdefault(re.sub(r"[-_.]+", "-", name).lower(), version)
print(json.dumps({"markers": {
    "implementation_name": sys.implementation.name,
    "implementation_version": platform.python_version(),
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}, "distributions": sorted(held.items())}))
"""


@dataclass(frozen=True)
class ImagePython:
    """What the image's interpreter reported: its marker variables and its
    distributions (normalized name -> version)."""

    markers: dict[str, str]
    distributions: dict[str, str]

    @classmethod
    def parse(cls, out: str) -> ImagePython:
        reported = json.loads(out)
        held = {str(canonicalize_name(n)): str(v) for n, v in reported["distributions"]}
        return cls(dict(reported["markers"]), held)


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _applies(component: dict[str, Any], markers: dict[str, str]) -> bool:
    said = [p["value"] for p in component.get("properties", []) if p["name"] == _MARKER]
    return all(Marker(m).evaluate(markers) for m in said)


def _held(component: dict[str, Any], image: ImagePython) -> bool:
    version = image.distributions.get(canonicalize_name(str(component.get("name", ""))))
    return version is not None and _same_version(version, str(component.get("version", "")))


def _image_only(name: str, version: str) -> dict[str, Any]:
    purl = f"pkg:pypi/{name}@{version}"
    return {
        "type": "library",
        "bom-ref": purl,
        "name": name,
        "version": version,
        "purl": purl,
        "properties": [{"name": IMAGE_ONLY, "value": IMAGE_ONLY_VALUE}],
    }


def _edges(doc: dict[str, Any], refs: set[str]) -> list[dict[str, Any]]:
    """The export's dependency edges between the components that stayed."""
    return [
        {**edge, "dependsOn": [d for d in edge.get("dependsOn", []) if d in refs]}
        for edge in doc.get("dependencies", [])
        if edge["ref"] in refs
    ]


def held_by_image(doc: dict[str, Any], image: ImagePython) -> dict[str, Any]:
    """The lock's export cut to what the image holds, plus what only the
    image holds. The project itself stays the export's metadata component
    (the image holds it, or it is a virtual project, never installed)."""
    project = doc["metadata"]["component"]
    locked = doc.get("components", [])
    kept = [c for c in locked if _held(c, image)]
    # Absent as its marker says (tzdata on win32 only) is not "left out".
    missing = sorted(
        {str(c["name"]) for c in locked if _applies(c, image.markers) and not _held(c, image)}
    )
    listed = {canonicalize_name(str(c["name"])) for c in kept}
    listed.add(canonicalize_name(str(project["name"])))
    extra = [_image_only(n, v) for n, v in image.distributions.items() if n not in listed]
    components = sorted(
        [*kept, *extra],
        key=lambda c: (canonicalize_name(str(c["name"])), str(c.get("version", ""))),
    )
    refs = {c["bom-ref"] for c in kept} | {project["bom-ref"]}
    meta = {**doc["metadata"], "properties": _left_out(doc["metadata"], missing)}
    return {**doc, "metadata": meta, "components": components, "dependencies": _edges(doc, refs)}


def _left_out(meta: dict[str, Any], missing: list[str]) -> list[dict[str, Any]]:
    return [
        *meta.get("properties", []),
        {"name": NOT_INSTALLED_COUNT, "value": str(len(missing))},
        {"name": NOT_INSTALLED, "value": ", ".join(missing) or "none"},
    ]


def image_only_refs(doc: dict[str, Any]) -> list[str]:
    """The components held_by_image added: what the image holds outside the lock."""
    return [
        c["bom-ref"]
        for c in doc.get("components", [])
        if {"name": IMAGE_ONLY, "value": IMAGE_ONLY_VALUE} in c.get("properties", [])
    ]
