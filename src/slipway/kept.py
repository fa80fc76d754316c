"""What an environment keeps on its engine, written and read through it.

The volume ``<project>-<env>-state`` holds the proxy's configuration
(``proxy/haproxy.cfg``), each file secret (``secrets/<name>``), which
:mod:`slipway.engine.mounts` mounts into the containers, and the
environment's state (``state/``, :mod:`slipway.shared`). A container
of the same name holds the volume so that slipway can write into it and
read from it with `docker cp`: made from the proxy's image, never started,
it runs nothing. On the local engine as on a remote one, nothing of the
checkout is bind-mounted, and the engine, not the checkout, keeps what every
checkout deploying there must share: a secret is made once, on the first
deploy to an engine, and every later deploy from any checkout uses it.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping

from python_on_whales import DockerClient

from slipway import engine
from slipway.config import Config, Environment
from slipway.engine import docker_errors, mounts
from slipway.errors import AlreadyExists, ConfigError, NotFound

# Where the holder mounts the volume (it never runs: only `docker cp` sees it).
MOUNT = "/slipway"
# Labels of the volume and its holder: the compose project they belong to.
LABEL = "io.slipway.state"
# Folders of the volume: readable by every container user (the proxy's uid
# 99, the app's 10001, postgres's 999); each container sees only the files
# mounted into it.
FOLDER_MODE = 0o755


# Each client's Kept of each environment, by the client's id (the client is
# kept with them: alive, its id is never another object's).
_made: dict[int, tuple[DockerClient, dict[str, Kept]]] = {}


class Kept:
    """An environment's volume on its engine, through the command's client.

    :meth:`of` gives every part of a command the same one, which reads the
    volume once (one `docker cp` of the whole of it, a few kilobytes) and
    keeps what it writes: a deploy asks for the secrets, the state and the
    proxy's configuration at several steps.
    """

    def __init__(self, docker: DockerClient, config: Config, env: Environment) -> None:
        self.docker, self.config, self.env = docker, config, env
        self.name = mounts.volume_name(config, env)
        self._held = False
        # Every file of the volume (path: content), once read.
        self._files: dict[str, bytes] | None = None

    @classmethod
    def of(cls, docker: DockerClient, config: Config, env: Environment) -> Kept:
        """The command's one Kept of ``env`` through ``docker``."""
        _, kept = _made.setdefault(id(docker), (docker, {}))
        return kept.setdefault(env.name, cls(docker, config, env))

    def ensure(self) -> None:
        """Make the volume and its holder, if missing: compose refuses to
        start a stack whose external volume does not exist."""
        self._holder()

    def _holder(self) -> str:
        """The holder's name, created (with the volume) if it is missing."""
        if not self._held:
            if not self._exists():
                self._create()
            self._held = True
        return self.name

    def _exists(self) -> bool:
        with docker_errors(f"inspecting {self.name}"):
            return bool(self.docker.container.exists(self.name))

    def _nothing_kept(self) -> bool:
        """No holder and no volume: nothing is kept yet (a reader then leaves
        the engine as it found it)."""
        if self._held or self._exists():
            self._held = True
            return False
        try:
            with docker_errors(f"inspecting the volume {self.name}"):
                return not self.docker.volume.exists(self.name)
        except NotFound:
            # A swarm manager answers "volume X not found", which
            # python-on-whales does not read as "no such volume".
            return True

    def _create(self) -> None:
        model = engine.compose_model(self.docker)
        image = str((model.get("services") or {}).get(mounts.PROXY_SERVICE, {}).get("image", ""))
        if not image:
            raise ConfigError(
                f"{self.env.name}'s compose files give the {mounts.PROXY_SERVICE} service no image"
            )
        labels = {LABEL: engine.project_name(self.config, self.env)}
        try:
            with docker_errors(f"creating the volume {self.name}"):
                self.docker.volume.create(self.name, labels=labels)
        except AlreadyExists:
            pass
        try:
            with docker_errors(f"creating {self.name}"):
                self.docker.container.create(
                    image,
                    name=self.name,
                    volumes=[(self.name, MOUNT)],
                    labels=labels,
                    pull="never",
                )
        except AlreadyExists:
            pass  # another command made it meanwhile
        except NotFound:
            raise ConfigError(
                f"{image} is not on {engine.where(self.env)}: load or pull it there, then "
                "deploy again"
            ) from None

    def write(self, files: Mapping[str, bytes], *, mode: int, owner: int = 0) -> None:
        """Write ``files`` (path under the volume: content) with ``mode``, owned
        by the uid and gid ``owner`` (root unless said), as one archive: their
        folders are made as needed (root's)."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            folders = sorted({p.rpartition("/")[0] for p in files if "/" in p})
            for folder in folders:
                entry = tarfile.TarInfo(folder)
                entry.type, entry.mode = tarfile.DIRTYPE, FOLDER_MODE
                archive.addfile(entry)
            for path, content in sorted(files.items()):
                entry = tarfile.TarInfo(path)
                entry.size, entry.mode = len(content), mode
                entry.uid = entry.gid = owner
                archive.addfile(entry, io.BytesIO(content))
        engine.archive_in(self.docker, self._holder(), MOUNT, buffer.getvalue())
        if self._files is not None:
            self._files.update(files)

    def read(self, folder: str) -> dict[str, bytes]:
        """The files of a folder of the volume (name: content); {} when there is none."""
        if self._files is None:
            self._files = self._everything()
        prefix = f"{folder}/"
        return {
            path.removeprefix(prefix): content
            for path, content in self._files.items()
            if path.startswith(prefix) and "/" not in path.removeprefix(prefix)
        }

    def _everything(self) -> dict[str, bytes]:
        """Every file of the volume, read in one archive."""
        if self._nothing_kept():
            return {}
        try:
            data = engine.archive_out(self.docker, self._holder(), MOUNT)
        except NotFound:
            return {}
        found = {}
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for entry in archive.getmembers():
                content = archive.extractfile(entry) if entry.isfile() else None
                if content is not None:
                    # "slipway/proxy/haproxy.cfg": the volume's own path.
                    found[entry.name.partition("/")[2]] = content.read()
        return found

    def remove(self, *, volume: bool) -> None:
        """Remove the holder (it is made again when needed), and with
        ``volume`` the volume: every secret and configuration kept there."""
        try:
            with docker_errors(f"removing {self.name}"):
                self.docker.container.remove(self.name, force=True)
        except NotFound:
            pass
        self._held, self._files = False, None
        if volume:
            try:
                with docker_errors(f"removing the volume {self.name}"):
                    self.docker.volume.remove(self.name)
            except NotFound:
                pass
