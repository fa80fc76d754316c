"""`invoke deploy`, `invoke rollback` and `invoke down`: health-gated
rollouts that never leave a broken service behind, each under the
environment's deploy lock."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial

from slipway import history, lock, retention
from slipway.backends.protocol import Hooks
from slipway.build import images, release, sbom
from slipway.build.images import BuiltImage
from slipway.checks import CheckResult, image_checks
from slipway.data import backup, volumes
from slipway.errors import CheckFailed, DeployFailed, Reverted, SlipwayError, UsageError, command
from slipway.handle import Handle


@dataclass(frozen=True)
class DeployResult:
    environment: str
    image: BuiltImage
    tag: str
    checks: tuple[CheckResult, ...]
    url: str
    # The release's CycloneDX SBOM, as shown to the user, and its sha256.
    sbom: str
    sbom_sha256: str
    # Where the deploy's seconds went: (phase, seconds), from the process's start.
    timeline: tuple[tuple[str, float], ...] = ()


def deploy(handle: Handle) -> DeployResult:
    """Build the environment's target, check it, and roll the stack onto it.

    Nothing running is touched until the image is built and its checks pass.
    The new release starts beside the old one and takes traffic only once it
    is healthy (the backend's roll); if it never gets there, the old release
    has kept serving throughout and DeployFailed is raised.
    """
    handle.timeline.mark("startup")
    with under_lock(handle, command=f"deploy --env {handle.env.name}"):
        handle.timeline.mark("lock")
        result = _deploy(handle)
    handle.timeline.mark("unlock")
    return replace(result, timeline=tuple(handle.timeline.phases))


@contextmanager
def under_lock(handle: Handle, *, command: str) -> Iterator[None]:
    """The environment's deploy lock held for the block, and the state the
    engine keeps pulled into this checkout first and pushed back after it,
    however it ends."""
    with lock.held(handle, command=command):
        handle.backend.pull()
        try:
            yield
        finally:
            handle.backend.push()


def _deploy(handle: Handle) -> DeployResult:
    config, env, report, mark = handle.config, handle.env, handle.report, handle.timeline.mark
    handle.backend.prepare(report)
    mark("prepare")
    image = release.build(handle)
    mark("build")
    budget = config.targets[env.target].size_budget_mb if env.target in config.targets else None
    results = image_checks(image, budget)
    failed = [r for r in results if not r.ok]
    if failed:
        raise CheckFailed("; ".join(r.detail for r in failed) + " (the running stack is untouched)")
    mark("checks")
    # The SBOM is written beside the backup, the migration and the new
    # containers' start; the rollout waits for it before the switch.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sbom") as pool:
        bill = _Bill(handle, pool.submit(sbom.write, config, handle.docker, image.ref, image.id))
        previous = handle.backend.release()
        if previous not in (None, image.ref) and config.migrate:
            _backup_before_migrating(handle)
        done = _roll_or_keep(handle, image, previous, bill)
    written = bill.ready()
    return DeployResult(
        env.name,
        image,
        image.ref,
        results,
        done,
        config.show(written.path),
        written.sha256,
    )


@dataclass
class _Bill:
    """The release's SBOM being written; :meth:`ready` waits for it, once
    saying so, and raises the error that stopped it."""

    handle: Handle
    writing: Future[sbom.Sbom]
    said: bool = False

    def ready(self) -> sbom.Sbom:
        bill = self.writing.result()
        if not self.said:
            self.said = True
            self.handle.timeline.mark("sbom")
            self.handle.report(
                f"wrote the SBOM {self.handle.config.show(bill.path)}: {bill.python_packages} "
                f"Python and {bill.os_packages} OS packages (sha256 {bill.sha256[:12]})"
            )
        return bill

    def sha256(self) -> str:
        """The SBOM's sha256 for the history: empty when it failed."""
        try:
            return self.ready().sha256
        except SlipwayError:
            return ""


def _backup_before_migrating(handle: Handle) -> None:
    """A new release runs its migrations first: keep a way back for the data.
    (Without a migrate step in slipway.yaml there is none, and no backup.)

    Only while the stack runs (a stopped one has nothing new to lose, and
    PostgreSQL's dump needs its server); a failed backup stops the deploy.
    """
    running = [r for r in handle.backend.status() if r.state == "running"]
    if not any(r.service == handle.config.service for r in running):
        return
    saved = backup.backup(handle)
    handle.timeline.mark("backup")
    handle.report(
        f"backed up {handle.env.name} to {handle.config.show(saved.path)} ({saved.detail})"
    )


def _roll_or_keep(handle: Handle, image: BuiltImage, previous: str | None, bill: _Bill) -> str:
    """Roll onto the image, its SBOM written before the switch, and record it;
    on failure leave ``previous`` serving.

    Returns the URL the stack serves on.
    """
    config, env, ref = handle.config, handle.env, image.ref
    timeline = handle.timeline
    try:
        done = handle.backend.roll(
            ref,
            migrations=True,
            report=handle.report,
            hooks=Hooks(timeline.mark, bill.ready, partial(volumes.keep_sidecars, handle)),
        )
    except DeployFailed as failure:
        timeline.mark("failed")
        history.record(
            *(config, env, ref, image.id, history.FAILED, str(failure)),
            sbom_sha256=bill.sha256(),
            timeline=timeline.phases,
        )
        raise _kept(handle, previous, failure) from None
    history.record(
        config,
        env,
        ref,
        image.id,
        history.OK,
        switch_seconds=done.switch_seconds,
        sbom_sha256=bill.ready().sha256,
        timeline=timeline.phases,
    )
    timeline.mark("record")
    pruned = retention.prune(handle)
    timeline.mark("prune")
    if pruned.removed:
        handle.report(
            f"removed {len(pruned.removed)} old release image(s), keeping "
            f"{env.keep_releases} ({pruned.freed_bytes / 1e6:.1f} MB freed)"
        )
    url = handle.backend.url()
    timeline.mark("url")
    return url


def _kept(handle: Handle, previous: str | None, failure: DeployFailed) -> DeployFailed:
    """After a failed rollout: the error to raise, saying what serves now
    (the release pointer never left ``previous``)."""
    backend = handle.backend
    if isinstance(failure, Reverted):
        # The orchestrator put back what served, and waited for it: said so.
        return failure
    if previous is None:
        backend.down()
        backend.forget()
        return DeployFailed(
            f"{failure}; no earlier release to go back to, so the stack was taken down "
            "(data volumes kept)",
            details=failure.details,
        )
    if backend.in_place(previous):
        return DeployFailed(
            f"{failure}; {previous} kept serving and no request reached the new release",
            details=failure.details,
        )
    # Nothing was serving before (the stack was down or broken): start the previous release.
    handle.report(f"the new release failed ({failure}); starting {previous} again ...")
    try:
        backend.roll(previous, migrations=True, report=handle.report)
    except DeployFailed as second:
        return DeployFailed(
            f"{failure}; starting {previous} failed too: {second}",
            details=f"{failure.details}\n{second.details}",
        )
    history.record(handle.config, handle.env, previous, "", history.ROLLED_BACK, str(failure))
    return DeployFailed(
        f"{failure}; rolled back to {previous}, which is serving again",
        details=failure.details,
    )


@dataclass(frozen=True)
class RolledBack:
    url: str
    image: str
    # Why this release: the one served before the current, or the one asked for.
    why: str


def rollback(handle: Handle, *, to: str | None = None) -> RolledBack:
    """Put back the release served before the current one (a second rollback
    goes further back), or the healthy release ``to`` names, by the same
    zero-downtime path as a deploy."""
    with under_lock(handle, command=f"rollback --env {handle.env.name}"):
        return _rollback(handle, to)


def _target(handle: Handle, current: str | None, to: str | None) -> tuple[history.Release, str]:
    """Where a rollback goes, and why; SlipwayError naming what to do when nowhere."""
    config, env = handle.config, handle.env
    present = images.present(handle.docker, config)
    if to is not None:
        ref = to if ":" in to else f"{config.image}:{to}"
        asked = history.last_good(config, env, present=present, image=ref)
        if asked is None:
            raise UsageError(
                f"{ref} is not a healthy release of {env.name} that is still here: "
                f"pick one `{command(f'history --env {env.name}')}` lists"
            )
        return asked, "as asked"
    target = history.before(config, env, current, present=present)
    if target is None and current is None:
        raise SlipwayError(f"{env.name} has no earlier healthy release to roll back to")
    if target is None:
        # Not a usage error: the command is right, the history has nothing to go to.
        raise SlipwayError(
            f"{env.name} has no release before {current} to roll back to: name one with "
            f"`{command(f'rollback --env {env.name} --to TAG')}` "
            f"(`{command(f'history --env {env.name}')}` lists them)"
        )
    return target, f"the release {env.name} served before {current}"


def _rollback(handle: Handle, to: str | None) -> RolledBack:
    config, env = handle.config, handle.env
    # What the stack needs, checked as a deploy checks it (a secret file
    # here that differs from the engine's is refused before anything moves).
    handle.backend.prepare(handle.report)
    current = handle.backend.release()
    target, why = _target(handle, current, to)
    handle.report(f"rolling back to {target.image}, {why}")
    try:
        done = handle.backend.roll(target.image, migrations=False, report=handle.report)
    except DeployFailed as failure:
        raise DeployFailed(f"{failure}; {current} kept serving", details=failure.details) from None
    history.record(
        config,
        env,
        target.image,
        target.image_id,
        history.ROLLBACK,
        switch_seconds=done.switch_seconds,
        sbom_sha256=target.sbom_sha256,
    )
    return RolledBack(handle.backend.url(), target.image, why)


def down(handle: Handle, *, volumes: bool) -> None:
    """`invoke down`: the environment's stack, under its deploy lock."""
    with lock.held(handle, command=f"down --env {handle.env.name}"):
        handle.backend.down(volumes=volumes)
