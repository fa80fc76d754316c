"""The doctor's checks of this host and the project's files: uv and its lock,
env files against their examples, secret files. No docker call here."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from slipway import secretfiles, state
from slipway.checks import NOT_CHECKED, CheckResult
from slipway.checks.versions import parse_version
from slipway.config import Config, Environment, Target, dotenv
from slipway.errors import SlipwayError, command
from slipway.init import python

# uv's words (and git's, for a git dependency) when an index or a repository
# cannot be reached: its network is off, or a connection never answered.
_OFFLINE = ("network was disabled", "network connectivity is disabled")
_UNREACHABLE = (
    "error sending request",
    "dns error",
    "tcp connect error",
    "could not connect",
    "could not resolve host",
    "operation timed out",
    "network timeout",
)

# The image the Dockerfile copies uv from: its tag is the uv the images run.
UV_IMAGE = "ghcr.io/astral-sh/uv"
UV_TIMEOUT = 120


def uv_pin(images: Sequence[str]) -> str | None:
    """The uv version the Dockerfile copies from ``ghcr.io/astral-sh/uv:X.Y.Z``."""
    for ref in images:
        name, _, tag = ref.partition("@")[0].rpartition(":")
        if name == UV_IMAGE and tag:
            return tag
    return None


def _run(command: Sequence[str], config: Config) -> subprocess.CompletedProcess[str] | str:
    try:
        return subprocess.run(
            command,
            cwd=config.root,
            capture_output=True,
            text=True,
            timeout=UV_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`{' '.join(command)}` could not run: {exc}"


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    return _last_of(done.stderr + "\n" + done.stdout) or f"exit code {done.returncode}"


def _last_of(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def uv_rows(config: Config, images: Sequence[str]) -> list[CheckResult]:
    """The host's uv is the Dockerfile's, and uv.lock is up to date with pyproject.toml."""
    pin = uv_pin(images)
    dockerfile = config.show(config.dockerfile)
    uv = shutil.which("uv")
    if uv is None:
        wanted = f"uv {pin}" if pin else "uv"
        return [
            CheckResult("uv", False, f"uv is not on PATH: install {wanted} (make installs it)"),
            CheckResult("uv.lock", False, "uv.lock: not checked: no uv"),
        ]
    done = _run([uv, "--version"], config)
    host = parse_version(done.stdout) if not isinstance(done, str) else None
    if isinstance(done, str):
        uv_row = CheckResult("uv", False, done)
    elif host is None:
        uv_row = CheckResult("uv", False, f"`uv --version` printed no version: {_last_line(done)}")
    elif pin is None:
        uv_row = CheckResult(
            "uv",
            False,
            f"{dockerfile} pins no {UV_IMAGE}:X.Y.Z: pin the uv {host} that wrote uv.lock",
        )
    elif host != parse_version(pin):
        uv_row = CheckResult(
            "uv",
            False,
            f"host uv {host} is not {dockerfile}'s {pin}: install uv {pin} "
            "(one uv may refuse a lock another wrote under --locked)",
        )
    else:
        uv_row = CheckResult("uv", True, f"uv {host}, as {dockerfile} pins")
    return [uv_row, lock_row(uv, config)]


def lock_row(uv: str, config: Config) -> CheckResult:
    """uv.lock is up to date with pyproject.toml; "not checked" when telling
    needs the package index and uv cannot reach it."""
    lock = _run([uv, "lock", "--check"], config)
    if isinstance(lock, str):
        return CheckResult("uv.lock", False, lock)
    if lock.returncode == 0:
        return CheckResult("uv.lock", True, "up to date with pyproject.toml (uv lock --check)")
    why = no_network(lock.stderr + "\n" + lock.stdout)
    if why:
        return CheckResult(
            "uv.lock",
            False,
            f"{NOT_CHECKED}no network ({why}): `uv lock --check` needs the package index",
        )
    return CheckResult("uv.lock", False, f"`uv lock --check` failed: {_last_line(lock)}")


def no_network(output: str) -> str:
    """Why uv could not reach an index or a repository, in a few words, from
    its output; "" when it did (an index that answers, even 404, is reached)."""
    lowered = output.lower()
    if any(words in lowered for words in _OFFLINE):
        missing = re.search(r"(\S+) was not found in the cache", output)
        return f"uv runs offline and its cache lacks {missing[1] if missing else 'a package'}"
    if not any(words in lowered for words in _UNREACHABLE):
        return ""
    causes = [
        line.split(":", 1)[1].strip()
        for line in output.splitlines()
        if line.strip().startswith(("cause:", "Caused by:"))
    ]
    url = re.search(r"https?://[^\s`'()]+", output)
    where = f"{urlsplit(url[0]).netloc}: " if url else ""
    return where + (causes[-1] if causes else _last_of(output))


# --- env files and secrets --------------------------------------------------------------


def used(config: Config, env_name: str) -> bool:
    """Whether the environment has run a release here: then what deploy
    would create for a first run (a random secret, an env file from its
    example) is missing, not yet to come, since the data already running
    was made with the old one."""
    return state.release_file(config, config.environment(env_name)).is_file()


def creating_command(env: Environment) -> str:
    """The slipway command that creates an environment's env file from its example."""
    task = "dev" if env.target is Target.DEV else "deploy"
    return command(f"{task} --env {env.name}")


