"""Every release has a CycloneDX SBOM that matches the image; the audit never
passes without having asked; progress is plain when piped, live on a terminal."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from python_on_whales import docker

from bench.traffic import Traffic
from slipway import config
from slipway.build import sbom
from tests.docker.conftest import (
    Project,
    app_containers,
    assert_no_request_failed,
    commit_change,
    free_port,
)
from tests.docker.test_build_failures import COMPOSE, SLIPWAY_YAML, build_prod

pytestmark = pytest.mark.docker

_ESCAPE = "\x1b"


def _normal(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_python(ref: str) -> dict[str, str]:
    """The distributions in the image's virtualenv, from inside the image."""
    out = docker.run(
        ref,
        [
            "-c",
            "import importlib.metadata as m, json; "
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
        ],
        entrypoint="python",
        remove=True,
        pull="never",
    )
    return {_normal(k): v for k, v in json.loads(str(out)).items()}


def _installed_debs(ref: str) -> dict[str, str]:
    out = docker.run(
        ref,
        ["-W", "-f", "${Package} ${Version}\\n"],
        entrypoint="dpkg-query",
        remove=True,
        pull="never",
    )
    return dict(line.split(" ", 1) for line in str(out).splitlines() if line.strip())


def test_deploy_writes_an_sbom_of_the_release_and_records_its_sha256(project: Project) -> None:
    result = project.invoke("deploy")
    assert result.returncode == 0, result.stderr
    # Piped (as here): plain lines, not a single escape code.
    assert _ESCAPE not in result.stdout + result.stderr
    assert "wrote the SBOM .slipway/sbom/" in result.stdout

    row = json.loads(project.ok("history", "--json"))[-1]
    ref = row["image"]
    path = project.root / ".slipway" / "sbom" / f"{ref.rpartition(':')[2]}.cdx.json"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sbom_sha256"]
    assert project.ok("sbom") == path.read_text()

    bom = json.loads(path.read_text())
    assert bom["bomFormat"] == "CycloneDX"
    assert bom["specVersion"] == "1.5"
    assert bom["metadata"]["component"]["bom-ref"] == ref
    listed = {
        (_normal(c["name"]), c["version"])
        for c in bom["components"]
        if c.get("purl", "").startswith("pkg:pypi/")
    }
    # Every package in the image's virtualenv, at its version, and nothing else
    # (the service itself is the SBOM's project component, without a purl).
    installed = _installed_python(ref)
    installed.pop("notes-service")
    assert listed == set(installed.items())
    debs = {
        (c["name"], c["version"])
        for c in bom["components"]
        if c.get("purl", "").startswith("pkg:deb/")
    }
    assert debs == set(_installed_debs(ref).items())
    # Every dependency edge names a component of the document.
    refs = {c["bom-ref"] for c in bom["components"]} | {ref}
    for edge in bom["dependencies"]:
        assert edge["ref"] in refs
        assert set(edge.get("dependsOn", [])) <= refs

    out = project.root / "release.cdx.json"
    written = project.ok("sbom", "--output", str(out))
    assert out.read_bytes() == path.read_bytes()
    assert f"{len(listed)} Python and {len(debs)} OS packages" in written


def _new_release(project: Project, why: str) -> None:
    """A committed one-line change to the service's code: the next deploy is a new release."""
    path = Path("service/src/notes_service/__init__.py")
    text = (project.root / path).read_text()
    commit_change(project, path, f"{text}# {why}\n", why)


def test_the_sbom_and_the_backup_come_before_the_switch(project: Project) -> None:
    project.ok("deploy")
    _new_release(project, "a release whose SBOM and backup precede its switch")
    result = project.invoke("deploy", "--json")
    assert result.returncode == 0, result.stderr
    # The SBOM is written beside the rollout; its line comes, like the
    # backup's, before the proxy's switch to the new release.
    lines = result.stderr.splitlines()

    def first(start: str) -> int:
        return next(n for n, line in enumerate(lines) if line.startswith(start))

    assert first("backed up prod to") < first("switched the proxy"), lines
    assert first("wrote the SBOM .slipway/sbom/") < first("switched the proxy"), lines
    phases = [phase for phase, _ in json.loads(result.stdout)["timeline"]]
    assert phases.index("backup") < phases.index("sbom") < phases.index("switch"), phases


