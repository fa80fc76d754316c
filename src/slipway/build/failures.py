"""Why a build failed, in the one line the user reads.

A failed build's log (BuildKit's plain progress) holds the cause in the
failing step's own output, far above the last line. :func:`message` makes
that line: the failing step, the step's own last error line and exit code,
and a hint where the cause is one slipway knows (a C compiler the image
lacks, a package with no wheel for the image's Python, a Python the project
does not allow, a base image the engine neither has nor can pull).

Pure text: it reads the build's own log, never a docker command's error
(those are :mod:`slipway.engine`'s to read).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

# A step header in BuildKit's plain progress: "#12 [builder 4/6] RUN uv sync".
_STEP = re.compile(r"^#(\d+) \[[^\]]+\] (.+)$")
# A line of a step's output: "#12 0.345 text" ("#12 text" for BuildKit's own).
_OUTPUT = re.compile(r"^#(\d+) (?:\d+\.\d+(?: |$))?(.*)$")
# BuildKit's own lines about a step, not the step's words.
_FRAMING = re.compile(r"^(?:DONE|CACHED|CANCELED|\[output clipped|ERROR: process )")
# How BuildKit says a RUN exited: '... did not complete successfully: exit code: 1'.
_EXIT = re.compile(r"did not complete successfully: exit code: (\d+)")
# A line that reads as an error: uv's `error:` (styled: `\u00d7`, `╰─▶`), a
# Python exception, a shell's `not found`, apt's `E:`...
_ERRORISH = re.compile(
    r"(?i:\berror\b|no such file|not found|incompatible|denied|fatal|cannot |can't )"
    r"|Error\b|^(?:\u00d7|╰─▶|E:)"
)
# The markers in front of an error's words, dropped from the one line.
_MARKER = re.compile(r"^(?:(?:error|cause|fatal)\s*:\s*|(?:\u00d7|╰─▶|├─▶|E:)\s*)+", re.IGNORECASE)
# RUN's own flags, which say nothing about what failed.
_RUN_FLAGS = re.compile(r"^RUN(?:\s+--\S+)+\s+")
# Docker Hub's prefix on an official image: docker.io/library/python:3.13.
_DOCKER_HUB = r"(?:docker\.io/)?(?:library/)?"

# The engine that built, as hints name it (a remote one is named instead).
THIS_ENGINE = "this engine"

# How long the parts of the one line may grow.
STEP_WIDTH = 80
SAID_WIDTH = 160


@dataclass(frozen=True)
class Step:
    """A step of the build as BuildKit logged it."""

    title: str  # "RUN uv sync --locked", "load metadata for docker.io/library/python:3.13"
    lines: list[str]  # every line of the log that belongs to it, header and ERROR too

    @cached_property
    def output(self) -> list[str]:
        """The step's own words: its lines without BuildKit's prefix and framing."""
        words = []
        for line in self.lines:
            if _STEP.match(line):
                continue
            match = _OUTPUT.match(line)
            text = (match.group(2) if match else line).strip()
            if text and not _FRAMING.match(text):
                words.append(text.removeprefix("ERROR: "))
        return words

    @property
    def exit_code(self) -> str:
        found = [m.group(1) for ln in self.lines if (m := _EXIT.search(ln))]
        return found[-1] if found else ""


def failed_step(lines: Sequence[str]) -> Step | None:
    """The step BuildKit reported as failed (``#N ERROR``), None when none is."""
    failed = [ln for ln in lines if re.match(r"^#\d+ ERROR", ln)]
    if not failed:
        return None
    number = failed[-1].split()[0]
    titles = [m.group(2) for ln in lines if (m := _STEP.match(ln)) and m.group(1) == number[1:]]
    own = [ln for ln in lines if ln.startswith(f"{number} ")]
    return Step(titles[-1] if titles else "", own)


def failing_step(lines: Sequence[str]) -> tuple[str, str]:
    """The instruction that failed and its output (its last 30 lines), from
    plain progress logs; no instruction and the log's last 20 lines when no
    step failed."""
    step = failed_step(lines)
    if step is None:
        return "", "\n".join(lines[-20:])
    return step.title, "\n".join(step.lines[-30:])


def message(stage: str, lines: Sequence[str], reason: str, *, engine: str = THIS_ENGINE) -> str:
    """The one line of a failed build of ``stage``: where it failed and why.

    ``reason`` is what the build command itself said last, for a build that
    failed before any step ran (a Dockerfile it cannot read or parse);
    ``engine`` names the engine that built, in hints about what it has."""
    step = failed_step(lines)
    if step is None:
        return f"building target {stage} failed: {reason}"
    where = f" at `{short_step(step.title)}`" if step.title else ""
    said = cause(step, lines).replace(f" {THIS_ENGINE}", f" {engine}")
    return f"building target {stage} failed{where}: {said}"


def cause(step: Step, lines: Sequence[str]) -> str:
    """What the failing step said (its last error line, its exit code) and,
    where slipway knows the cause, what to do: ``<said> (exit code N); hint: <hint>``."""
    output = step.output
    known = next(((hint, line) for line in output if (hint := _hint(step, line, lines))), None)
    said = known[1] if known else last_error(output)
    text = _shorten(_MARKER.sub("", said), SAID_WIDTH)
    code = f"exit code {step.exit_code}" if step.exit_code else ""
    text = f"{text} ({code})" if text and code else text or code or "no output"
    return f"{text}; hint: {known[0]}" if known else text


def last_error(output: Sequence[str]) -> str:
    """The last line that reads as an error, else the last line ("" for none)."""
    errors = [line for line in output if _ERRORISH.search(line)]
    return (errors or list(output) or [""])[-1]


def short_step(title: str) -> str:
    """An instruction as the user wrote it, in one short line: RUN's
    ``--mount``/``--network`` flags and Docker Hub's prefix dropped."""
    title = _RUN_FLAGS.sub("RUN ", " ".join(title.split()))
    title = re.sub(rf"^(load metadata for|FROM) {_DOCKER_HUB}", r"\1 ", title)
    return _shorten(title, STEP_WIDTH)


def _shorten(text: str, width: int) -> str:
    """``text`` within ``width`` characters: its start and its end, which in
    an error chain (``a: b: c``) is the most precise part, so whole links of
    the chain where they fit."""
    if len(text) <= width:
        return text
    head, *links = text.split(": ")
    kept: list[str] = []
    while links and len(": ".join([head, "…", links[-1], *kept])) <= width:
        kept.insert(0, links.pop())
    if kept:
        return f"{head}: … {': '.join(kept)}"
    start = width // 3
    return f"{text[:start].rstrip()} … {text[-(width - start - 3) :].lstrip()}"


# --- the causes slipway knows: each reads one line of the step's output --------

_COMPILER = r"(?:[\w.+-]+-)?(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+)"
# The ways a missing C compiler shows: setuptools' `[Errno 2] No such file or
# directory: 'x86_64-linux-gnu-gcc'` and `command 'gcc' failed: No such file
# or directory`, distutils' `unable to execute 'gcc'`, a shell's `gcc: not
# found`, meson's `Unknown compiler(s)`, CMake's, rustc's `linker `cc` not found`.
_NO_COMPILER = re.compile(
    rf"No such file or directory: '(?:[^']*/)?({_COMPILER})'"
    rf"|command '(?:[^']*/)?({_COMPILER})' failed: No such file or directory"
    rf"|unable to execute '(?:[^']*/)?({_COMPILER})'"
    rf"|(?:^|[\s/:])({_COMPILER}): (?:command )?not found"
    rf"|linker `({_COMPILER})` not found"
    r"|Unknown compiler\(s\)|No CMAKE_C(?:XX)?_COMPILER could be found"
)
# uv's and pip's words for the package whose build failed.
_BUILDING = re.compile(
    r"Failed to build `([^`\s]+)|Failed building wheel for (\S+)|Building wheel for (\S+) \("
)
# uv: `The requested interpreter resolved to Python 3.13.5, which is
# incompatible with the project's Python requirement: `>=3.14``; pip:
# `Package 'app' requires a different Python: 3.13.5 not in '>=3.14'`.
_PYTHON_MISMATCH = re.compile(
    r"resolved to Python \S+, which is incompatible with the project's Python"
    r" requirement: `([^`]+)`"
    r"|requires a different Python: \S+ not in '([^']+)'"
)
# uv, with no Python that satisfies the project: `No interpreter found for
# Python >=3.14 in managed installations or search path`.
_NO_INTERPRETER = re.compile(r"No interpreter found for Python (.+?) in ")
# uv: `Distribution `speedups==0.6.1 @ registry+...` can't be installed because
# it doesn't have a source distribution or wheel for the current platform`.
_NO_WHEEL = re.compile(
    r"Distribution `([^`\s]+)[^`]*` can't be installed because it doesn't have a source"
    r" distribution or wheel for the current platform"
)
# uv's hint after it: `You're using CPython 3.13 (`cp313`), but `speedups`
# (v0.6.1) only has wheels with the following Python ABI tag: `cp311``.
_WHEEL_TAGS = re.compile(r"You're using (.+?) \(`(\w+)`\), but .* only has wheels with .*?: (.+)$")
# A base image the engine lacks and could not pull.
_BASE_STEP = re.compile(r"^(?:load metadata for|FROM) (\S+)")
_UNREACHABLE = re.compile(
    r"dial tcp|no such host|i/o timeout|connection refused|TLS handshake timeout"
    r"|network is unreachable"
)


def _hint(step: Step, line: str, lines: Sequence[str]) -> str:
    """What to do about the cause ``line`` shows, "" when slipway does not know it."""
    return next((hint for read in _READERS if (hint := read(step, line, lines))), "")


def _compiler(step: Step, line: str, _lines: Sequence[str]) -> str:
    match = _NO_COMPILER.search(line)
    if not match:
        return ""
    named = next((g for g in match.groups() if g), None)
    compiler = f"a C compiler ({named})" if named else "a C compiler"
    built = [m for ln in step.output if (m := _BUILDING.search(ln))]
    if not built:
        return (
            f"the step runs {compiler} the image lacks: "
            "install build-essential in that stage (apt-get install build-essential)"
        )
    package = next(g for g in built[0].groups() if g).split(" @ ")[0]
    return (
        f"{package} has no wheel for this Python and platform and was built from source, "
        f"which needs {compiler} the image lacks: pin a version that has a wheel, "
        "or install build-essential in the builder stage"
    )


def _python(_step: Step, line: str, lines: Sequence[str]) -> str:
    match = _PYTHON_MISMATCH.search(line)
    if match:
        wanted = match.group(1) or match.group(2)
        image = _python_image(lines)
        return (
            f"the image's Python{image} does not satisfy requires-python `{wanted}`: "
            "change the Dockerfile's FROM, or the project's requires-python"
        )
    match = _NO_INTERPRETER.search(line)
    if match:
        image = _python_image(lines)
        return (
            f"the image{image} has no Python {match.group(1)}, which the project asks for "
            "(requires-python, or .python-version): change the Dockerfile's FROM, "
            "or what the project asks for"
        )
    return ""


def _python_image(lines: Sequence[str]) -> str:
    """`` (python:3.13-slim)``, the python image the build starts from, as
    its log names it; "" when the log names none."""
    for line in lines:
        match = _STEP.match(line)
        found = _BASE_STEP.match(match.group(2)) if match else None
        if found:
            image = _image(found.group(1))
            if image.split(":")[0].rsplit("/", 1)[-1] == "python":
                return f" ({image})"
    return ""


def _image(ref: str) -> str:
    """An image as a Dockerfile names it: python:3.13-slim, not
    docker.io/library/python:3.13-slim@sha256:..."""
    return re.sub(f"^{_DOCKER_HUB}", "", ref.partition("@")[0])


def _no_wheel(step: Step, line: str, _lines: Sequence[str]) -> str:
    match = _NO_WHEEL.search(line)
    if not match:
        return ""
    tags = next((m for ln in step.output if (m := _WHEEL_TAGS.search(ln))), None)
    which = f" ({tags.group(1)}, `{tags.group(2)}`; it has {tags.group(3)})" if tags else ""
    return (
        f"{match.group(1)} has no wheel for this image's Python and platform{which} "
        "and no source to build: pin a version that has one, "
        "or change the Dockerfile's FROM to a Python it has wheels for"
    )


def _base_image(step: Step, line: str, _lines: Sequence[str]) -> str:
    # Pulling prints progress first: the error is the step's last line.
    match = _BASE_STEP.match(step.title)
    if not match or line != step.output[-1]:
        return ""
    image = _image(match.group(1))
    if any(_UNREACHABLE.search(ln) for ln in step.output):
        return (
            f"the base image {image} is not on {THIS_ENGINE} and its registry cannot be "
            "reached from it: load it there (docker load), or change the Dockerfile's FROM "
            "to an image the engine has (docker image ls)"
        )
    return (
        f"the base image {image} is not on {THIS_ENGINE} and cannot be pulled: check the "
        "Dockerfile's FROM (the name and tag), or log in to its registry (docker login)"
    )


_READERS: tuple[Callable[[Step, str, Sequence[str]], str], ...] = (
    _compiler,
    _no_wheel,
    _python,
    _base_image,
)
