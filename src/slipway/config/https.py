"""slipway.yaml's ``https`` of an environment: the host names the proxy
serves over TLS, the certificate (the user's own, or one slipway's local CA
issues), and HSTS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import Field

from slipway.config.problems import Problems
from slipway.config.values import HostName, Section, Text

# Where the proxy listens for TLS in its container; HTTPS_PORT publishes it.
HTTPS_PORT = 8443
# The port published on the engine's host unless HTTPS_PORT says otherwise.
DEFAULT_HTTPS_PORT = 8443


@dataclass(frozen=True)
class Https:
    """What an environment's proxy serves over TLS."""

    hosts: tuple[str, ...]
    # The user's PEM certificate (with its chain) and key; both None: the local CA's.
    certificate: Path | None = None
    key: Path | None = None
    # Strict-Transport-Security's max-age, in seconds; None: not sent.
    hsts: int | None = None

    @property
    def own(self) -> bool:
        """Whether the certificate is the user's own (not the local CA's)."""
        return self.certificate is not None


class HttpsSettings(Section):
    """HTTPS at the proxy: the hosts it serves, the certificate, HSTS."""

    hosts: list[HostName] = Field(
        min_length=1, description="The host names the certificate covers (SNI)"
    )
    certificate: Text | None = Field(
        None, description="Your PEM certificate with its chain (unset: the local CA issues one)"
    )
    key: Text | None = Field(None, description="Your certificate's PEM private key")
    hsts: bool | Annotated[int, Field(gt=0)] = Field(
        False, description="false, or Strict-Transport-Security's max-age in seconds"
    )


def resolve(spec: HttpsSettings, root: Path, key: tuple[str, ...], problems: Problems) -> Https:
    """The section, its files checked: both or neither, each one present."""
    if (spec.certificate is None) != (spec.key is None):
        given, missing = ("certificate", "key") if spec.key is None else ("key", "certificate")
        raise problems.fail(
            (*key, missing),
            f"{given} is set without {missing}: give both, or neither for the local CA's",
        )
    if spec.hsts is True:
        raise problems.fail(
            (*key, "hsts"), "give HSTS's max-age in seconds (31536000 is a year), or false"
        )
    files = []
    for name, value in (("certificate", spec.certificate), ("key", spec.key)):
        if value is not None:
            if not (root / value).is_file():
                raise problems.fail((*key, name), f"{value} does not exist")
            files.append(root / value)
    certificate, private_key = files or (None, None)
    hsts = spec.hsts if not isinstance(spec.hsts, bool) else None
    return Https(tuple(dict.fromkeys(spec.hosts)), certificate, private_key, hsts)
