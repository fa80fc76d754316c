"""slipway.timeline: a command's phases, one after another, from the process's start."""

from __future__ import annotations

import time

from slipway.cli import tables
from slipway.history import Release
from slipway.timeline import Timeline


def test_phases_follow_one_another_and_add_up_to_the_wall_time() -> None:
    began = time.monotonic()
    timeline = Timeline()
    time.sleep(0.05)
    timeline.mark("lock")
    time.sleep(0.1)
    before = time.monotonic()
    timeline.mark("build")
    ended = time.monotonic()

    (first, startup), (second, build) = timeline.phases
    assert (first, second) == ("lock", "build")
    assert build >= 0.1
    # The first phase runs from the process's start: this test's run so far.
    # /proc gives the start in clock ticks (10 ms), read again on each call.
    tick = 0.02
    assert startup >= 0.05 + (began - _process_start()) - tick
    # Together they run to the last mark (no bound on how long a busy machine takes).
    start = _process_start()
    assert before - start - tick <= startup + build <= ended - start + tick


def _process_start() -> float:
    """This process's start on the monotonic clock, read as the module does."""
    from slipway import timeline  # noqa: PLC0415 (its private helper, under test)

    return timeline._process_started()


def test_the_process_start_is_read_from_linux_not_taken_as_now() -> None:
    # pytest has run for longer than this before any test: imports, collection.
    age = time.monotonic() - _process_start()
    assert 0.1 < age < 3600


def test_history_timeline_shows_each_deploys_phases_and_their_total() -> None:
    timed = Release(
        "2026-12-07T05:00:00+00:00",
        "prod",
        "notes:abc",
        "sha256:1",
        "ok",
        timeline=(("startup", 0.6), ("build", 2.25), ("switch", 0.4)),
    )
    older = Release("2026-12-06T05:00:00+00:00", "prod", "notes:old", "sha256:0", "ok")

    shown = tables.timeline_table([older, timed], "prod").splitlines()

    assert shown[0].split() == ["time", "image", "outcome", "total", "phases"]
    assert shown[2].split("  ")[0] == "2026-12-07T05:00:00+00:00"
    assert shown[2].endswith("3.25s  startup 0.60s, build 2.25s, switch 0.40s")
    assert len(shown) == 3  # the deploy recorded before timelines is left out
    assert tables.timeline_table([older], "prod") == "prod: no deploy with a timeline yet"
