"""The machine and the tool versions the figures were measured with."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def _first_line(command: list[str]) -> str:
    """The first line a version command prints, or why there is none."""
    if shutil.which(command[0]) is None:
        return "not installed"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "no answer"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else f"exit code {done.returncode}"


def _cpuinfo_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    models = [
        ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")
    ]
    return models[0] if models else platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def machine() -> dict[str, object]:
    return {
        "platform": platform.platform(),
        "cpu": _cpuinfo_model(),
        "cpus": os.cpu_count(),
        "memory_gb": _memory_gb(),
    }


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def tools() -> dict[str, str]:
    return {
        "docker engine": _first_line(["docker", "version", "--format", "{{.Server.Version}}"]),
        "docker cli": _first_line(["docker", "version", "--format", "{{.Client.Version}}"]),
        "buildx": _first_line(["docker", "buildx", "version"]),
        "compose": _first_line(["docker", "compose", "version", "--short"]),
        "python": platform.python_version(),
        "invoke": _package("invoke"),
        "nox": _package("nox"),
        "python-on-whales": _package("python-on-whales"),
        "uv": _first_line(["uv", "--version"]),
        "wrk": _first_line(["wrk", "--version"]),
    }
