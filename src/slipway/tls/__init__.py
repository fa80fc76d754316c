"""HTTPS at an environment's proxy: the certificate it serves, checked before
anything running is touched, and sent to the engine.

An environment with ``https:`` serves the user's certificate (``certificate``
and ``key``), or one that slipway's local CA (:mod:`slipway.tls.authority`)
issues for its ``hosts``. Either way deploy checks it first
(:mod:`slipway.tls.certificates`) and refuses, in one line and before it
builds, one that has expired, is not valid yet, does not cover a host, does
not match its key or lacks its chain; it warns of one that expires within
14 days. The proxy reads it as one file, the certificate, its chain and its
key, which slipway writes into the environment's volume on its engine
(``proxy/tls/site.pem``, beside ``haproxy.cfg``), owned by the proxy's user
and readable by it alone; it never lands in this checkout, an image, a log
or the history. A certificate that changed reaches the running proxy by its
seamless reload (:func:`slipway.proxy.reload`), never by recreating it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from slipway import engine, secretfiles
from slipway.checks import CheckResult
from slipway.config import Config, Environment
from slipway.config.https import Https
from slipway.engine import mounts
from slipway.errors import ConfigError
from slipway.tls import authority, certificates

if TYPE_CHECKING:
    from slipway.handle import Report
    from slipway.kept import Kept

# Where the proxy reads it: proxy/tls/site.pem in the volume, mounted at
# /usr/local/etc/haproxy/tls/site.pem.
FOLDER = f"{mounts.PROXY_FOLDER}/tls"
SITE = "site.pem"
# HAProxy's user in its image: the key is its alone.
PROXY_UID = 99
SITE_MODE = 0o400
# The local CA on the engine: root's alone; no container mounts it.
CA_MODE = 0o400


def ca_certificate(config: Config) -> Path:
    """The local CA's certificate: what clients trust (`slipway ca`)."""
    return config.root / secretfiles.SECRETS_DIR / authority.CERT_NAME


def served(kept: Kept) -> bytes | None:
    """The crt file the environment's engine keeps for its proxy, if any."""
    return kept.read(FOLDER).get(SITE)


def _read(config: Config, env: Environment, path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{env.name}'s https.{what} {config.show(path)} cannot be read: {exc.strerror}"
        ) from None


def _own(config: Config, env: Environment, https: Https, now: datetime, report: Report) -> bytes:
    """The user's certificate and key as HAProxy's crt file, checked."""
    cert_file, key_file = https.certificate, https.key
    if cert_file is None or key_file is None:
        raise ConfigError(f"{env.name}'s https: gives no certificate and key of its own")
    shown = config.show(cert_file)
    try:
        chain = certificates.load_chain(_read(config, env, cert_file, "certificate"))
    except ValueError as exc:
        raise ConfigError(f"{env.name}'s certificate {shown} is not PEM: {exc}") from None
    try:
        key = certificates.load_key(_read(config, env, key_file, "key"))
    except ValueError as exc:
        raise ConfigError(
            f"{env.name}'s key {config.show(key_file)} is not a PEM private key: {exc}"
        ) from None
    found = certificates.problems(chain, key, https.hosts, now)
    if found:
        raise ConfigError(f"{env.name}'s certificate {shown} " + "; it ".join(found))
    for warning in certificates.warnings(chain, now):
        report(f"warning: {env.name}'s certificate {shown} {warning}")
    return certificates.bundle(chain, key)


def engine_ca(
    kept: Kept, config: Config, env: Environment, report: Report
) -> authority.Authority | None:
    """The project's local CA as the environment's engine keeps it (beside
    its secrets, mounted into no container), or None when it keeps none.
    A checkout without the CA's files gets the engine's, to trust; one with
    another CA is refused (ConfigError), never silently used."""
    folder = config.root / secretfiles.SECRETS_DIR
    cert_path = folder / authority.CERT_NAME
    there = {
        name: data
        for name, data in kept.read(mounts.SECRETS_FOLDER).items()
        if name in {authority.KEY_NAME, authority.CERT_NAME}
    }
    if len(there) < 2:
        return None
    if cert_path.is_file() and cert_path.read_bytes() != there[authority.CERT_NAME]:
        raise ConfigError(
            f"{config.show(cert_path)} is another local CA than the one {env.name}'s "
            f"engine ({engine.where(env)}) keeps: delete secrets/{authority.KEY_NAME} and "
            f"secrets/{authority.CERT_NAME}, then `slipway ca --env {env.name}` to trust "
            "the engine's"
        )
    if not cert_path.is_file():
        authority.save(folder, there)
        report(
            f"{config.show(cert_path)}: the local CA {env.name}'s engine keeps "
            "(trust it to verify its HTTPS: see `slipway ca`)"
        )
    return authority.loaded(there[authority.KEY_NAME], there[authority.CERT_NAME])


