"""Nox sessions, written by `slipway init`: slipway's. `nox -l` lists them;
a bare `nox` runs them all."""

import nox

try:
    from slipway.sessions import (
        NAMES,
        docker_tests,
        image_size,
        lint,
        non_root,
        policy,
        tests,
    )
except ModuleNotFoundError as missing:
    raise SystemExit(
        f"noxfile.py: this nox cannot import slipway ({missing}): run slipway's own "
        "nox (uv tool install --with-executables-from invoke,nox slipway), "
        "or add slipway to this project's dev group"
    ) from None

__all__ = ["docker_tests", "image_size", "lint", "non_root", "policy", "tests"]

nox.options.default_venv_backend = "uv"
nox.options.sessions = list(NAMES)
nox.options.error_on_external_run = True
