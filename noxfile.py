"""Nox sessions: slipway's (src/slipway/cli/sessions.py). `uv run nox -l` lists
them; a bare `nox` (what `make test` runs) runs them all."""

from __future__ import annotations

import nox

from slipway.sessions import NAMES, docker_tests, image_size, lint, non_root, policy, tests

__all__ = ["docker_tests", "image_size", "lint", "non_root", "policy", "tests"]

nox.options.default_venv_backend = "uv"
nox.options.sessions = list(NAMES)
nox.options.error_on_external_run = True
