"""The proxy's configuration as text: ``haproxy.cfg.template`` (beside this
module, a file a reader can open) filled in for one release.

The template is HAProxy's configuration with four ``string.Template``
placeholders: ``${project}``, ``${port}``, ``${health_path}`` and
``${servers}``. Each value put there is checked or encoded first, so it is
one word of HAProxy's configuration (or, for ``${servers}``, whole ``server``
lines) whatever the project, the names or the path hold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from string import Template
from urllib.parse import quote

from slipway.config import names
from slipway.errors import DeployFailed

# The port the proxy listens on in its container, and the file it reads.
PORT = 8080
CONFIG_NAME = "haproxy.cfg"
TEMPLATE = Path(__file__).with_name(f"{CONFIG_NAME}.template")


def render(
    servers: Sequence[str], *, project: str, port: int = 8000, health_path: str = "/health"
) -> str:
    """The configuration that sends traffic to ``servers`` (container names),
    which serve on ``port`` and answer 200 on ``health_path`` while alive.

    Every value is one word of HAProxy's configuration whatever it holds:
    names are checked (DeployFailed) and the path is percent-encoded."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise DeployFailed(f"cannot write {CONFIG_NAME}: {port!r} is not a port number")
    lines = "\n".join(
        f"    server {name} {name}:{port}" for name in (_word(s, names.CONTAINER) for s in servers)
    )
    # substitute() fills every placeholder in one pass (a value is never read
    # again) and raises KeyError should the template name one not given here.
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        project=_word(project, names.PROJECT),
        port=str(PORT),
        health_path=_url_path(health_path),
        servers=lines,
    )


def _word(value: str, rule: names.Rule) -> str:
    """``value``, which ``rule`` allows, for haproxy.cfg; DeployFailed otherwise."""
    if not rule.matches(value):
        raise DeployFailed(f"cannot write {CONFIG_NAME}: {value!r} is not {rule.what}")
    return value


def _url_path(path: str) -> str:
    """``path`` with every character HAProxy's parser could read as more than
    one word (a space, a quote, #, $, a backslash, a line break) percent-encoded."""
    encoded = quote(
        path if path.startswith("/") else f"/{path}", safe=f"{names.URL_PATH_CHARACTERS}%"
    )
    return re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", encoded)