def local_ca(
    kept: Kept, config: Config, env: Environment, now: datetime, report: Report
) -> authority.Authority:
    """The CA that issues the environment's certificate: the one its engine
    keeps, so every checkout deploying there issues from the CA clients
    trust; else this checkout's (made first when missing), sent there."""
    ca = engine_ca(kept, config, env, report)
    if ca is not None:
        return ca
    ca, made = authority.ensure(config.root / secretfiles.SECRETS_DIR, config.project, now)
    if made:
        report(
            f"created slipway's local CA, {config.show(ca_certificate(config))}: "
            "trust it to verify this project's HTTPS (see `slipway ca`)"
        )
    kept.write(
        {f"{mounts.SECRETS_FOLDER}/{n}": d for n, d in authority.pems(ca).items()},
        mode=CA_MODE,
    )
    report(f"{env.name}'s engine ({engine.where(env)}) now keeps the local CA")
    return ca


def ca_for(config: Config, env: Environment | None, kept: Kept | None, report: Report) -> Path:
    """`slipway ca`: the CA certificate's path here, made if missing; with an
    environment (and what its engine keeps), the engine's CA saved here first
    when this checkout has none (ConfigError when it has another)."""
    found = None
    if env is not None and kept is not None:
        found = engine_ca(kept, config, env, report)
    if found is None:
        authority.ensure(ca_certificate(config).parent, config.project, datetime.now(UTC))
    return ca_certificate(config)


def _issued(
    config: Config, env: Environment, https: Https, kept: Kept, now: datetime, report: Report
) -> bytes:
    """The local CA's certificate for the environment's hosts: the one the
    engine keeps while it still serves, else a new one."""
    ca = local_ca(kept, config, env, now, report)
    kept_site = served(kept)
    if kept_site is not None and authority.still_good(ca, kept_site, https.hosts, now):
        return kept_site
    report(f"issued {env.name} a certificate for {', '.join(https.hosts)} by the local CA")
    return authority.issue(ca, https.hosts, now)


def install(
    kept: Kept, config: Config, env: Environment, *, report: Report, now: datetime | None = None
) -> bool:
    """Check the environment's certificate (ConfigError, in one line, when it
    cannot be served) and send it to its engine; True when what the engine
    keeps changed. Nothing for an environment without ``https:``."""
    https = env.https
    if https is None:
        return False
    now = now or datetime.now(UTC)
    if https.own:
        site = _own(config, env, https, now, report)
    else:
        site = _issued(config, env, https, kept, now, report)
    if served(kept) == site:
        return False
    kept.write({f"{FOLDER}/{SITE}": site}, mode=SITE_MODE, owner=PROXY_UID)
    return True


def doctor_row(config: Config, env: Environment, now: datetime | None = None) -> CheckResult:
    """`doctor`'s row of an environment with ``https:``: the days its own
    certificate has left (or why deploy would refuse it), or the local CA's."""
    https = env.https
    if https is None:
        raise ValueError(f"{env.name} has no https:")
    now = now or datetime.now(UTC)
    name = f"certificate {env.name}"
    if not https.own:
        path = ca_certificate(config)
        if not path.is_file():
            return CheckResult(name, True, "the local CA's: deploy makes the CA and issues it")
        left = certificates.days_left(certificates.load_chain(path.read_bytes())[0], now)
        return CheckResult(
            name,
            True,
            f"the local CA's, issued at deploy for {authority.LEAF_DAYS} days and again "
            f"below {authority.RENEW_DAYS} (the CA has {left} days left)",
        )
    try:
        site = _own(config, env, https, now, report=lambda _: None)
    except ConfigError as exc:
        return CheckResult(name, False, str(exc))
    chain = certificates.load_chain(site)
    left = certificates.days_left(chain[0], now)
    warned = certificates.warnings(chain, now)
    detail = f"{config.show(https.certificate or Path())}: {left} days left"
    return CheckResult(name, not warned, f"{detail}; {warned[0]}" if warned else detail)
