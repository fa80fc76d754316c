"""Env files and ``${VAR}`` substitution, read without compose.

`invoke doctor` compares an env file's keys with its example, and, when the
compose plugin is missing, works out the published port from the compose
files itself. The same substitution resolves a Dockerfile's ``ARG`` defaults
in ``FROM`` lines (BuildKit supports the same forms).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# $$, ${NAME}, ${NAME:-word} (and -, :?, ?, :+, +), $NAME.
_VAR = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?[-?+])([^}]*))?\}|(\w+))")


def parse(text: str) -> dict[str, str]:
    """The ``KEY=value`` pairs of an env file, in order (a bare ``KEY`` maps to "").

    Comments, blank lines and lines that are not assignments are skipped;
    ``export KEY=...`` is read as ``KEY=...``; one pair of quotes is removed,
    and an unquoted value ends at `` #``.
    """
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not _KEY.fullmatch(key):
            continue
        if len(value) >= 2 and value[0] in "'\"" and value.endswith(value[0]):
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def missing_keys(example: str, actual: str) -> list[str]:
    """Keys the example assigns that the actual env file does not, in the example's order."""
    have = parse(actual)
    return [key for key in parse(example) if key not in have]


def substitute(text: str, values: Mapping[str, str]) -> str | None:
    """``text`` with every variable replaced, or None when one cannot be
    resolved (unset with no default, or a ``:?``/``?`` requirement unmet)."""
    unresolved = False

    def one(match: re.Match[str]) -> str:
        nonlocal unresolved
        escaped, name, op, word, bare = match.groups()
        if escaped:
            return "$"
        name = name or bare
        value = values.get(name)
        # With a colon, an empty value counts as unset.
        is_set = value is not None and (value != "" or not (op or "").startswith(":"))
        if op in {":-", "-"}:
            return value if is_set and value is not None else word
        if op in {":+", "+"}:
            return word if is_set else ""
        if value is None or (op in {":?", "?"} and not is_set):
            unresolved = True
            return ""
        return value

    result = _VAR.sub(one, text)
    return None if unresolved else result
