"""slipway's nox sessions, where a project's ``noxfile.py`` imports them.

The noxfile `slipway init` writes (and every project already has) says
``from slipway.sessions import ...``: this module keeps that import path. The
sessions themselves live in :mod:`slipway.cli.sessions`; importing either
defines (and so registers with nox) every one of them.
"""

from __future__ import annotations

from slipway.cli.sessions import NAMES, docker_tests, image_size, lint, non_root, policy, tests

__all__ = ["NAMES", "docker_tests", "image_size", "lint", "non_root", "policy", "tests"]
