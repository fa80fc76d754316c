"""`make help`: the generated list of targets, plain when piped."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_help_piped_lists_every_target_without_escape_codes() -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert "\x1b" not in done.stdout
    targets = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    assert {"deploy", "test", "rollback", "bench", "help"} <= set(targets)