def test_an_sbom_that_cannot_be_written_fails_the_deploy_and_the_old_release_serves(
    project: Project,
) -> None:
    project.ok("deploy")
    serving = {c.id for c in app_containers(project)}
    before = json.loads(project.ok("history", "--json"))[-1]["image"]
    sboms = project.root / ".slipway" / "sbom"
    shutil.move(sboms, sboms.with_name("sbom.kept"))
    sboms.write_text("a file where the SBOM folder goes\n")
    try:
        _new_release(project, "a release whose SBOM cannot be written")
        with Traffic(project.url, clients=4, min_seconds=5) as load:
            failed = project.invoke("deploy")
    finally:
        sboms.unlink()
        shutil.move(sboms.with_name("sbom.kept"), sboms)
    assert failed.returncode == 1, failed.stdout
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("slipway: could not write the SBOM .slipway/sbom/"), last
    assert f"{before} kept serving and no request reached the new release" in last, last
    assert_no_request_failed(load)
    assert {c.id for c in app_containers(project)} == serving
    assert "switched the proxy" not in failed.stdout + failed.stderr
    row = json.loads(project.ok("history", "--json"))[-1]
    assert (row["outcome"], row["sbom_sha256"]) == ("failed", "")


# A small project whose image leaves one locked dependency out.
SMALL_PYPROJECT = (
    '[project]\nname = "small"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
    'dependencies = ["idna==3.10", "six==1.17.0"]\n'
)
SMALL_DOCKERFILE = """\
ARG UV_VERSION=0.13.9
FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

FROM python:3.13-slim-trixie AS prod
ENV PATH="/app/.venv/bin:$PATH" UV_PYTHON_DOWNLOADS=0 UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
COPY --from=uv /uv /bin/
COPY pyproject.toml uv.lock /app/
RUN uv sync --locked --no-dev --no-install-project --no-install-package six
"""


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Path]:
    """The small project, locked, built by `slipway build --target prod`."""
    image = f"slipway-test/sbom-{uuid.uuid4().hex[:6]}"
    files = {
        "pyproject.toml": SMALL_PYPROJECT,
        "slipway.yaml": SLIPWAY_YAML.format(name=image.replace("/", "-"), image=image),
        "compose.yaml": COMPOSE,
        "docker/Dockerfile": SMALL_DOCKERFILE,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    subprocess.run(["uv", "lock", "-q"], cwd=tmp_path, check=True, timeout=300)
    built = build_prod(tmp_path, timeout=600)
    try:
        assert built.returncode == 0, built.stdout + built.stderr
        yield tmp_path
    finally:
        tags = [t for i in docker.image.list(image) for t in i.repo_tags]
        if tags:
            docker.image.remove(tags, force=True)


def test_a_locked_package_the_image_does_not_install_is_not_in_its_sbom(small: Path) -> None:
    cfg = config.load(small / "slipway.yaml")
    ref = f"{cfg.image}:prod"
    assert "six" in (small / "uv.lock").read_text()  # locked, and left out by the build
    held = _installed_python(ref)
    assert "six" not in held
    assert held["idna"] == "3.10"

    bill = sbom.write(cfg, docker, ref, docker.image.inspect(ref).id)

    bom = json.loads(bill.path.read_text())
    listed = {
        (_normal(c["name"]), c["version"])
        for c in bom["components"]
        if c.get("purl", "").startswith("pkg:pypi/")
    }
    assert listed == set(held.items())  # idna, and nothing the image lacks
    assert bill.python_packages == len(held)
    properties = {p["name"]: p["value"] for p in bom["metadata"]["properties"]}
    assert properties["slipway:python:not-installed"] == "six"
    assert properties["slipway:python:not-installed-count"] == "1"
    # The same image gives the same file.
    assert sbom.write(cfg, docker, ref, docker.image.inspect(ref).id) == bill


def test_audit_without_a_reachable_source_says_not_checked(project: Project) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1/querybatch"
    result = project.invoke("audit", SLIPWAY_OSV_URL=closed)
    assert result.returncode == 3  # not checked, never a pass or a plain failure
    assert result.stderr.strip().splitlines()[-1].startswith("slipway: not checked: cannot reach")
    assert "no known vulnerabilities" not in result.stdout
    assert "Traceback" not in result.stderr


def _on_a_terminal(project: Project, *args: str) -> str:
    """Run `invoke ARGS` on a pseudo-terminal, as a person at a shell would."""
    controller, terminal = pty.openpty()
    env = {k: v for k, v in project.env().items() if k != "CI"}
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=project.root,
        env={**env, "TERM": "xterm-256color", "COLUMNS": "120"},
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    chunks = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the process is gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert process.wait(timeout=60) == 0
    return b"".join(chunks).decode(errors="replace")


def test_build_shows_steps_with_elapsed_time_on_a_terminal_and_plain_lines_piped(
    project: Project,
) -> None:
    shown = _on_a_terminal(project, "build", "--target", "prod")
    assert _ESCAPE in shown  # rich draws the live steps
    assert "✓" in shown
    assert re.search(r"prod \d+/\d+: (RUN|COPY)", shown), shown[-2000:]
    assert re.search(r"\d:\d\d:\d\d", shown)  # each step's elapsed time

    piped = project.invoke("build", "--target", "prod")
    assert piped.returncode == 0, piped.stderr
    assert _ESCAPE not in piped.stdout + piped.stderr
    assert re.search(r"^#\d+ \[prod \d+/\d+\]", piped.stdout, re.MULTILINE)
