"""HTTPS at the proxy (issue 22): slipway.yaml's `https:`, served by HAProxy
with the local CA's certificate or the user's own, checked before anything
runs, rotated under load with no failed request.

One stack for the module, on a port and an HTTPS_PORT of its own; requests
go over loopback, to the names the certificate covers by SNI.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import socket
import ssl
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from python_on_whales import docker

from bench.traffic import Traffic
from tests.docker.conftest import (
    Project,
    app_containers,
    assert_no_request_failed,
    commit_change,
    free_port,
    git,
    make_project,
    remove_project,
)

pytestmark = pytest.mark.docker

HOSTS = ["localhost", "notes.example.test"]


@dataclass(frozen=True)
class Secure:
    """The module's project and the port its proxy publishes HTTPS on."""

    project: Project
    https_port: int

    def invoke(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.project.invoke(*args, HTTPS_PORT=str(self.https_port))

    def ok(self, *args: str) -> str:
        result = self.invoke(*args)
        assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def https(self, settings: dict[str, object]) -> None:
        """slipway.yaml's prod gets these `https:` settings (not committed)."""
        path = self.project.root / "slipway.yaml"
        data = yaml.safe_load(path.read_text())
        data["environments"]["prod"]["https"] = settings
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https_port}"


class _Pinned(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 asking for ``host`` by SNI (and in the Host header)."""

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _context(*cafiles: Path) -> ssl.SSLContext:
    context = ssl.create_default_context()
    for cafile in cafiles:
        context.load_verify_locations(cafile)
    return context


def _get(
    port: int, host: str, path: str, context: ssl.SSLContext
) -> tuple[int, dict[str, str], bytes, x509.Certificate]:
    conn = _Pinned(host, port, timeout=10, context=context)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        served = x509.load_der_x509_certificate(conn.sock.getpeercert(binary_form=True))
        return response.status, dict(response.getheaders()), response.read(), served
    finally:
        conn.close()


def _plain(port: int, method: str, path: str) -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=b"{}" if method == "POST" else None)
        response = conn.getresponse()
        return response.status, dict(response.getheaders())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secure]:
    made = Secure(make_project(tmp_path_factory.mktemp("https")), free_port())
    made.https({"hosts": HOSTS})
    git(made.project.root, "commit", "-qam", "prod serves HTTPS")
    made.ok("deploy")
    yield made
    remove_project(made.project)


@pytest.fixture(scope="module")
def local_ca(secure: Secure) -> Path:
    return Path(secure.ok("ca").strip())


def test_tls_verifies_against_the_local_ca_for_each_host_and_fails_for_another(
    secure: Secure, local_ca: Path
) -> None:
    assert local_ca == secure.project.root / "secrets/slipway-ca.crt"
    context = _context(local_ca)
    context.set_alpn_protocols(["h2", "http/1.1"])
    for host in HOSTS:
        with (
            socket.create_connection(("127.0.0.1", secure.https_port), timeout=10) as sock,
            context.wrap_socket(sock, server_hostname=host) as tls,
        ):
            assert tls.version() in {"TLSv1.2", "TLSv1.3"}
            assert tls.selected_alpn_protocol() == "h2"
        status, _, body, _ = _get(secure.https_port, host, "/health", _context(local_ca))
        assert (status, json.loads(body)["status"]) == (200, "ok")
    with pytest.raises(ssl.SSLCertVerificationError, match="match"):
        _get(secure.https_port, "other.example.test", "/health", _context(local_ca))


def test_plain_http_answers_308_to_https_and_hsts_is_sent_only_when_asked(
    secure: Secure, local_ca: Path
) -> None:
    for method in ("GET", "POST"):
        status, headers = _plain(secure.project.port, method, "/notes?limit=1")
        assert status == 308
        assert headers["location"] == f"https://127.0.0.1:{secure.https_port}/notes?limit=1"
    _, headers, _, _ = _get(secure.https_port, "localhost", "/health", _context(local_ca))
    # Not asked for (hsts: false): the rotation test below asks for it.
    assert "strict-transport-security" not in {k.lower() for k in headers}


def test_the_app_sees_the_client_s_scheme_and_address_not_the_proxy_s(
    secure: Secure, local_ca: Path
) -> None:
    # The app's own redirect (a trailing slash) is built from the scheme it
    # sees: https, as the client asked, not the proxy's plain HTTP to it.
    status, headers, _, _ = _get(
        secure.https_port, "notes.example.test", "/notes/?limit=1", _context(local_ca)
    )
    location = {k.lower(): v for k, v in headers.items()}["location"]
    assert (status, location) == (
        307,
        f"https://notes.example.test:{secure.https_port}/notes?limit=1",
    )
    # Its access log names the address the proxy saw, not the proxy's own.
    proxy = next(
        c for c in docker.container.list() if c.name == f"{secure.project.name}-prod-proxy-1"
    )
    proxy_addresses = {n.ip_address for n in proxy.network_settings.networks.values()}
    logged = re.findall(
        r"(\S+):\d+ - \"GET /notes/\?limit=1 HTTP/1.1\" 307", secure.ok("logs", "--tail", "200")
    )
    assert logged, "the request is not in the app's access log"
    client = logged[-1]
    assert ipaddress.ip_address(client)
    assert client not in proxy_addresses


def _clone(secure: Secure, dest: Path) -> Secure:
    """Another checkout of the same project (no secrets/ of its own)."""
    subprocess.run(["git", "clone", "-q", secure.project.root, dest], check=True)
    project = secure.project
    return Secure(Project(dest, project.name, project.image, project.port), secure.https_port)


def test_another_checkout_issues_from_the_ca_the_engine_keeps_and_one_with_its_own_is_refused(
    secure: Secure, local_ca: Path, tmp_path: Path
) -> None:
    second = _clone(secure, tmp_path / "second")
    # `ca --env` saves the engine's CA here, for this machine to trust.
    assert Path(second.ok("ca", "--env", "prod").strip()) == local_ca_of(second)
    assert local_ca_of(second).read_bytes() == local_ca.read_bytes()
    before = _get(secure.https_port, "localhost", "/health", _context(local_ca))[3]
    out = second.ok("deploy")
    assert "issued" not in out
    # The same certificate still serves, trusted by the same CA.
    status, _, _, served = _get(secure.https_port, "localhost", "/health", _context(local_ca))
    assert (status, served) == (200, before)

    third = _clone(secure, tmp_path / "third")
    third.ok("ca")  # a CA of its own, made here
    running = sorted(c.id for c in docker.container.list())
    result = third.invoke("deploy")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        "slipway: secrets/slipway-ca.crt is another local CA than the one prod's engine "
        "(the local engine) keeps: delete secrets/slipway-ca.key and secrets/slipway-ca.crt"
    ), line
    assert sorted(c.id for c in docker.container.list()) == running
    assert _get(secure.https_port, "localhost", "/health", _context(local_ca))[0] == 200


def local_ca_of(secure: Secure) -> Path:
    return secure.project.root / "secrets/slipway-ca.crt"


# --- the user's own certificates ---------------------------------------------


@dataclass(frozen=True)
class Provider:
    """A certificate authority of the test's own, as a user's provider would be."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def make(cls) -> Provider:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "slipway test provider")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    def issue(
        self, hosts: Sequence[str], *, starts: timedelta, ends: timedelta
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + starts)
            .not_valid_after(now + ends)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        return cert, key


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="module")
def provider() -> Provider:
    return Provider.make()


