"""slipway.cli.tables: the plain-text tables tasks and sessions print."""

from __future__ import annotations

from slipway.backends import ServiceStatus
from slipway.checks import CheckResult
from slipway.cli import tables
from slipway.cli.tables import results_table, table
from slipway.history import OK, Release


def test_table_aligns_columns_under_a_rule() -> None:
    text = table(("image", "size"), [("slipway/notes:prod", "187.7 MB"), ("x:dev", "1 MB")])

    assert text.splitlines() == [
        "image               size",
        "------------------  --------",
        "slipway/notes:prod  187.7 MB",
        "x:dev               1 MB",
    ]


def test_table_leaves_no_trailing_spaces() -> None:
    text = table(("name", "detail"), [("a", ""), ("b", "long detail")])

    assert all(line == line.rstrip() for line in text.splitlines())


def test_table_prints_any_cell_value() -> None:
    text = table(("n", "ok"), [(3, True), (None, 1.5)])

    assert text.splitlines()[2:] == ["3     True", "None  1.5"]


def test_table_without_rows_is_header_and_rule() -> None:
    assert table(("check", "result"), []) == "check  result\n-----  ------"


def test_results_table_shows_ok_and_fail() -> None:
    text = results_table(
        [
            CheckResult("non-root user", True, "USER 10001:10001"),
            CheckResult("healthcheck", False, "slipway/notes:prod has no HEALTHCHECK: add one"),
        ]
    )

    assert text == (
        "check          result  detail\n"
        "-------------  ------  ----------------------------------------------\n"
        "non-root user  ok      USER 10001:10001\n"
        "healthcheck    FAIL    slipway/notes:prod has no HEALTHCHECK: add one"
    )


def test_status_and_history_show_the_image_id_beside_the_tag() -> None:
    running = ServiceStatus(
        "app", "p-prod-app-1", "running", "healthy", "notes:abc", "-", "84d206f32bfd"
    )
    deployed = Release(
        "2026-12-07T01:00:00+00:00", "prod", "notes:abc", "sha256:84d206f32bfd0123", OK
    )

    status = tables.status_table([running], "prod").splitlines()
    history = tables.history_table([deployed], "prod").splitlines()

    assert status[0].split() == ["service", "state", "health", "image", "id", "ports"]
    assert status[2].split() == ["app", "running", "healthy", "notes:abc", "84d206f32bfd", "-"]
    assert history[0].split()[:3] == ["time", "image", "id"]
    assert history[2].split()[:4] == [deployed.time, "notes:abc", "84d206f32bfd", "ok"]


def test_a_swarm_s_status_shows_each_task_s_node_and_digest() -> None:
    task = ServiceStatus(
        "app", "app.1 on node-b", "running", "healthy", "notes:abc", "-", "71906bc7a2e5", "node-b"
    )

    status = tables.status_table([task], "cluster").splitlines()

    assert status[0].split() == ["service", "node", "state", "health", "image", "digest"]
    assert status[2].split() == ["app", "node-b", "running", "healthy", "notes:abc", "71906bc7a2e5"]
