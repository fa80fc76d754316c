"""The proxy's configuration from its template file is, byte for byte, what
slipway wrote when the template was a string in proxy.py: the texts below were
captured from that code (commit 17fe95f) for the same inputs, with the lines
the frontend has had since: the forwarded headers and where HTTPS goes."""

from __future__ import annotations

import pytest

from slipway import proxy
from slipway.config.https import Https

# render(["slipway-prod-app-3", "slipway-prod-app-4"], project="slipway")
TWO_SERVERS = """\
# Written by slipway for slipway: every deploy and rollback rewrites it.
# It names the app containers of the release that takes traffic.

global
    # The runtime API; on a reload the new worker takes the listening sockets
    # over from the old one through it, so no connection is ever refused.
    stats socket /tmp/haproxy.sock mode 600 level admin expose-fd listeners
    # A worker replaced by a reload gets this long to finish its requests.
    hard-stop-after 30s

resolvers docker
    # Docker's embedded DNS: a replica restarted with a new address is found again.
    nameserver dns 127.0.0.11:53
    hold valid 1s

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    # A request whose server refused the connection or died before answering
    # goes to another server; only idempotent requests are retried after
    # they reached a server (see disable-l7-retry below).
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    # A new server connection per request: a replica closing an idle
    # keep-alive connection can never race a request sent on it.
    option http-server-close

frontend http
    bind :8080
    # No HTTPS: slipway.yaml gives this environment no https:.
    # The app sees the client's address and the scheme it asked with.
    option forwardfor
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    http-request set-header X-Forwarded-Proto http unless { ssl_fc }
    http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }
    default_backend app

frontend health
    # The proxy's own healthcheck: healthy while one app server is up.
    bind 127.0.0.1:8404
    monitor-uri /healthz
    monitor fail if { nbsrv(app) lt 1 }

backend app
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    default-server check inter 2s fall 2 rise 2 resolvers docker init-addr last,libc,none
    server slipway-prod-app-3 slipway-prod-app-3:8000
    server slipway-prod-app-4 slipway-prod-app-4:8000
"""

# render(["shop-prod-app-1"], project="shop", port=9000, health_path=...)
ONE_SERVER_ENCODED_PATH = """\
# Written by slipway for shop: every deploy and rollback rewrites it.
# It names the app containers of the release that takes traffic.

global
    # The runtime API; on a reload the new worker takes the listening sockets
    # over from the old one through it, so no connection is ever refused.
    stats socket /tmp/haproxy.sock mode 600 level admin expose-fd listeners
    # A worker replaced by a reload gets this long to finish its requests.
    hard-stop-after 30s

resolvers docker
    # Docker's embedded DNS: a replica restarted with a new address is found again.
    nameserver dns 127.0.0.11:53
    hold valid 1s

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    # A request whose server refused the connection or died before answering
    # goes to another server; only idempotent requests are retried after
    # they reached a server (see disable-l7-retry below).
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    # A new server connection per request: a replica closing an idle
    # keep-alive connection can never race a request sent on it.
    option http-server-close

frontend http
    bind :8080
    # No HTTPS: slipway.yaml gives this environment no https:.
    # The app sees the client's address and the scheme it asked with.
    option forwardfor
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    http-request set-header X-Forwarded-Proto http unless { ssl_fc }
    http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }
    default_backend app

frontend health
    # The proxy's own healthcheck: healthy while one app server is up.
    bind 127.0.0.1:8404
    monitor-uri /healthz
    monitor fail if { nbsrv(app) lt 1 }

backend app
    balance roundrobin
    option httpchk GET /a%20b%22c%23%24%7Bx%7D%5C50%25
    http-check expect status 200
    default-server check inter 2s fall 2 rise 2 resolvers docker init-addr last,libc,none
    server shop-prod-app-1 shop-prod-app-1:9000
"""