def env_file_row(config: Config, env: Environment) -> CheckResult:
    """The env file exists and has every key its committed example has."""
    name, shown, example = (
        f"env {env.name}",
        config.show(env.env_file),
        config.show(env.env_example),
    )
    if not env.env_file.is_file():
        if env.env_example.is_file() and not used(config, env.name):
            return CheckResult(
                name,
                True,
                f"{shown} is not there yet: `{creating_command(env)}` creates it from "
                f"{example} (or cp {example} {shown})",
                note=True,
            )
        return CheckResult(name, False, f"{shown} is missing and there is no {example}: create it")
    if not env.env_example.is_file():
        return CheckResult(name, True, f"{shown} present (no {example} to compare with)")
    try:
        missing = dotenv.missing_keys(env.env_example.read_text(), env.env_file.read_text())
    except OSError as exc:
        return CheckResult(name, False, f"{shown} cannot be read ({exc.strerror}): fix its mode")
    if missing:
        keys = ", ".join(missing)
        return CheckResult(name, False, f"{shown} lacks {keys} (in {example}): add them")
    return CheckResult(name, True, f"{shown} has every key of {example}")


def secret_rows(config: Config, envs: Sequence[Environment] | None = None) -> list[CheckResult]:
    """One row per file-based compose secret of the environments (default all)."""
    needed: dict[Path, list[str]] = {}
    rows = []
    for env in config.environments.values() if envs is None else envs:
        try:
            for path in secretfiles.declared(env.compose_files):
                needed.setdefault(path, []).append(env.name)
        except SlipwayError as exc:
            rows.append(CheckResult(f"secrets {env.name}", False, str(exc)))
    return rows + [secret_row(config, path, users) for path, users in needed.items()]


def secret_row(config: Config, path: Path, users: Sequence[str]) -> CheckResult:
    """Present and readable here. Its mode does not matter to the containers:
    deploy sends its value to the engine, readable by every container user
    (see secretfiles.KEPT_MODE)."""
    shown = config.show(path)
    name, for_whom = f"secret {shown}", f"needed by {', '.join(users)}"
    ours = path.is_relative_to((config.root / secretfiles.SECRETS_DIR).resolve())
    if not path.is_file() and ours and not any(used(config, env) for env in users):
        # Deploy (and `secrets`) create it with a random value when it is needed.
        fix = f"`{command('secrets')}` or a deploy creates it"
        return CheckResult(name, True, f"{shown} is not there yet ({for_whom}): {fix}", note=True)
    if not path.is_file():
        fix = (
            f"`{command('secrets')}` creates it"
            if ours
            else f"create it (slipway writes only {secretfiles.SECRETS_DIR}/)"
        )
        return CheckResult(name, False, f"{shown} is missing ({for_whom}): {fix}")
    try:
        path.read_bytes()
    except OSError as exc:
        return CheckResult(name, False, f"{shown} cannot be read ({exc.strerror}): fix its owner")
    return CheckResult(name, True, f"present and readable ({for_whom})")


def python_row(config: Config, images: Sequence[str]) -> list[CheckResult]:
    """The Dockerfile's Python (its ``python:X.Y`` base) against the
    project's requires-python; no row when it builds on no python image."""
    versions = [
        found.group(1)
        for ref in images
        if (found := re.fullmatch(r"(?:docker\.io/)?(?:library/)?python:(3\.\d+)\b.*", ref))
    ]
    if not versions:
        return []
    dockerfile = config.show(config.dockerfile)
    try:
        data = tomllib.loads((config.root / "pyproject.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        data = {}
    wanted = python.requirement(config.root, data)
    if not wanted:
        return [CheckResult("python", True, f"{dockerfile}: Python {versions[0]}")]
    try:
        fits = python.allows(wanted, versions[0])
    except SlipwayError as exc:
        return [CheckResult("python", False, str(exc))]
    if fits:
        return [
            CheckResult(
                "python",
                True,
                f"{dockerfile}'s Python {versions[0]} meets requires-python `{wanted}`",
            )
        ]
    allowed = [v for v in python.OFFICIAL if python.allows(wanted, v)]
    instead = (
        f"FROM python:{allowed[0]}-slim-{python.debian(allowed[0])}"
        if allowed
        else "a Python it allows"
    )
    return [
        CheckResult(
            "python",
            False,
            f"{dockerfile} builds on Python {versions[0]}, which requires-python `{wanted}` "
            f"does not allow: build on {instead}",
        )
    ]
