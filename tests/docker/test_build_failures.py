"""A failed build's one line names its cause and what to do (issue 27 item 7).

Tiny uv projects written here, built by the real `slipway build --target
prod` against the engine, from the images already on it (the uv image and
python:3.13-slim-trixie), offline: each build fails, and the last line the
user reads (`slipway: ...`) carries the failing step, its own error and a hint.
The last one goes through `slipway init`, whose Dockerfile builds on the
Python the project requires (issue 27 item 6): 3.14, an image not to be had.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from python_on_whales import docker

pytestmark = pytest.mark.docker

SLIPWAY = str(Path(sys.executable).parent / "slipway")

SLIPWAY_YAML = """\
project: {name}
image: {image}
dockerfile: docker/Dockerfile
service: app
port: 8000
health_path: /health
targets:
  prod:
environments:
  prod:
    target: prod
    compose_files: [compose.yaml]
    env_file: env/prod.env
"""
COMPOSE = "services:\n  app:\n    image: ${SLIPWAY_IMAGE:?}\n"

# slipway init's Dockerfile, cut to what these builds reach: uv syncs the
# locked dependencies with the image's Python, offline.
DOCKERFILE = """\
ARG UV_VERSION=0.13.9
FROM ghcr.io/astral-sh/uv:${{UV_VERSION}} AS uv

FROM {base} AS base
WORKDIR /app

FROM base AS builder
COPY --from=uv /uv /bin/
ENV UV_PYTHON_DOWNLOADS=0 UV_PYTHON={python} UV_OFFLINE=1 UV_PROJECT_ENVIRONMENT=/app/.venv
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv \\
    uv sync --locked --no-dev --no-install-project