def _use(
    secure: Secure, provider: Provider, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> bytes:
    """Make the certificate and key the environment's own (with the
    provider's certificate as its chain; the files are git-ignored, the
    settings not committed); the key's PEM."""
    folder = secure.project.root / "secrets/tls"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.crt").write_bytes(_pem(cert) + _pem(provider.cert))
    (folder / "notes.key").write_bytes(_key_pem(key))
    (folder / "notes.key").chmod(0o600)
    secure.https(
        {
            "hosts": HOSTS,
            "certificate": "secrets/tls/notes.crt",
            "key": "secrets/tls/notes.key",
            "hsts": 600,
        }
    )
    return _key_pem(key)


@pytest.mark.parametrize(
    ("starts", "ends", "hosts", "other_key", "said"),
    [
        (-10, -1, HOSTS, False, "expired on "),
        (2, 30, HOSTS, False, "is not valid before "),
        (-1, 30, ["localhost"], False, "does not cover notes.example.test (it covers localhost)"),
        (-1, 30, HOSTS, True, "does not match its key: set https.key to the key it was issued"),
    ],
    ids=["expired", "not-yet-valid", "wrong-host", "wrong-key"],
)
def test_a_certificate_that_cannot_serve_is_refused_with_one_line_and_nothing_touched(
    secure: Secure,
    provider: Provider,
    starts: int,
    ends: int,
    hosts: list[str],
    other_key: bool,
    said: str,
) -> None:
    cert, key = provider.issue(hosts, starts=timedelta(days=starts), ends=timedelta(days=ends))
    if other_key:
        key = ec.generate_private_key(ec.SECP256R1())
    running = sorted(c.id for c in docker.container.list())
    _use(secure, provider, cert, key)

    result = secure.invoke("deploy")

    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("slipway: prod's certificate secrets/tls/notes.crt "), line
    assert said in line, line
    assert sorted(c.id for c in docker.container.list()) == running


def test_a_redeploy_and_a_certificate_rotated_under_load_over_https_fail_no_request(
    secure: Secure, local_ca: Path, provider: Provider
) -> None:
    context = _context(local_ca)
    context.load_verify_locations(cadata=_pem(provider.cert).decode())
    before = {c.id for c in app_containers(secure.project)}
    # A new release that also moves to the user's own certificate, with HSTS.
    first, first_key = provider.issue(HOSTS, starts=timedelta(days=-1), ends=timedelta(days=20))
    _use(secure, provider, first, first_key)
    commit_change(secure.project, Path("service/CHANGES.md"), "Over HTTPS.\n", "over https")
    # The same files renewed in place: nothing else changes.
    cert, key = provider.issue(HOSTS, starts=timedelta(days=-1), ends=timedelta(days=20))

    with Traffic(secure.url, clients=4, context=context) as load:
        rolled = secure.ok("deploy")
        key_pem = _use(secure, provider, cert, key)
        rotated = secure.ok("deploy")

    assert "switched the proxy to" in rolled
    assert_no_request_failed(load, context)
    assert not before & {c.id for c in app_containers(secure.project)}
    assert "nothing to roll" in rotated
    assert "prod's proxy serves the new certificate (reloaded: no connection dropped)" in rotated
    _, headers, _, served = _get(secure.https_port, "notes.example.test", "/health", context)
    assert served == cert
    assert {k.lower(): v for k, v in headers.items()}["strict-transport-security"] == "max-age=600"
    # Plain HTTP never tells a client to insist on HTTPS.
    assert "strict-transport-security" not in {
        k.lower() for k in _plain(secure.project.port, "GET", "/health")[1]
    }
    # The key is nowhere but the proxy's own file: not in any container's
    # inspect, the logs, .slipway/ or the history.
    body = b"".join(key_pem.splitlines()[1:-1]).decode()
    project = secure.project.name
    ids = [c.id for c in docker.container.list(all=True, filters=[("name", project)])]
    inspected = subprocess.run(
        ["docker", "container", "inspect", *ids], capture_output=True, text=True, check=True
    ).stdout
    assert body[:40] not in inspected
    assert body[:40] not in secure.ok("logs", "--tail", "1000")
    for path in (secure.project.root / ".slipway").rglob("*"):
        assert not path.is_file() or body[:40].encode() not in path.read_bytes(), path
    # doctor shows the days it has left.
    doctor = json.loads(secure.invoke("doctor", "--env", "prod", "--json").stdout)
    (row,) = [r for r in doctor if r["name"] == "certificate prod"]
    assert (row["ok"], row["detail"]) == (True, "secrets/tls/notes.crt: 19 days left")
    # The proxy's user alone reads it.
    proxy = next(c for c in docker.container.list() if c.name == f"{project}-prod-proxy-1")
    site = "/usr/local/etc/haproxy/tls/site.pem"
    assert docker.container.execute(proxy, ["stat", "-c", "%u %a", site]) == "99 400"
