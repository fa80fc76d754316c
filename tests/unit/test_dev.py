"""The dev loop's one-time sync: which paths, and what goes into the archive."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from slipway.dev import _tar_of, sync_paths


def test_sync_paths_are_the_services_sync_rules_only() -> None:
    model = {
        "services": {
            "app": {
                "develop": {
                    "watch": [
                        {
                            "action": "sync",
                            "path": "/src/service/src",
                            "target": "/app/service/src",
                        },
                        {"action": "rebuild", "path": "/src/uv.lock"},
                    ]
                }
            },
            "proxy": {},
        }
    }
    assert sync_paths(model, "app") == [(Path("/src/service/src"), "/app/service/src")]
    assert sync_paths(model, "proxy") == []
    assert sync_paths({}, "app") == []


def test_the_archive_holds_every_source_file_and_no_bytecode(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "app.py").write_text("print('hi')\n")
    (tmp_path / "pkg" / "__pycache__" / "app.cpython-313.pyc").write_bytes(b"\0")
    data, count = _tar_of(tmp_path)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert archive.getnames() == ["pkg/app.py"]
    assert count == 1
