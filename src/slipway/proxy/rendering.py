"""The proxy's configuration as text: ``haproxy.cfg.template`` (beside this
module, a file a reader can open) filled in for one release.

The template is HAProxy's configuration with five ``string.Template``
placeholders: ``${project}``, ``${port}``, ``${health_path}``, ``${tls}``
(the HTTPS lines, or a comment) and ``${servers}``. Each value put there
is checked or encoded first, so it is one word of HAProxy's configuration
(or, for ``${servers}`` and ``${tls}``, whole lines) whatever the project,
the names or the path hold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from string import Template
from urllib.parse import quote

from slipway.config import names
from slipway.config.https import DEFAULT_HTTPS_PORT, HTTPS_PORT, Https
from slipway.errors import DeployFailed

# The port the proxy listens on in its container, and the file it reads.
PORT = 8080
CONFIG_NAME = "haproxy.cfg"
TEMPLATE = Path(__file__).with_name(f"{CONFIG_NAME}.template")
# The crt file slipway.tls writes into the proxy's folder: certificate, chain, key.
SITE_FILE = "/usr/local/etc/haproxy/tls/site.pem"


def render(
    servers: Sequence[str],
    *,
    project: str,
    port: int = 8000,
    health_path: str = "/health",
    https: Https | None = None,
    https_port: int = DEFAULT_HTTPS_PORT,
    discover: int = 0,
) -> str:
    """The configuration that sends traffic to ``servers`` (container names),
    which serve on ``port`` and answer 200 on ``health_path`` while alive;
    with ``https``, TLS too, and plain HTTP redirected to ``https_port`` (the
    port the engine's host publishes it on).

    Every value is one word of HAProxy's configuration whatever it holds:
    names are checked (DeployFailed) and the path is percent-encoded.

    With ``discover`` (a swarm), ``servers`` names one service whose tasks
    the proxy finds in Docker's DNS, up to ``discover`` of them at once."""
    for number in (port, https_port):
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 65535:
            raise DeployFailed(f"cannot write {CONFIG_NAME}: {number!r} is not a port number")
    lines = "\n".join(
        f"    server-template {name} {discover} {name}:{port}"
        if discover
        else f"    server {name} {name}:{port}"
        for name in (_word(s, names.CONTAINER) for s in servers)
    )
    # substitute() fills every placeholder in one pass (a value is never read
    # again) and raises KeyError should the template name one not given here.
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        project=_word(project, names.PROJECT),
        port=str(PORT),
        health_path=_url_path(health_path),
        servers=lines,
        tls=_tls(https, https_port),
    )


def _tls(https: Https | None, published: int) -> str:
    """The frontend's HTTPS lines (none without ``https``)."""
    if https is None:
        return "    # No HTTPS: slipway.yaml gives this environment no https:."
    port = "" if published == 443 else f":{published}"
    lines = [
        "    # HTTPS (slipway.yaml's https:): TLS 1.2 and 1.3, HTTP/2 by ALPN.",
        f"    bind :{HTTPS_PORT} ssl crt {SITE_FILE} alpn h2,http/1.1 ssl-min-ver TLSv1.2",
        "    # Plain HTTP is sent to HTTPS, by 308 so that a POST stays a POST.",
        f"    http-request redirect location https://%[req.hdr(host),field(1,:)]{port}%[url] "
        "code 308 unless { ssl_fc }",
    ]
    if https.hsts is not None:
        lines.append(
            f'    http-response set-header Strict-Transport-Security "max-age={int(https.hsts)}" '
            "if { ssl_fc }"
        )
    return "\n".join(lines)


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
