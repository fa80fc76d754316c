"""What a prod build is: its source revision, immutable tag and OCI labels."""

from __future__ import annotations

import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from python_on_whales import DockerClient

from slipway import engine
from slipway.build import failures, images
from slipway.build.images import BuiltImage
from slipway.engine import docker_errors
from slipway.errors import NotFound
from slipway.handle import quiet

if TYPE_CHECKING:
    from slipway.handle import Handle, Report


@dataclass(frozen=True)
class Source:
    """The git state of the tree an image is built from."""

    revision: str  # full commit sha, or "unknown" outside git
    dirty: bool
    committed: str  # the commit's ISO time: a reproducible `created`
    remote: str

    def version(self) -> str:
        short = self.revision[:12]
        return f"{short}-dirty" if self.dirty else short


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],  # noqa: S607 (the user's git, from PATH)
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def public_url(url: str) -> str:
    """``url`` as it may be recorded anywhere (a label, history, a log): no
    user name, password or token, and no query string (where a token can
    also ride). ``https://bot:TOKEN@host/org/x.git`` is ``https://host/org/x.git``;
    the scp-like ``git@host:org/x.git`` becomes ``host:org/x.git``."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme and parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
    head, slash, rest = url.partition("/")
    return head.rpartition("@")[2] + slash + rest


def source(root: Path) -> Source:
    revision = _git(root, "rev-parse", "HEAD")
    if revision is None:
        return Source("unknown", True, "1970-01-01T00:00:00Z", "")
    status = _git(root, "status", "--porcelain", "--untracked-files=normal")
    return Source(
        revision=revision,
        dirty=bool(status),
        committed=_git(root, "log", "-1", "--format=%cI") or "1970-01-01T00:00:00Z",
        remote=public_url(_git(root, "config", "--get", "remote.origin.url") or ""),
    )


def labels(src: Source, project: str) -> dict[str, str]:
    """OCI labels. `created` is the commit's time, so an unchanged tree
    rebuilds to the very same image (and a redeploy recreates nothing)."""
    return {
        "org.opencontainers.image.revision": src.revision,
        "org.opencontainers.image.created": src.committed,
        "org.opencontainers.image.version": src.version(),
        "org.opencontainers.image.source": src.remote or project,
        "org.opencontainers.image.title": project,
    }


def tag_of(image: BuiltImage, src: Source, repository: str) -> str:
    """The immutable tag: the commit, plus `-dirty-<content hash>` for a dirty tree."""
    content = image.short_id
    if src.revision == "unknown":
        return f"{repository}:nogit-{content}"
    if src.dirty:
        return f"{repository}:{src.revision[:12]}-dirty-{content}"
    return f"{repository}:{src.revision[:12]}"


def tag(docker: DockerClient, image: BuiltImage, ref: str) -> None:
    with docker_errors(f"tagging {ref}"):
        docker.image.tag(image.id, ref)


def _named(docker: DockerClient, ref: str) -> str | None:
    """The id of the image ``ref`` names on the engine, if it names one."""
    try:
        with docker_errors(f"inspecting {ref}"):
            return str(docker.image.inspect(ref).id)
    except NotFound:
        return None


def _unmoved(docker: DockerClient, image: BuiltImage, ref: str, report: Report) -> str:
    """``ref``, unless it already names another image: a tag never moves, so
    another build of this commit (its labels or files differ, e.g. the remote
    changed) gets a tag of its own, and says why."""
    named = _named(docker, ref)
    if named in (None, image.id):
        return ref
    other = f"{ref}-{image.short_id}"
    report(
        f"{ref} already names another build of this commit "
        f"({str(named).removeprefix('sha256:')[:12]}): this one differs, and is {other}"
    )
    return other


def build(handle: Handle) -> BuiltImage:
    """Build the environment's target from the working tree, labelled with its
    source, and tag it immutably (``<image>:<sha12>``); the release to roll to."""
    config, env, docker, report = handle.config, handle.env, handle.docker, handle.report
    # `build: local` builds with this machine's engine, then ships the release.
    builder = handle.builder or docker
    report(f"building {config.image_ref(env.target)} ...")
    src = source(config.root)
    # Build logs are shown only when a build fails (in the error's details).
    # A build on the environment's own remote engine names it in its hints.
    remote = env.remote and builder is docker
    image = images.build(
        builder,
        config,
        env.target,
        report=quiet,
        labels=labels(src, config.project),
        engine=f"{env.name}'s engine ({engine.where(env)})" if remote else failures.THIS_ENGINE,
    )
    ref = tag_of(image, src, config.image)
    ref = _unmoved(builder, image, ref, report)
    tag(builder, image, ref)
    report(f"built {ref} ({image.short_id}, {image.size / 1e6:.1f} MB)")
    if builder is not docker:
        started = time.monotonic()
        if engine.ship(builder, docker, ref, image.id):
            report(f"shipped {ref} to {engine.where(env)} in {time.monotonic() - started:.1f}s")
    return images.BuiltImage(ref, image.id, image.size, image.user, image.has_healthcheck)
