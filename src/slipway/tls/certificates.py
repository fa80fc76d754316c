"""Certificates as the proxy serves them, read and checked without a network.

Pure: PEM text in, findings out. :func:`problems` says, each in one line, why
a certificate cannot be served for an environment's hosts (expired, not yet
valid, a host it does not cover, a key that is not its own, a chain it
lacks); :func:`warnings` what is not wrong yet (it expires soon).
:func:`bundle` is the one file HAProxy reads: the certificate, its chain,
then its key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

# A certificate that expires within this many days is warned of.
WARN_DAYS = 14


def load_chain(pem: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM file, in its order (ValueError: none)."""
    chain = x509.load_pem_x509_certificates(pem)
    if not chain:
        raise ValueError("no certificate in it")
    return chain


def load_key(pem: bytes) -> PrivateKeyTypes:
    """A PEM private key, unencrypted (ValueError otherwise)."""
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise ValueError("it is encrypted: HAProxy needs it without a passphrase") from None


def key_pem(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def cert_pem(chain: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)


def bundle(chain: Sequence[x509.Certificate], key: PrivateKeyTypes) -> bytes:
    """HAProxy's crt file: the certificate, its chain, then its key."""
    return cert_pem(chain) + key_pem(key)


def names_of(cert: x509.Certificate) -> list[str]:
    """The DNS names and IP addresses the certificate covers (its SANs)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    dns = san.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return [*dns, *ips]


def covers(cert: x509.Certificate, host: str) -> bool:
    """Whether a client asking for ``host`` accepts the certificate (RFC 6125:
    a wildcard stands for exactly one leftmost label)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for name in names_of(cert):
        if address is not None:
            if name == str(address):
                return True
            continue
        have, wanted = name.lower().rstrip("."), host.lower().rstrip(".")
        if have == wanted:
            return True
        if have.startswith("*.") and "." in wanted and wanted.split(".", 1)[1] == have[2:]:
            return True
    return False


def _same_key(cert: x509.Certificate, key: PrivateKeyTypes) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject and issued_by(cert, cert)


def _day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def problems(
    chain: Sequence[x509.Certificate],
    key: PrivateKeyTypes,
    hosts: Sequence[str],
    now: datetime,
    *,
    trusted: Sequence[x509.Certificate] = (),
) -> list[str]:
    """Why ``chain`` (the served certificate first) cannot be served for
    ``hosts`` at ``now``: each reason a phrase ("expired on ..."); [] when it
    can. ``trusted`` are issuers a client already has (the local CA)."""
    leaf = chain[0]
    found = []
    if leaf.not_valid_after_utc <= now:
        found.append(f"expired on {_day(leaf.not_valid_after_utc)}: renew it")
    if leaf.not_valid_before_utc > now:
        found.append(
            f"is not valid before {_day(leaf.not_valid_before_utc)}: wait, or check the clock"
        )
    missing = [h for h in hosts if not covers(leaf, h)]
    if missing:
        has = ", ".join(names_of(leaf)) or "no host name"
        found.append(
            f"does not cover {', '.join(missing)} (it covers {has}): get one that does, "
            "or change https.hosts"
        )
    if not _same_key(leaf, key):
        found.append("does not match its key: set https.key to the key it was issued with")
    found.extend(_chain_problems(chain, trusted))
    return found


def _chain_problems(
    chain: Sequence[x509.Certificate], trusted: Sequence[x509.Certificate]
) -> list[str]:
    """Each certificate must be issued by the next one (or by one ``trusted``),
    up to one that is self-signed or trusted."""
    for cert, after in zip(chain, [*chain[1:], None], strict=True):
        if _self_signed(cert) or any(issued_by(cert, t) for t in trusted):
            return []
        if after is None:
            return [
                f"lacks its chain: {cert.issuer.rfc4514_string()} issued it and is not in "
                "the file (append the intermediate certificates after it)"
            ]
        if not issued_by(cert, after):
            return [
                f"has its chain out of order: {cert.subject.rfc4514_string()} is not issued "
                "by the certificate after it"
            ]
    return []


def days_left(cert: x509.Certificate, now: datetime) -> int:
    return (cert.not_valid_after_utc - now) // timedelta(days=1)


def warnings(chain: Sequence[x509.Certificate], now: datetime) -> list[str]:
    """What is not wrong yet: a certificate that expires within WARN_DAYS."""
    left = days_left(chain[0], now)
    if 0 <= left < WARN_DAYS:
        return [f"expires in {left} day(s), on {_day(chain[0].not_valid_after_utc)}: renew it"]
    return []
