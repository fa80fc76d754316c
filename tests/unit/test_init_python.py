"""The image's Python that `slipway init` chooses (issue 27 item 6), and
doctor's row comparing a Dockerfile's Python with requires-python."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slipway.checks.host import python_row
from slipway.config import Config
from slipway.errors import UsageError
from slipway.init.python import Choice, choose

WHEEL = "https://files.pythonhosted.org/packages/aa/bb/{}"


def project(
    root: Path, requires: str | None, packages: str = "", member: str = ""
) -> dict[str, Any]:
    """A uv project in ``root`` (its package in ``member``): its pyproject, as init reads it."""
    line = f'requires-python = "{requires}"\n' if requires is not None else ""
    (root / member).mkdir(parents=True, exist_ok=True)
    (root / member / "pyproject.toml").write_text(f'[project]\nname = "app"\n{line}')
    (root / "uv.lock").write_text(f"version = 1\nrevision = 3\n{line}\n{packages}")
    return {"project": {"name": "app", **({"requires-python": requires} if requires else {})}}


def locked(name: str, version: str, *wheels: str) -> str:
    """A uv.lock package entry with these wheel file names."""
    rows = "".join(f'    {{ url = "{WHEEL.format(w)}" }},\n' for w in wheels)
    return f'[[package]]\nname = "{name}"\nversion = "{version}"\nwheels = [\n{rows}]\n\n'


def test_the_highest_python_requires_python_allows_is_chosen(tmp_path: Path) -> None:
    chosen = choose(tmp_path, "", project(tmp_path, ">=3.11"))
    assert chosen == Choice("3.14", "the highest requires-python `>=3.11` allows")
    assert chosen.image == "python:3.14-slim-trixie"


@pytest.mark.parametrize(
    ("requires", "image"),
    [
        ("==3.11.*", "python:3.11-slim-bookworm"),
        (">=3.11.4,<3.12", "python:3.11-slim-bookworm"),
        ("~=3.12.0", "python:3.12-slim-bookworm"),
        (">=3.10,<3.14", "python:3.13-slim-trixie"),
    ],
)
def test_a_narrower_requirement_picks_its_image(tmp_path: Path, requires: str, image: str) -> None:
    assert choose(tmp_path, "", project(tmp_path, requires)).image == image


def test_without_requires_python_the_newest_is_chosen(tmp_path: Path) -> None:
    assert choose(tmp_path, "", project(tmp_path, None)) == Choice("3.14", "the newest")


def test_a_locked_package_with_no_wheel_for_a_python_steps_down(tmp_path: Path) -> None:
    lock = locked(
        "httptools",
        "0.6.1",
        "httptools-0.6.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "httptools-0.6.1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "httptools-0.6.1-cp313-cp313-win_amd64.whl",  # not for Linux: does not count
    )
    lock += locked("pure", "1.0", "pure-1.0-py3-none-any.whl")
    lock += locked("stable", "2.0", "stable-2.0-cp38-abi3-manylinux_2_28_x86_64.whl")
    lock += locked("sdist-only", "3.0")

    chosen = choose(tmp_path, "", project(tmp_path, ">=3.11", lock))

    assert chosen.version == "3.12"
    assert chosen.why == (
        "the highest requires-python `>=3.11` allows; not 3.14 (no wheel for httptools 0.6.1); "
        "not 3.13 (no wheel for httptools 0.6.1)"
    )


def test_when_no_python_has_every_wheel_the_highest_compiles(tmp_path: Path) -> None:
    lock = locked("old", "0.1", "old-0.1-cp38-cp38-manylinux1_x86_64.whl")
    chosen = choose(tmp_path, "", project(tmp_path, ">=3.12", lock))
    assert chosen.version == "3.14"
    assert chosen.why == (
        "the highest requires-python `>=3.12` allows; old 0.1 has no wheel for it: it compiles"
    )


def test_python_version_wins_the_members_over_the_roots(tmp_path: Path) -> None:
    data = project(tmp_path, ">=3.11", member="svc")
    (tmp_path / ".python-version").write_text("3.11\n")
    assert choose(tmp_path, "svc", data) == Choice("3.11", "from .python-version")
    (tmp_path / "svc" / ".python-version").write_text("# pinned\ncpython-3.12.4\n")
    chosen = choose(tmp_path, "svc", data)
    assert chosen == Choice("3.12", "from svc/.python-version")
    assert chosen.image == "python:3.12-slim-bookworm"


def test_a_pin_requires_python_refuses_is_one_line(tmp_path: Path) -> None:
    data = project(tmp_path, ">=3.12")
    (tmp_path / ".python-version").write_text("3.11\n")
    with pytest.raises(UsageError) as caught:
        choose(tmp_path, "", data)
    assert str(caught.value) == (
        ".python-version pins Python 3.11, which requires-python `>=3.12` does not allow: "
        "make them agree"
    )


def test_a_pin_that_is_not_cpython_is_one_line(tmp_path: Path) -> None:
    data = project(tmp_path, ">=3.11")
    (tmp_path / ".python-version").write_text("pypy@3.10\n")
    with pytest.raises(UsageError, match=r"^\.python-version says 'pypy@3.10': slipway builds"):
        choose(tmp_path, "", data)


def test_a_requirement_no_official_image_meets_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        choose(tmp_path, "", project(tmp_path, ">=3.16"))
    assert str(caught.value) == (
        "requires-python `>=3.16` allows no Python with an official slim image (3.10 to 3.14): "
        "pin one in .python-version"
    )


# --- doctor: the Dockerfile's Python against requires-python -----------------------------


def test_doctor_compares_the_dockerfiles_python_with_requires_python(config: Config) -> None:
    (config.root / "uv.lock").write_text('version = 1\nrequires-python = ">=3.12"\n')
    images = ["ghcr.io/astral-sh/uv:0.13.9", "python:3.11-slim-bookworm"]
    (row,) = python_row(config, images)
    assert not row.ok
    assert row.detail == (
        "docker/Dockerfile builds on Python 3.11, which requires-python `>=3.12` does not "
        "allow: build on FROM python:3.14-slim-trixie"
    )
    (row,) = python_row(config, ["docker.io/library/python:3.13-slim-trixie"])
    assert row.ok
    assert row.detail == "docker/Dockerfile's Python 3.13 meets requires-python `>=3.12`"
    assert python_row(config, ["debian:bookworm-slim"]) == []
