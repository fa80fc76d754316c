"""`slipway init`: slipway's files for an existing uv project, never over one of yours.

It reads the project (pyproject.toml and uv.lock), infers what it can (the
package, how to start the server, whether there are migrations) and takes
flags for the rest. In a uv workspace, ``--package`` names the member to
ship.

Then it writes slipway.yaml, the Dockerfile and its health probe, the
compose files, the env examples, .dockerignore, tasks.py, noxfile.py and a
Makefile from the templates in ``slipway/templates/``, and adds the lines
.gitignore lacks, with those that keep its files tracked where git would
ignore them. A file that exists is never touched: it is listed as skipped,
with the reason. Run in a workspace member's folder, it says to run at the
workspace's root with ``--package``.

One module per concern:

- :mod:`~slipway.init.flags`: what `slipway init` was told (:class:`Flags`),
  checked by slipway.yaml's rules before anything is read;
- :mod:`~slipway.init.project`: what the project is (pyproject.toml, uv.lock,
  the workspace's members, ``--package``) and its :class:`Project`;
- :mod:`~slipway.init.server`: how to start the server and migrate, inferred
  (uvicorn, gunicorn for Django, a project script; the project's own
  migration script);
- :mod:`~slipway.init.database`: the PostgreSQL environment of ``--database
  postgres`` (the driver's URL scheme), and the suggestion to ask for it;
- :mod:`~slipway.init.python`: the image's Python (``.python-version``, else
  the highest ``requires-python`` allows with an official slim image and a
  wheel for every compiled package in uv.lock) and its Debian release;
- :mod:`~slipway.init.inspecting`: :func:`inspect`, the flags and the
  project in one :class:`Project`;
- :mod:`~slipway.init.rendering`: the templates filled in, :func:`files`;
- :mod:`~slipway.init.writing`: the files written safely (no symlink
  followed, never over a file, .gitignore's missing lines): :func:`init`,
  and :func:`summary` of what it did.
- :mod:`~slipway.init.tracking`: which of them git would ignore (asked of
  git itself), and the .gitignore lines that keep them tracked.
"""

from __future__ import annotations

from slipway.init.flags import Flags
from slipway.init.inspecting import inspect
from slipway.init.project import Project
from slipway.init.rendering import DEFAULT_UV, TEMPLATES, files
from slipway.init.writing import Done, init, summary

__all__ = [
    "DEFAULT_UV",
    "TEMPLATES",
    "Done",
    "Flags",
    "Project",
    "files",
    "init",
    "inspect",
    "summary",
]
