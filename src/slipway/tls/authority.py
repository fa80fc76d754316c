"""slipway's local certificate authority: made once per project, with the
`cryptography` package and no network, for an environment whose `https:`
gives no certificate of its own.

Its key and certificate are files in the git-ignored ``secrets/`` folder
(``slipway-ca.key``, 0600, and ``slipway-ca.crt``, which `slipway ca`
prints the path of, for ``curl --cacert`` and a trust store). It issues the
proxy's certificate for the configured hosts: ECDSA P-256, valid LEAF_DAYS
days and issued again once fewer than RENEW_DAYS are left or the hosts
change.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from slipway.errors import ConfigError
from slipway.tls import certificates

KEY_NAME, CERT_NAME = "slipway-ca.key", "slipway-ca.crt"
CA_DAYS = 3650
LEAF_DAYS = 90
RENEW_DAYS = 30


@dataclass(frozen=True)
class Authority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _create(project: str, now: datetime) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "slipway"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"slipway local CA for {project}"),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(cert, key)


def loaded(key_pem: bytes, cert_pem: bytes) -> Authority:
    """A CA from its key and certificate as PEM (ConfigError, in one line,
    for files that are not the CA slipway made)."""
    try:
        key = certificates.load_key(key_pem)
        cert = certificates.load_chain(cert_pem)[0]
    except ValueError:
        key = None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError(
            f"{KEY_NAME} and {CERT_NAME} are not the local CA slipway made: "
            "delete both to make a new one (and trust it again)"
        )
    return Authority(cert, key)


def pems(ca: Authority) -> dict[str, bytes]:
    """The CA's files by name: its key and its certificate, as PEM."""
    return {KEY_NAME: certificates.key_pem(ca.key), CERT_NAME: certificates.cert_pem([ca.cert])}


def save(folder: Path, files: dict[str, bytes]) -> None:
    """Write the CA's files into ``folder`` (0700), the key 0600."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / KEY_NAME, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(files[KEY_NAME])
    (folder / CERT_NAME).write_bytes(files[CERT_NAME])


def ensure(folder: Path, project: str, now: datetime) -> tuple[Authority, bool]:
    """The project's CA from ``folder`` (made there when missing); and whether
    it was made now."""
    key_path, cert_path = folder / KEY_NAME, folder / CERT_NAME
    if key_path.is_file() and cert_path.is_file():
        return loaded(key_path.read_bytes(), cert_path.read_bytes()), False
    made = _create(project, now)
    save(folder, pems(made))
    return made, True


def _san(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def issue(ca: Authority, hosts: Sequence[str], now: datetime) -> bytes:
    """A certificate for ``hosts`` and its new key, as HAProxy's crt file
    (the certificate, the CA's, the key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    ca_key_id = x509.SubjectKeyIdentifier.from_public_key(ca.key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca.cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_san(hosts), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    return certificates.bundle([cert, ca.cert], key)


def still_good(ca: Authority, served: bytes, hosts: Sequence[str], now: datetime) -> bool:
    """Whether the crt file ``served`` is this CA's, for exactly ``hosts``,
    with RENEW_DAYS or more left: kept rather than issued again."""
    try:
        chain = certificates.load_chain(served)
        key = certificates.load_key(served)
    except ValueError:
        return False
    leaf = chain[0]
    if not certificates.issued_by(leaf, ca.cert):
        return False
    if certificates.problems(chain, key, hosts, now, trusted=[ca.cert]):
        return False
    if sorted(certificates.names_of(leaf)) != sorted(str(h) for h in hosts):
        return False
    return certificates.days_left(leaf, now) >= RENEW_DAYS
