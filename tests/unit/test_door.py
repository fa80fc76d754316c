"""The door into Docker: slipway.engine is the only module that uses
python-on-whales' internals, sees its exceptions or builds a docker argv.

A grep over the library's source; a failure names each file:line that goes
around the door.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "slipway"
ENGINE = SRC / "engine.py"

# What only the engine may write, by what it would mean elsewhere.
AROUND_THE_DOOR = {
    "python-on-whales' internal runner": re.compile(
        r"python_on_whales\.utils|from python_on_whales import[^#\n]*\butils\b"
    ),
    "a python-on-whales exception": re.compile(
        r"DockerException|ClientNotFoundError|python_on_whales\.(exceptions|client_config)"
    ),
    "a raw docker argv": re.compile(r"\bdocker_(compose_)?cmd\b"),
}


def _lines_matching(pattern: re.Pattern[str], paths: list[Path]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in paths
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]


def _outside_the_engine() -> list[Path]:
    return sorted(path for path in SRC.rglob("*.py") if path != ENGINE)


@pytest.mark.parametrize("what", list(AROUND_THE_DOOR))
def test_nothing_but_the_engine_goes_around_the_door(what: str) -> None:
    offences = _lines_matching(AROUND_THE_DOOR[what], _outside_the_engine())

    assert offences == [], f"{what} outside src/slipway/engine.py:\n" + "\n".join(offences)


@pytest.mark.parametrize("what", list(AROUND_THE_DOOR))
def test_the_grep_finds_the_engines_own_use(what: str) -> None:
    """Each pattern matches the engine: the test above cannot pass by matching nothing."""
    assert _lines_matching(AROUND_THE_DOOR[what], [ENGINE])


def test_the_grep_reads_the_whole_library() -> None:
    names = {path.relative_to(SRC).as_posix() for path in _outside_the_engine()}

    assert {"backup.py", "dev.py", "sizes.py", "stack.py"} <= names
    assert "engine.py" not in names
