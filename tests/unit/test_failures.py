"""slipway.build.failures: a failed build's one line names its cause.

The logs in build_logs/ are BuildKit's plain progress of real failed builds
on this engine (`docker build --progress plain --target prod`, offline):

- uv-no-compiler: `uv sync` of a project whose dependency has a C extension
  and no wheel, built from source (setuptools) in python:3.13-slim-trixie;
- pip-no-compiler: the same package by `pip install`;
- sh-no-gcc: `RUN ... && gcc a.c` in the same image;
- uv-python-mismatch: `uv sync` with `UV_PYTHON=3.13` (as `slipway init`'s
  Dockerfile sets it) of a project requiring Python >=3.14;
- uv-no-interpreter: the same without `UV_PYTHON`;
- uv-no-wheel: a locked package with only a cp311 wheel and no sdist;
- base-unreachable: `FROM python:3.99-slim`, neither on the engine nor
  pullable (no network);
- python-traceback: a `RUN python -c "import ..."` that raises.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from slipway.build import failures

LOGS = Path(__file__).parent / "build_logs"
UV_SYNC = "building target prod failed at `RUN uv sync --locked --no-dev --no-editable`: "


def log(name: str) -> list[str]:
    return (LOGS / f"{name}.log").read_text().splitlines()


def one_line(name: str) -> str:
    return failures.message("prod", log(name), "the build command's last error line")


# --- what the user reads, for each real failure -------------------------------------


COMPILER_HINT = (
    "has no wheel for this Python and platform and was built from source, which needs a C "
    "compiler (x86_64-linux-gnu-gcc) the image lacks: pin a version that has a wheel, or "
    "install build-essential in the builder stage"
)
# Each real log, and the one line the user reads after it.
ONE_LINE = {
    # The package, the compiler, what to do.
    "uv-no-compiler": UV_SYNC
    + "[Errno 2] No such file or directory: 'x86_64-linux-gnu-gcc' (exit code 1); "
    + f"hint: cext {COMPILER_HINT}",
    # pip says it otherwise: the same cause.
    "pip-no-compiler": "building target prod failed at "
    "`RUN pip install --no-index --find-links wheels ./cext`: "
    "[Errno 2] No such file or directory: 'x86_64-linux-gnu-gcc' (exit code 1); "
    f"hint: cext {COMPILER_HINT}",
    # A compiler the step calls itself is not blamed on a package.
    "sh-no-gcc": 'building target prod failed at `RUN printf "int main(){return 0;}" > a.c && '
    'echo "compiling a.c" && gcc a.c`: /bin/sh: 1: gcc: not found (exit code 127); '
    "hint: the step runs a C compiler (gcc) the image lacks: install build-essential "
    "in that stage (apt-get install build-essential)",
    # The image, and the project's requires-python.
    "uv-python-mismatch": UV_SYNC
    + "The requested interpreter resolved to Python 3.13.5, which is incompatible "
    "with the project's Python requirement: `>=3.14` (from `project.requires-python`) "
    "(exit code 2); hint: the image's Python (python:3.13-slim-trixie) does not satisfy "
    "requires-python `>=3.14`: change the Dockerfile's FROM, or the project's "
    "requires-python",
    # The image, and what the project asked for.
    "uv-no-interpreter": UV_SYNC
    + "No interpreter found for Python >=3.14 in managed installations or search "
    "path (exit code 2); hint: the image (python:3.13-slim-trixie) has no Python >=3.14, "
    "which the project asks for (requires-python, or .python-version): change the "
    "Dockerfile's FROM, or what the project asks for",
    # Which wheels the package has, from uv's own hint.
    "uv-no-wheel": UV_SYNC
    + "Distribution `speedups==0.6.1 @ registry+wheels` can't be installed because "
    "it doesn't have a source distribution or wheel for the current platform (exit code 2); "
    "hint: speedups==0.6.1 has no wheel for this image's Python and platform "
    "(CPython 3.13, `cp313`; it has `cp311`) and no source to build: pin a version that "
    "has one, or change the Dockerfile's FROM to a Python it has wheels for",
    # The image, and why it cannot be had; the error chain keeps its ends.
    "base-unreachable": "building target prod failed at `load metadata for python:3.99-slim`: "
    "failed to do request: … dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: "
    "no such host; hint: the base image python:3.99-slim is not on this engine and its "
    "registry cannot be reached from it: load it there (docker load), or change the "
    "Dockerfile's FROM to an image the engine has (docker image ls)",
    # A cause slipway does not know: the step's last error line, no hint.
    "python-traceback": 'building target prod failed at `RUN echo "checking settings" && '
    'python -c "import notes_settings" && echo done`: '
    "ModuleNotFoundError: No module named 'notes_settings' (exit code 1)",
}


def test_every_real_log_has_its_one_line() -> None:
    assert sorted(ONE_LINE) == sorted(p.stem for p in LOGS.glob("*.log"))


@pytest.mark.parametrize("name", list(ONE_LINE))
def test_a_failed_builds_one_line_names_the_step_its_error_and_a_hint(name: str) -> None:
    assert one_line(name) == ONE_LINE[name]


def test_a_base_image_the_registry_refuses_says_to_check_the_name() -> None:
    # What BuildKit logs where the registry answers (Docker Hub's words for a
    # repository that does not exist), in place of the unreachable registry.
    refused = "#2 ERROR: pull access denied, repository does not exist or may require authorization"
    lines = [refused if ln.startswith("#2 ERROR") else ln for ln in log("base-unreachable")]

    line = failures.message("prod", lines, "")

    assert line.endswith(
        ": pull access denied, repository does not exist or may require authorization; "
        "hint: the base image python:3.99-slim is not on this engine and cannot be pulled: "
        "check the Dockerfile's FROM (the name and tag), or log in to its registry (docker login)"
    )


def test_a_build_on_an_environments_own_engine_names_that_engine_in_its_hint() -> None:
    engine = "prod's engine (ssh://deploy@notes.example)"

    line = failures.message("prod", log("base-unreachable"), "", engine=engine)

    assert line == ONE_LINE["base-unreachable"].replace(" this engine ", f" {engine} ")
    assert f"is not on {engine} and its registry cannot be reached from it" in line


# --- the rules behind it --------------------------------------------------------------


@pytest.mark.parametrize("name", list(ONE_LINE))
def test_buildkits_framing_never_reaches_the_line(name: str) -> None:
    line = one_line(name)

    assert "\n" not in line
    assert "failed to solve" not in line
    assert "did not complete successfully" not in line
    assert "------" not in line
    assert re.search(r"#\d+ ", line) is None  # no "#12 0.345" prefix


def test_a_step_that_says_nothing_gives_its_exit_code() -> None:
    lines = [
        "#9 [builder 3/5] RUN false",
        '#9 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1',
    ]

    assert (
        failures.message("prod", lines, "")
        == "building target prod failed at `RUN false`: exit code 1"
    )


def test_without_an_error_line_the_steps_last_line_is_the_cause() -> None:
    lines = [
        "#9 [builder 3/5] RUN echo 'compiling the flux capacitor' && exit 3",
        "#9 0.214 compiling the flux capacitor",
        "#9 ERROR: process \"/bin/sh -c echo 'compiling the flux capacitor' && exit 3\" did not "
        "complete successfully: exit code: 3",
    ]

    assert failures.message("prod", lines, "").endswith(
        ": compiling the flux capacitor (exit code 3)"
    )


def test_a_compile_error_is_not_a_missing_compiler() -> None:
    lines = [
        "#11 [builder 3/3] RUN uv sync --locked",
        "#11 2.1    Building httptools==0.6.1",
        "#11 3.4          x86_64-linux-gnu-gcc -c httptools/parser/parser.c -o build/parser.o",
        "#11 3.5          httptools/parser/parser.c:4:10: fatal error: Python.h: No such file "
        "or directory",
        "#11 3.5          error: command '/usr/bin/x86_64-linux-gnu-gcc' failed with exit code 1",
        '#11 ERROR: process "/bin/sh -c uv sync --locked" did not complete successfully: '
        "exit code: 1",
    ]

    line = failures.message("prod", lines, "")

    assert "hint" not in line
    assert line.endswith(
        ": command '/usr/bin/x86_64-linux-gnu-gcc' failed with exit code 1 (exit code 1)"
    )


def test_the_step_is_shown_as_written_without_runs_mount_flags() -> None:
    title = (
        "RUN --mount=type=cache,target=/root/.cache/uv     --mount=type=bind,source=uv.lock,"
        "target=uv.lock     uv sync --locked --no-dev --package notes-service"
    )

    assert failures.short_step(title) == "RUN uv sync --locked --no-dev --package notes-service"


def test_a_long_step_keeps_its_start_and_end() -> None:
    title = "RUN apt-get update && apt-get install -y " + " ".join(f"pkg{n}" for n in range(40))

    short = failures.short_step(title)

    assert len(short) <= failures.STEP_WIDTH
    assert short.startswith("RUN apt-get update")
    assert short.endswith("pkg39")
    assert " … " in short


def test_a_long_error_chain_keeps_its_first_and_last_links() -> None:
    said = "failed to do request: " + "Head x" * 40 + ": dial tcp: lookup host: no such host"

    step = failures.Step("RUN x", ["#3 [a 1/1] RUN x", f"#3 0.1 error: {said}", "#3 ERROR: x"])

    assert failures.cause(step, step.lines) == (
        "failed to do request: … dial tcp: lookup host: no such host"
    )


def test_a_build_that_failed_before_any_step_gives_the_commands_own_reason() -> None:
    lines = ['#0 building with "default" instance using docker driver']

    assert failures.message("base", lines, "ERROR: failed to read dockerfile: no such file") == (
        "building target base failed: ERROR: failed to read dockerfile: no such file"
    )


def test_a_failed_step_without_a_header_is_not_named() -> None:
    lines = ["#4 ERROR: failed to compute cache key: not found"]

    assert failures.message("prod", lines, "") == (
        "building target prod failed: failed to compute cache key: not found"
    )
