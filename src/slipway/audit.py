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

from slipway import sbom
from slipway.config import Config
from slipway.errors import CheckFailed, SlipwayError

OSV_URL = "https://api.osv.dev/v1/querybatch"
# Where a mirror of OSV's API (or a test's closed port) is named instead.
OSV_URL_ENV = "SLIPWAY_OSV_URL"
_TIMEOUT_SECONDS = 30


class NotChecked(SlipwayError):
    """The vulnerability source could not answer: nothing was audited."""


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    vulnerabilities: tuple[str, ...]


@dataclass(frozen=True)
class Audit:
    source: str
    checked: int
    findings: tuple[Finding, ...]


def packages(config: Config) -> list[tuple[str, str, str]]:
    """(name, version, purl) of every locked runtime Python package."""
    components = sbom.locked_packages(config).get("components", [])
    return [
        (str(c["name"]), str(c["version"]), str(c["purl"]))
        for c in components
        if str(c.get("purl", "")).startswith("pkg:pypi/")
    ]


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


def audit(config: Config) -> Audit:
    """Ask the source about every locked runtime package; raise NotChecked
    unless it answered for all of them."""
    url = os.environ.get(OSV_URL_ENV) or OSV_URL
    locked = packages(config)
    results = _ask(url, [purl for _, _, purl in locked])
    findings = []
    for (name, version, _), result in zip(locked, results, strict=True):
        vulns = result.get("vulns") if isinstance(result, dict) else None
        ids = tuple(sorted(str(v["id"]) for v in vulns or [] if isinstance(v, dict) and "id" in v))
        if ids:
            findings.append(Finding(name, version, ids))
    return Audit(url, len(locked), tuple(findings))


def verdict(done: Audit) -> None:
    """Raise CheckFailed when any package has a known vulnerability."""
    if done.findings:
        named = "; ".join(
            f"{f.package} {f.version}: {', '.join(f.vulnerabilities)}" for f in done.findings
        )
        raise CheckFailed(
            f"{len(done.findings)} of {done.checked} locked packages have known vulnerabilities: "
            f"{named}; upgrade them (uv lock --upgrade-package NAME)"
        )
