"""`invoke audit`: the locked runtime dependencies against known vulnerabilities.

The source is OSV (osv.dev), which carries the PyPA advisory database and
GitHub's advisories, asked in one batch by package URL. The audit passes
only when the source answered for every package: a source that cannot be
reached, or an answer that does not cover every package, is "not checked"
and fails. (pip-audit's default service is the trap this avoids: it reports
"No known vulnerabilities found" and exits 0 for packages it could not look
up, unless given --strict.)
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from slipway.build import sbom
from slipway.checks import NOT_CHECKED, CheckResult
from slipway.config import Config
from slipway.errors import NotChecked

OSV_URL = "https://api.osv.dev/v1/querybatch"
# Where a mirror of OSV's API (or a test's closed port) is named instead.
OSV_URL_ENV = "SLIPWAY_OSV_URL"
_TIMEOUT_SECONDS = 30

__all__ = ["OSV_URL", "OSV_URL_ENV", "Audit", "Finding", "NotChecked", "audit"]


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    vulnerabilities: tuple[str, ...]


@dataclass(frozen=True)
class Unknown:
    """A locked package OSV cannot know: not from PyPI (a path or git
    dependency, a private index), so its name and version say nothing."""

    package: str
    version: str
    source: str


@dataclass(frozen=True)
class Audit:
    source: str
    checked: int
    findings: tuple[Finding, ...]
    # Third-party packages that were not checked: the audit cannot pass.
    not_checked: tuple[Unknown, ...] = ()
    # The project's own workspace members: its code, not a dependency to audit.
    own: tuple[str, ...] = ()

    def results(self) -> list[CheckResult]:
        """One row per group of packages, for :func:`slipway.checks.verdict`:
        from PyPI (failing on any known vulnerability), not from PyPI (not
        checked: the audit cannot pass), the project's own (not audited)."""
        rows = [self._from_pypi()]
        if self.not_checked:
            rows.append(self._not_from_pypi())
        if self.own:
            own = ", ".join(self.own)
            rows.append(
                CheckResult("workspace members", True, f"not audited (the project's own): {own}")
            )
        return rows

    def _from_pypi(self) -> CheckResult:
        if not self.findings:
            return CheckResult(
                "from PyPI",
                True,
                f"{self.checked} locked packages checked against {self.source}: "
                "no known vulnerabilities",
            )
        named = "; ".join(
            f"{f.package} {f.version}: {', '.join(f.vulnerabilities)}" for f in self.findings
        )
        unknown = f" ({len(self.not_checked)} more not checked)" if self.not_checked else ""
        return CheckResult(
            "from PyPI",
            False,
            f"{len(self.findings)} of {self.checked} locked packages have known vulnerabilities"
            f"{unknown}: {named}; upgrade them (uv lock --upgrade-package NAME)",
        )

    def _not_from_pypi(self) -> CheckResult:
        named = ", ".join(f"{u.package} {u.version} ({u.source})" for u in self.not_checked)
        rest = "" if self.findings else f" the other {self.checked} have no known vulnerabilities;"
        return CheckResult(
            "not from PyPI",
            False,
            f"{NOT_CHECKED}{len(self.not_checked)} locked packages do not come from PyPI, so "
            f"OSV cannot know them: {named};{rest} audit those by hand",
        )


# A purl's qualifier, as uv writes it, and where it says the package is from.
_FROM = {"vcs_url": "git", "download_url": "a URL", "repository_url": "another index"}


def _source(component: dict[str, Any]) -> str:
    """Where uv locked a component from, for a message: a path (no purl),
    git, a URL, another index; else the purl's type."""
    purl = str(component.get("purl") or "")
    if not purl:
        return "a path"
    qualifiers = purl.partition("?")[2]
    for qualifier, where in _FROM.items():
        if f"{qualifier}=" in qualifiers:
            return where
    return f"not PyPI: {purl.split('@', 1)[0]}"


def _workspace(component: dict[str, Any]) -> bool:
    properties = component.get("properties") or []
    return any(p.get("name") == "uv:workspace:path" for p in properties if isinstance(p, dict))


def packages(config: Config) -> list[tuple[str, str, str]]:
    """(name, version, purl) of every locked runtime package from PyPI: what OSV can know."""
    return _split(config)[0]


def _split(config: Config) -> tuple[list[tuple[str, str, str]], list[Unknown], list[str]]:
    """The locked runtime packages: from PyPI (name, version, purl), from
    anywhere else (path, git, URL, another index), and the workspace's own."""
    from_pypi, unknown, own = [], [], []
    for c in sbom.locked_packages(config).get("components", []):
        name, version, purl = str(c["name"]), str(c.get("version", "")), str(c.get("purl", ""))
        if _workspace(c):
            own.append(name)
        elif purl.startswith("pkg:pypi/") and "?" not in purl:
            from_pypi.append((name, version, purl))
        else:
            unknown.append(Unknown(name, version, _source(c)))
    return from_pypi, unknown, own


def _ask(url: str, purls: list[str]) -> list[object]:
    body = json.dumps({"queries": [{"package": {"purl": p}} for p in purls]}).encode()
    request = urllib.request.Request(  # noqa: S310 (https, or a mirror the user named)
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:  # noqa: S310
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise NotChecked(f"not checked: {url} answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        why = getattr(reason, "strerror", None) or str(reason)
        raise NotChecked(
            f"not checked: cannot reach {url} ({why}); no package was audited: run it where "
            f"that is reachable, or name a mirror in {OSV_URL_ENV}"
        ) from None
    except ValueError:
        raise NotChecked(f"not checked: {url} did not answer with JSON") from None
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list) or len(results) != len(purls):
        raise NotChecked(f"not checked: {url} did not answer for every package")
    return results


def vulnerabilities(result: object) -> tuple[str, ...] | None:
    """The vulnerability ids of one package's answer, or None unless it is
    a complete one: an object holding nothing but a list of ``{"id": ...}``
    (none at all: ``{}``). A ``next_page_token`` means more to fetch."""
    if not isinstance(result, dict) or set(result) - {"vulns"}:
        return None
    vulns = result.get("vulns", [])
    if not isinstance(vulns, list):
        return None
    ids = [v.get("id") if isinstance(v, dict) else None for v in vulns]
    if not all(isinstance(i, str) and i for i in ids):
        return None
    return tuple(sorted(str(i) for i in ids))


def audit(config: Config) -> Audit:
    """Ask the source about every locked runtime package from PyPI; raise
    NotChecked unless it answered completely for all of them. Packages OSV
    cannot know are listed in ``not_checked`` (its results are not checked)."""
    url = os.environ.get(OSV_URL_ENV) or OSV_URL
    locked, unknown, own = _split(config)
    results = _ask(url, [purl for _, _, purl in locked]) if locked else []
    findings, unanswered = [], []
    for (name, version, _), result in zip(locked, results, strict=True):
        ids = vulnerabilities(result)
        if ids is None:
            unanswered.append(f"{name} {version}")
        elif ids:
            findings.append(Finding(name, version, ids))
    if unanswered:
        raise NotChecked(
            f"not checked: {url} gave no complete answer for {len(unanswered)} of "
            f"{len(locked)} packages ({', '.join(unanswered[:5])}"
            f"{', ...' if len(unanswered) > 5 else ''}): nothing was audited"
        )
    return Audit(url, len(locked), tuple(findings), tuple(unknown), tuple(own))
