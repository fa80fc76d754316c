"""What the names and values slipway hands on may hold: compose project and
environment names (which also name files), image repositories, compose
services, container names and the health path HAProxy requests.

Each rule is one regular expression, valid in Python and in JSON Schema
(ECMA-262), so slipway.yaml's models check it, its published schema carries
it as a ``pattern``, `slipway init` checks its flags with it and the proxy
checks what it renders against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Docker's reference grammar (distribution/reference): an optional registry
# host[:port], then lowercase path components joined by one of . _ __ -+.
_HOST_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"{_HOST_PART}(?:\.{_HOST_PART})*(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"


@dataclass(frozen=True)
class Rule:
    """A kind of name: ``pattern`` says what it may hold, ``what`` says it in words."""

    what: str
    pattern: str

    def matches(self, value: object) -> bool:
        """True for a string the pattern matches whole (a final newline included)."""
        return isinstance(value, str) and re.fullmatch(self.pattern, value) is not None


PROJECT = Rule(
    "a compose project name (lowercase letters, digits, - and _, starting with a letter or digit)",
    r"^[a-z0-9][a-z0-9_-]*$",
)
# An environment names files (.slipway/<name>.env) and is the last part of a
# compose project name (<project>-<name>): the same characters, so no slash and no dot.
ENVIRONMENT = Rule(
    "an environment name (lowercase letters, digits, - and _, starting with a letter "
    "or digit: it names files and compose projects)",
    PROJECT.pattern,
)
IMAGE = Rule(
    "a Docker image repository without a tag (lowercase path components joined by /, "
    "each of letters and digits separated by . _ or -, after an optional registry "
    "host[:port]/), e.g. registry.example.com:5000/team/app",
    rf"^(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*$",
)
SERVICE = Rule(
    "a compose service name (letters, digits, ., - and _, starting with a letter or digit)",
    r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$",
)
CONTAINER = Rule(
    "a Docker container name (letters, digits, ., - and _, starting with a letter or digit)",
    SERVICE.pattern,
)
# Where an environment's stack runs: what the docker CLI takes as --host
# (ssh://[user@]host[:port] or tcp://host:port) or as --context (a name).
ENGINE = Rule(
    "ssh://[user@]host[:port], tcp://host:port or a docker context name",
    rf"^(?:ssh://(?:[A-Za-z0-9._-]+@)?{_HOST}|tcp://{_HOST_PART}(?:\.{_HOST_PART})*:[0-9]+"
    r"|[a-zA-Z0-9][a-zA-Z0-9_.+-]*)$",
)
# Where a swarm's nodes pull releases from: a registry host[:port] (no
# scheme, no path), as the engine that pushes and the nodes reach it.
REGISTRY = Rule(
    "a registry host[:port] as the swarm's nodes reach it, e.g. registry.example.com:5000",
    rf"^{_HOST}$",
)
# The characters RFC 3986 allows in a path and query that mean nothing to
# HAProxy's configuration parser: no quote, backslash, #, $ or space.
URL_PATH_CHARACTERS = "-._~!&()*+,;=:@/?"
# A name a certificate covers and a client asks for (SNI): a DNS name, or a
# wildcard's first label; an IP address is written as itself.
HOST_NAME = Rule(
    "a host name (letters, digits and -, labels joined by ., a first label * for a "
    "wildcard) or an IP address",
    rf"^(?:\*\.)?{_HOST_PART}(?:\.{_HOST_PART})*$|^[0-9.]+$|^[0-9A-Fa-f:]+$",
)
URL_PATH = Rule(
    f"a URL path starting with / made of letters, digits, %XX escapes and {URL_PATH_CHARACTERS}",
    r"^/(?:[A-Za-z0-9._~!&()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*$",
)
