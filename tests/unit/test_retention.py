"""Which release images an environment keeps, and which it removes."""

from __future__ import annotations

from slipway.history import FAILED, OK, ROLLBACK, Release
from slipway.retention import kept, to_remove


def release(image: str, outcome: str = OK, env: str = "prod") -> Release:
    return Release("2026-12-01T00:00:00+00:00", env, f"app:{image}", "", outcome)


def test_keeps_the_newest_good_releases_and_the_running_one() -> None:
    rows = [release("a"), release("b"), release("c", FAILED), release("d"), release("e")]
    assert kept(rows, "app:a", 2) == {"app:e", "app:d", "app:a"}


def test_a_release_deployed_twice_counts_once() -> None:
    rows = [release("a"), release("b"), release("a", ROLLBACK)]
    assert kept(rows, "app:a", 2) == {"app:a", "app:b"}


def test_removes_old_and_failed_releases_but_never_what_another_environment_keeps() -> None:
    prod = [release("a"), release("b"), release("c", FAILED), release("d")]
    other = [release("a", env="prod-pg")]
    removed = to_remove(
        {"prod": prod, "prod-pg": other},
        {"prod": "app:d", "prod-pg": "app:a"},
        {"prod": 1, "prod-pg": 5},
        "prod",
    )
    assert removed == ["app:b", "app:c"]


def test_nothing_is_removed_within_the_limit() -> None:
    rows = [release("a"), release("b")]
    assert to_remove({"prod": rows}, {"prod": "app:b"}, {"prod": 5}, "prod") == []
