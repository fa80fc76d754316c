"""slipway.cli.tables: the plain-text tables tasks and sessions print."""

from __future__ import annotations

from slipway.checks import CheckResult
from slipway.cli.tables import results_table, table


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