FROM base AS prod
COPY --from=builder /app/.venv /app/.venv
"""

# A dependency with a C extension and no wheel: uv builds it from source with
# its build backend, which calls the compiler as setuptools does (sysconfig's
# CC, x86_64-linux-gnu-gcc in the python images), one the slim image lacks.
NEEDS_A_COMPILER = {
    "pyproject.toml": (
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["speedups"]\n\n[tool.uv.sources]\nspeedups = { path = "speedups" }\n'
    ),
    "uv.lock": (
        'version = 1\nrevision = 5\nrequires-python = ">=3.11"\n\n'
        '[[package]]\nname = "app"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
        'dependencies = [\n    { name = "speedups" },\n]\n\n'
        '[package.metadata]\nrequires-dist = [{ name = "speedups", directory = "speedups" }]\n\n'
        '[[package]]\nname = "speedups"\nversion = "0.6.1"\nsource = { directory = "speedups" }\n'
    ),
    "speedups/pyproject.toml": (
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        '[project]\nname = "speedups"\nversion = "0.6.1"\n'
    ),
    "speedups/backend.py": (
        "import subprocess\nimport sysconfig\n\n\n"
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
        '    compiler = sysconfig.get_config_var("CC").split()[0]\n'
        "    print(\"building 'speedups._speedups' extension\", flush=True)\n"
        '    subprocess.run([compiler, "-c", "speedups/_speedups.c"], check=True)\n'
    ),
}
# A project that requires a Python the image does not have.
NEEDS_PYTHON_3_14 = {
    "pyproject.toml": '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.14"\n',
    "uv.lock": (
        'version = 1\nrevision = 5\nrequires-python = ">=3.14"\n\n'
        '[[package]]\nname = "app"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
    ),
}
SYNC = (
    "slipway: building target prod failed at `RUN uv sync --locked --no-dev --no-install-project`: "
)

# What the user reads: the one line's start (the step, what it said) and its hint.
CASES = {
    "a compiler the image lacks": (
        NEEDS_A_COMPILER,
        "python:3.13-slim-trixie",
        SYNC + "FileNotFoundError: [Errno 2] No such file or directory: 'x86_64-linux-gnu-gcc' "
        "(exit code 1); ",
        "hint: speedups has no wheel for this Python and platform and was built from source, "
        "which needs a C compiler (x86_64-linux-gnu-gcc) the image lacks: pin a version that "
        "has a wheel, or install build-essential in the builder stage",
    ),
    "a Python the project does not allow": (
        NEEDS_PYTHON_3_14,
        "python:3.13-slim-trixie",
        SYNC + "The requested interpreter resolved to Python 3.13.5, which is incompatible with "
        "the project's Python requirement: `>=3.14` (from `project.requires-python`) "
        "(exit code 2); ",
        "hint: the image's Python (python:3.13-slim-trixie) does not satisfy requires-python "
        "`>=3.14`: change the Dockerfile's FROM, or the project's requires-python",
    ),
}


@pytest.fixture
def image() -> Iterator[str]:
    """The image repository the builds tag; whatever lands there is removed."""
    repository = f"slipway-test/build-failure-{uuid.uuid4().hex[:6]}"
    yield repository
    tags = [t for i in docker.image.list(repository) for t in i.repo_tags]
    if tags:
        docker.image.remove(tags, force=True)


def write_project(root: Path, image: str, files: dict[str, str], base: str) -> None:
    python = base.partition(":")[2].partition("-")[0]
    every = {
        **files,
        "slipway.yaml": SLIPWAY_YAML.format(
            name=f"slipway-test-{uuid.uuid4().hex[:6]}", image=image
        ),
        "compose.yaml": COMPOSE,
        "docker/Dockerfile": DOCKERFILE.format(base=base, python=python),
    }
    for name, text in every.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def build_prod(root: Path, *, timeout: int) -> subprocess.CompletedProcess[str]:
    """`slipway build --target prod` in ``root``, as CI runs it."""
    return subprocess.run(
        [SLIPWAY, "build", "--target", "prod"],
        cwd=root,
        env={**os.environ, "CI": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("case", list(CASES))
def test_a_failed_builds_one_line_names_its_cause_and_what_to_do(
    case: str, image: str, tmp_path: Path
) -> None:
    files, base, said, hint = CASES[case]
    write_project(tmp_path, image, files, base)

    result = build_prod(tmp_path, timeout=120)

    assert result.returncode == 1, (result.stdout, result.stderr)
    # slipway's own (the build's log may hold the backend's, under its step's "#N").
    everything = (result.stdout + result.stderr).splitlines()
    assert not any(line.startswith("Traceback") for line in everything)
    *details, last = result.stderr.strip().splitlines()
    assert details, "the failing step's output is printed above the one line"
    assert last.startswith(said), last
    assert hint in last.removeprefix(said), last
    assert docker.image.list(image) == []


def test_a_project_requiring_python_3_14_is_told_the_image_it_needs(
    image: str, tmp_path: Path
) -> None:
    """init builds on the highest Python requires-python allows (issue 27
    item 6): 3.14, whose image this engine neither has nor can pull (offline
    here; elsewhere it would be pulled). The build's one line names it."""
    for name, text in NEEDS_PYTHON_3_14.items():
        (tmp_path / name).write_text(text)
    init = subprocess.run(
        [SLIPWAY, "init", "--command", "python -m http.server 8000", "--migrate", "none"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    assert (
        "python: 3.14 on python:3.14-slim-trixie (the highest requires-python `>=3.14` allows)"
        in init.stdout.splitlines()
    )
    settings = (tmp_path / "slipway.yaml").read_text()
    (tmp_path / "slipway.yaml").write_text(settings.replace("image: app\n", f"image: {image}\n"))

    result = build_prod(tmp_path, timeout=120)

    assert result.returncode == 1, (result.stdout, result.stderr)
    last = result.stderr.strip().splitlines()[-1]
    said = "slipway: building target prod failed at `load metadata for python:3.14-slim-trixie`: "
    assert last.startswith(said), last
    assert "hint: the base image python:3.14-slim-trixie is not on this engine and " in last
    assert docker.image.list(image) == []
