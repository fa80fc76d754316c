"""Nox sessions, written by `slipway init`: slipway's. `nox -l` lists them;
a bare `nox` runs them all."""

import nox
from slipway.sessions import (
    NAMES,
    docker_tests,
    image_size,
    lint,
    non_root,
    policy,
    tests,
)

__all__ = ["docker_tests", "image_size", "lint", "non_root", "policy", "tests"]

nox.options.default_venv_backend = "uv"
nox.options.sessions = list(NAMES)
nox.options.error_on_external_run = True
