"""HTTPS's certificates, without a network or an engine: what the local CA
issues, and each reason deploy refuses one (tls.certificates, tls.authority)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from slipway import tls
from slipway.config import Config
from slipway.errors import ConfigError
from slipway.tls import authority, certificates

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HOSTS = ("localhost", "notes.example.test", "127.0.0.1")


@pytest.fixture
def ca(tmp_path: Path) -> authority.Authority:
    made, new = authority.ensure(tmp_path, "notes", NOW)
    assert new
    return made


def _parts(pem: bytes) -> tuple[list[x509.Certificate], certificates.PrivateKeyTypes]:
    return certificates.load_chain(pem), certificates.load_key(pem)


def test_the_local_ca_is_made_once_its_key_only_its_owners(tmp_path: Path) -> None:
    first, made = authority.ensure(tmp_path, "notes", NOW)
    again, made_again = authority.ensure(tmp_path, "notes", NOW)

    assert (made, made_again) == (True, False)
    assert again.cert == first.cert
    assert (tmp_path / authority.KEY_NAME).stat().st_mode & 0o777 == 0o600
    assert first.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_what_the_ca_issues_covers_the_hosts_and_passes_every_check(
    ca: authority.Authority,
) -> None:
    chain, key = _parts(authority.issue(ca, HOSTS, NOW))

    assert chain[1] == ca.cert
    assert certificates.problems(chain, key, HOSTS, NOW) == []
    assert sorted(certificates.names_of(chain[0])) == sorted(HOSTS)
    assert certificates.days_left(chain[0], NOW) == authority.LEAF_DAYS
    assert authority.still_good(ca, authority.issue(ca, HOSTS, NOW), HOSTS, NOW)


def test_the_ca_issues_again_near_expiry_for_other_hosts_or_after_a_new_ca(
    ca: authority.Authority, tmp_path: Path
) -> None:
    served = authority.issue(ca, HOSTS, NOW)
    late = NOW + timedelta(days=authority.LEAF_DAYS - authority.RENEW_DAYS + 1)
    other, _ = authority.ensure(tmp_path / "other", "notes", NOW)

    assert not authority.still_good(ca, served, HOSTS, late)
    assert not authority.still_good(ca, served, ("localhost",), NOW)
    assert not authority.still_good(other, served, HOSTS, NOW)
    assert not authority.still_good(ca, b"not a certificate", HOSTS, NOW)


@pytest.mark.parametrize(
    ("when", "hosts", "said"),
    [
        (NOW + timedelta(days=200), HOSTS, "expired on 2027-03-07 12:00 UTC: renew it"),
        (
            NOW - timedelta(days=1),
            HOSTS,
            "is not valid before 2026-12-07 11:55 UTC: wait, or check the clock",
        ),
        (
            NOW,
            ("localhost", "other.example.test"),
            "does not cover other.example.test (it covers localhost, notes.example.test, "
            "127.0.0.1): get one that does, or change https.hosts",
        ),
    ],
)
def test_a_certificate_that_cannot_serve_says_why(
    ca: authority.Authority, when: datetime, hosts: tuple[str, ...], said: str
) -> None:
    chain, key = _parts(authority.issue(ca, HOSTS, NOW))

    assert certificates.problems(chain, key, hosts, when) == [said]


def test_a_key_that_is_not_the_certificates_is_refused(ca: authority.Authority) -> None:
    chain, _ = _parts(authority.issue(ca, HOSTS, NOW))

    assert certificates.problems(chain, ec.generate_private_key(ec.SECP256R1()), HOSTS, NOW) == [
        "does not match its key: set https.key to the key it was issued with"
    ]


def test_a_certificate_without_its_issuer_lacks_its_chain(ca: authority.Authority) -> None:
    chain, key = _parts(authority.issue(ca, HOSTS, NOW))

    (said,) = certificates.problems(chain[:1], key, HOSTS, NOW)
    assert said.startswith("lacks its chain: CN=slipway local CA for notes,O=slipway issued it")
    # A client that already trusts the issuer needs no chain.
    assert certificates.problems(chain[:1], key, HOSTS, NOW, trusted=[ca.cert]) == []


def test_one_that_expires_within_14_days_is_warned_of(ca: authority.Authority) -> None:
    chain, _ = _parts(authority.issue(ca, HOSTS, NOW))
    soon = NOW + timedelta(days=authority.LEAF_DAYS - 10)

    assert certificates.warnings(chain, soon) == [
        "expires in 10 day(s), on 2027-03-07 12:00 UTC: renew it"
    ]
    assert certificates.warnings(chain, NOW) == []


@pytest.mark.parametrize(
    ("names", "host", "covered"),
    [
        (["*.example.test"], "notes.example.test", True),
        (["*.example.test"], "a.notes.example.test", False),
        (["*.example.test"], "example.test", False),
        (["Notes.Example.Test"], "notes.example.test", True),
        (["127.0.0.1"], "127.0.0.1", True),
        (["localhost"], "127.0.0.1", False),
    ],
)
def test_wildcards_cover_one_label_and_addresses_only_themselves(
    ca: authority.Authority, names: list[str], host: str, covered: bool
) -> None:
    chain, _ = _parts(authority.issue(ca, names, NOW))

    assert certificates.covers(chain[0], host) is covered


class _Kept:
    """What an engine keeps, as files by path (slipway.kept.Kept's read and write)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def read(self, folder: str) -> dict[str, bytes]:
        prefix = f"{folder}/"
        return {k.removeprefix(prefix): v for k, v in self.files.items() if k.startswith(prefix)}

    def write(self, files: dict[str, bytes], *, mode: int, owner: int = 0) -> None:
        assert (mode, owner) == (0o400, 0)
        self.files.update(files)


def test_the_engine_keeps_the_ca_every_checkout_issues_from_and_another_is_refused(
    config: Config, tmp_path: Path
) -> None:
    env, kept = config.environment("prod"), _Kept()
    said: list[str] = []
    here = config.root / "secrets"

    made = tls.local_ca(kept, config, env, NOW, said.append)  # type: ignore[arg-type]
    assert set(kept.files) == {"secrets/slipway-ca.key", "secrets/slipway-ca.crt"}
    assert "prod's engine (the local engine) now keeps the local CA" in said

    # Another checkout, with no CA: the engine's, saved there to trust.
    for name in (authority.KEY_NAME, authority.CERT_NAME):
        (here / name).unlink()
    again = tls.local_ca(kept, config, env, NOW, said.append)  # type: ignore[arg-type]
    assert again.cert == made.cert
    assert (here / authority.KEY_NAME).stat().st_mode & 0o777 == 0o600
    assert authority.ensure(here, "notes", NOW)[0].cert == made.cert

    # One with a CA of its own: refused, never silently used.
    other, _ = authority.ensure(tmp_path / "other", "notes", NOW)
    authority.save(here, authority.pems(other))
    with pytest.raises(ConfigError, match=r"^secrets/slipway-ca.crt is another local CA than"):
        tls.local_ca(kept, config, env, NOW, said.append)  # type: ignore[arg-type]