# render([], project="shop-2", port=1, health_path="ready")
NO_SERVER = """\
# Written by slipway for shop-2: every deploy and rollback rewrites it.
# It names the app containers of the release that takes traffic.

global
    # The runtime API; on a reload the new worker takes the listening sockets
    # over from the old one through it, so no connection is ever refused.
    stats socket /tmp/haproxy.sock mode 600 level admin expose-fd listeners
    # A worker replaced by a reload gets this long to finish its requests.
    hard-stop-after 30s

resolvers docker
    # Docker's embedded DNS: a replica restarted with a new address is found again.
    nameserver dns 127.0.0.11:53
    hold valid 1s

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    # A request whose server refused the connection or died before answering
    # goes to another server; only idempotent requests are retried after
    # they reached a server (see disable-l7-retry below).
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    # A new server connection per request: a replica closing an idle
    # keep-alive connection can never race a request sent on it.
    option http-server-close

frontend http
    bind :8080
    # No HTTPS: slipway.yaml gives this environment no https:.
    # The app sees the client's address and the scheme it asked with.
    option forwardfor
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    http-request set-header X-Forwarded-Proto http unless { ssl_fc }
    http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }
    default_backend app

frontend health
    # The proxy's own healthcheck: healthy while one app server is up.
    bind 127.0.0.1:8404
    monitor-uri /healthz
    monitor fail if { nbsrv(app) lt 1 }

backend app
    balance roundrobin
    option httpchk GET /ready
    http-check expect status 200
    default-server check inter 2s fall 2 rise 2 resolvers docker init-addr last,libc,none

"""


@pytest.mark.parametrize(
    ("servers", "project", "port", "health_path", "before"),
    [
        (["slipway-prod-app-3", "slipway-prod-app-4"], "slipway", 8000, "/health", TWO_SERVERS),
        (["shop-prod-app-1"], "shop", 9000, '/a b"c#${x}\\50%', ONE_SERVER_ENCODED_PATH),
        ([], "shop-2", 1, "ready", NO_SERVER),
    ],
)
def test_the_template_renders_what_the_string_did(
    servers: list[str], project: str, port: int, health_path: str, before: str
) -> None:
    text = proxy.render(servers, project=project, port=port, health_path=health_path)

    assert text == before


def test_the_defaults_render_what_they_did() -> None:
    assert proxy.render(["slipway-prod-app-3", "slipway-prod-app-4"], project="slipway") == (
        TWO_SERVERS
    )


def test_the_template_is_a_file_beside_the_package() -> None:
    assert proxy.TEMPLATE.name == "haproxy.cfg.template"
    assert proxy.TEMPLATE.parent.name == "proxy"
    assert "${servers}" in proxy.TEMPLATE.read_text(encoding="utf-8")


def test_https_adds_tls_a_308_to_it_and_hsts_only_when_asked() -> None:
    servers = ["slipway-prod-app-1"]
    with_hsts = proxy.render(
        servers, project="slipway", https=Https(("localhost",), hsts=300), https_port=18443
    )
    without = proxy.render(servers, project="slipway", https=Https(("localhost",)), https_port=443)

    bind = (
        "    bind :8443 ssl crt /usr/local/etc/haproxy/tls/site.pem alpn h2,http/1.1 "
        "ssl-min-ver TLSv1.2\n"
    )
    assert bind in with_hsts
    assert bind in without
    assert (
        "    http-request redirect location https://%[req.hdr(host),field(1,:)]:18443%[url] "
        "code 308 unless { ssl_fc }\n"
    ) in with_hsts
    assert "https://%[req.hdr(host),field(1,:)]%[url] code 308" in without
    assert (
        '    http-response set-header Strict-Transport-Security "max-age=300" if { ssl_fc }\n'
        in (with_hsts)
    )
    assert "Strict-Transport-Security" not in without
    assert "ssl" not in proxy.render(servers, project="slipway").replace("ssl_fc", "")
