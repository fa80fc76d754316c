"""slipway.data.volumes: which volumes of a sidecar are its data, and where
their copies land in the file a deploy keeps before replacing it."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from slipway.data import volumes
from slipway.engine import mounts


def test_data_volumes_are_the_named_volumes_other_than_slipways_own_files() -> None:
    spec = {
        "volumes": [
            {"type": "volume", "source": "redis-data", "target": "/data"},
            {"type": "volume", "source": mounts.KEY, "target": "/run/secrets/x"},
            {"type": "bind", "source": "/etc/x", "target": "/etc/x"},
            {"type": "tmpfs", "target": "/run/scratch"},
        ]
    }
    assert volumes.data_volumes(spec) == ["/data"]
    assert volumes.data_volumes({}) == []


def test_the_kept_file_is_named_after_the_environment_the_sidecar_and_the_time() -> None:
    when = datetime(2026, 12, 7, 18, 1, 2, 345000, tzinfo=UTC)
    assert volumes.file_name("prod", "redis", when) == "prod-redis-20261207T180102.345Z.tar"


def _archive(name: str, files: dict[str, bytes]) -> bytes:
    """A tar as `docker cp CONTAINER:PATH -` writes it: members named from PATH's last part."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(name)
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for path, data in files.items():
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_each_volume_lands_under_the_path_it_is_mounted_at(tmp_path: Path) -> None:
    kept = tmp_path / "kept.tar"
    with tarfile.open(kept, "w") as out:
        volumes._add(out, _archive("data", {"dump.rdb": b"REDIS0012"}), "/data")
        volumes._add(out, _archive("pgdata", {"PG_VERSION": b"17\n"}), "/var/lib/postgresql/pgdata")

    with tarfile.open(kept) as tar:
        names = tar.getnames()
        dump = tar.extractfile("data/dump.rdb")
        assert dump is not None
        assert dump.read() == b"REDIS0012"
    assert names == [
        "data",
        "data/dump.rdb",
        "var/lib/postgresql/pgdata",
        "var/lib/postgresql/pgdata/PG_VERSION",
    ]
