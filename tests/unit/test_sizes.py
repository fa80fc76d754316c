"""slipway.checks.sizes: the size table, and where the bytes of an over-budget image come from."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from slipway import checks
from slipway.build.images import Built, BuiltImage
from slipway.checks import CheckResult, sizes, within_budget
from slipway.checks.sizes import Layer, SizeRow
from slipway.cli.tables import size_table
from slipway.config import Config, Target

MakeImage = Callable[..., BuiltImage]

BASE = 120_000_000
UV_SYNC = "RUN /bin/sh -c uv sync --locked --no-dev --no-editable # buildkit"


def _row(make_image: MakeImage, *, size: int, budget: int | None = 250) -> SizeRow:
    image = make_image(size=size)
    return SizeRow(
        image=image,
        budget_mb=budget,
        base_size=BASE,
        check=within_budget(image, budget),
        largest_layers=(
            Layer(98_700_000, UV_SYNC),
            Layer(74_800_000, "/bin/sh -c #(nop) ADD file:9b3c in /"),
        ),
    )


def test_row_shows_size_budget_base_and_what_the_target_adds(make_image: MakeImage) -> None:
    row = _row(make_image, size=187_650_000)

    assert row.added == 67_650_000
    assert row.cells() == (
        "slipway/notes:prod",
        "187.7 MB",
        "250 MB",
        "120.0 MB",
        "+67.7 MB",
        "ok",
    )


def test_row_over_budget_says_over(make_image: MakeImage) -> None:
    assert _row(make_image, size=262_400_000).cells()[-1] == "OVER"


def test_row_without_budget_shows_a_dash(make_image: MakeImage) -> None:
    assert _row(make_image, size=187_650_000, budget=None).cells()[2] == "-"


def test_render_within_budget_is_just_the_table(make_image: MakeImage) -> None:
    text = size_table([_row(make_image, size=187_650_000)])

    assert text.splitlines() == [
        "image               size      budget  base      added     result",
        "------------------  --------  ------  --------  --------  ------",
        "slipway/notes:prod  187.7 MB  250 MB  120.0 MB  +67.7 MB  ok",
    ]


def test_render_over_budget_lists_the_largest_layers_with_their_instruction(
    make_image: MakeImage,
) -> None:
    text = size_table([_row(make_image, size=262_400_000)])

    assert text.splitlines()[3:] == [
        "largest layers of slipway/notes:prod:",
        "size     instruction",
        "-------  " + "-" * len(UV_SYNC),
        f"98.7 MB  {UV_SYNC}",
        "74.8 MB  /bin/sh -c #(nop) ADD file:9b3c in /",
    ]


def test_render_cuts_long_instructions_at_110_characters(make_image: MakeImage) -> None:
    image = make_image(size=300_000_000)
    long_run = "RUN " + "apt-get install -y something-long " * 10
    row = SizeRow(image, 250, BASE, within_budget(image, 250), (Layer(1, long_run),))

    assert size_table([row]).splitlines()[-1] == f"0.0 MB  {long_run[:110]}".rstrip()


# --- layers and size_rows, with a fake docker ------------------------------------------


def test_layers_read_as_docker_image_history_writes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    history = [
        {"CreatedBy": 'CMD ["notes-service"]', "Size": "0"},
        {"CreatedBy": "RUN /bin/sh -c uv sync \t --locked   # buildkit", "Size": "98700000"},
        {"CreatedBy": '/bin/sh -c #(nop)  CMD ["python3"]', "Size": ""},
        {"CreatedBy": "", "Size": "74800000"},
    ]
    monkeypatch.setattr(sizes.engine, "image_history", lambda _docker, _ref: history)

    found = sizes.layers(SimpleNamespace(), "slipway/notes:prod")  # type: ignore[arg-type]

    assert found == [
        Layer(0, 'CMD ["notes-service"]'),
        Layer(98_700_000, "RUN /bin/sh -c uv sync --locked # buildkit"),
        Layer(0, '/bin/sh -c #(nop) CMD ["python3"]'),
        Layer(74_800_000, "(imported base layer)"),
    ]


def test_size_rows_measure_every_budgeted_target_against_the_base(
    monkeypatch: pytest.MonkeyPatch, config: Config, make_image: MakeImage
) -> None:
    built = Built(
        base=make_image(ref="slipway/notes:base", size=BASE),
        targets={
            Target.DEV: make_image(ref="slipway/notes:dev", size=900_000_000),
            Target.TEST: make_image(ref="slipway/notes:test", size=650_000_000),
            Target.PROD: make_image(ref="slipway/notes:prod", size=262_400_000),
        },
    )

    def layers(_docker: Any, _ref: str) -> list[Layer]:
        return [Layer(n * 1_000_000, f"RUN step {n}") for n in range(1, 8)]

    monkeypatch.setattr(sizes, "layers", layers)

    rows = checks.size_rows(SimpleNamespace(), config, built)  # type: ignore[arg-type]

    # dev has no budget in the test config, so it is not measured.
    assert [row.image.ref for row in rows] == ["slipway/notes:test", "slipway/notes:prod"]
    assert [row.check.ok for row in rows] == [True, False]
    assert all(row.base_size == BASE for row in rows)
    assert [layer.created_by for layer in rows[1].largest_layers] == [
        "RUN step 7",
        "RUN step 6",
        "RUN step 5",
        "RUN step 4",
        "RUN step 3",
    ]
    assert rows[1].check == CheckResult(
        "size", False, "slipway/notes:prod is 262.4 MB, over its 250 MB budget"
    )
