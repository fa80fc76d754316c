"""slipway.history: which release each environment ran, and how each deploy ended."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from slipway import history
from slipway.config import Config
from slipway.history import Release


def test_releases_before_any_deploy_are_none(config: Config) -> None:
    assert history.releases(config, config.environment("prod")) == []


def test_a_deploys_timeline_is_kept_and_read_back(config: Config) -> None:
    prod = config.environment("prod")
    phases = [("startup", 0.61234), ("build", 2.5), ("switch", 0.4)]
    recorded = history.record(config, prod, "notes:a", "sha256:a", history.OK, timeline=phases)
    assert recorded.timeline == (("startup", 0.612), ("build", 2.5), ("switch", 0.4))
    assert history.releases(config, prod) == [recorded]
    line = json.loads(config.root.joinpath(".slipway/history.jsonl").read_text())
    assert line["timeline"] == [["startup", 0.612], ["build", 2.5], ["switch", 0.4]]


def test_recorded_releases_are_read_back_oldest_first_per_environment(config: Config) -> None:
    prod, dev = config.environment("prod"), config.environment("dev")

    first = history.record(config, prod, "notes:a", "sha256:a", history.OK)
    history.record(config, dev, "notes:dev", "sha256:d", history.OK)
    second = history.record(config, prod, "notes:b", "sha256:b", history.FAILED, "unhealthy")

    assert history.releases(config, prod) == [first, second]
    assert [r.image for r in history.releases(config, dev)] == ["notes:dev"]
    assert second == Release(second.time, "prod", "notes:b", "sha256:b", "failed", "unhealthy")
    assert datetime.fromisoformat(second.time).tzinfo is not None


def test_last_good_skips_failed_releases(config: Config) -> None:
    prod = config.environment("prod")
    history.record(config, prod, "notes:a", "sha256:a", history.OK)
    history.record(config, prod, "notes:b", "sha256:b", history.FAILED)
    history.record(config, prod, "notes:a", "", history.ROLLED_BACK)

    good = history.last_good(config, prod)

    assert good is not None
    assert (good.image, good.image_id, good.outcome) == ("notes:a", "sha256:a", history.OK)


def test_last_good_other_than_the_current_release(config: Config) -> None:
    prod = config.environment("prod")
    history.record(config, prod, "notes:a", "sha256:a", history.OK)
    history.record(config, prod, "notes:b", "sha256:b", history.OK)

    assert history.last_good(config, prod) == history.releases(config, prod)[-1]
    good = history.last_good(config, prod, other_than="notes:b")
    assert good is not None
    assert good.image == "notes:a"
    assert (
        history.last_good(config, prod, other_than="notes:a") == history.releases(config, prod)[-1]
    )


def test_a_rollback_counts_as_good(config: Config) -> None:
    prod = config.environment("prod")
    history.record(config, prod, "notes:a", "sha256:a", history.OK)
    history.record(config, prod, "notes:b", "sha256:b", history.OK)
    back = history.record(config, prod, "notes:a", "sha256:a", history.ROLLBACK)

    assert history.last_good(config, prod) == back
    assert history.last_good(config, prod, other_than="notes:b") == back


def test_last_good_of_another_environment_is_not_taken(config: Config) -> None:
    history.record(config, config.environment("dev"), "notes:dev", "sha256:d", history.OK)

    assert history.last_good(config, config.environment("prod")) is None


def test_switch_seconds_are_recorded_and_read_back(config: Config) -> None:
    prod = config.environment("prod")

    entry = history.record(config, prod, "notes:a", "sha256:a", history.OK, switch_seconds=0.41237)
    history.record(config, prod, "notes:b", "sha256:b", history.FAILED, "unhealthy")

    first, second = history.releases(config, prod)
    assert first == entry
    assert first.switch_seconds == 0.412
    assert second.switch_seconds is None


def test_history_lines_written_before_switch_seconds_still_load(
    config: Config, project_root: Path
) -> None:
    (project_root / ".slipway").mkdir(exist_ok=True)
    (project_root / ".slipway/history.jsonl").write_text(
        json.dumps(
            {
                "time": "2026-11-01T10:00:00+00:00",
                "environment": "prod",
                "image": "notes:old",
                "image_id": "sha256:old",
                "outcome": "ok",
                "detail": "",
            }
        )
        + "\n"
    )

    (old,) = history.releases(config, config.environment("prod"))

    assert (old.image, old.outcome, old.switch_seconds) == ("notes:old", history.OK, None)
    assert history.last_good(config, config.environment("prod")) == old


def test_last_good_skips_releases_whose_image_was_pruned(config: Config) -> None:
    env = config.environment("prod")
    history.record(config, env, "app:old", "", history.OK)
    history.record(config, env, "app:pruned", "", history.OK)
    history.record(config, env, "app:now", "", history.OK)
    found = history.last_good(config, env, other_than="app:now", present={"app:old", "app:now"})
    assert found is not None
    assert found.image == "app:old"


# --- a history that is not all readable: skip, warn once, go on ---------------

GOOD_LINE = {
    "time": "2026-11-01T10:00:00+00:00",
    "environment": "prod",
    "image": "notes:good",
    "image_id": "sha256:good",
    "outcome": "ok",
    "detail": "",
}


def write_history(project_root: Path, *lines: str) -> Path:
    path = project_root / ".slipway/history.jsonl"
    path.parent.mkdir(exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('{"time": "2026-11-01T11:00:00+00:00", "environment": "prod", "ima', "whole JSON"),
        (json.dumps({**GOOD_LINE, "outcome": "exploded"}), "unknown outcome 'exploded'"),
        (json.dumps({k: v for k, v in GOOD_LINE.items() if k != "image"}), "no image"),
        (json.dumps({**GOOD_LINE, "image": ["notes:x"]}), "image not a string"),
        (json.dumps({**GOOD_LINE, "switch_seconds": "fast"}), "switch_seconds not a number"),
        (
            json.dumps({**GOOD_LINE, "timeline": [["build", "2s"]]}),
            "timeline not a list of [phase, seconds]",
        ),
        ("null", "not a JSON object"),
        ("\udcff", "whole JSON"),
    ],
    ids=[
        "torn",
        "unknown outcome",
        "missing field",
        "wrong type",
        "bad number",
        "bad timeline",
        "null",
        "bytes",
    ],
)
def test_an_unreadable_line_is_skipped_with_one_warning_naming_it(
    config: Config, project_root: Path, capsys: pytest.CaptureFixture[str], line: str, why: str
) -> None:
    later = {**GOOD_LINE, "image": "notes:later", "time": "2026-11-02T10:00:00+00:00"}
    path = write_history(project_root, json.dumps(GOOD_LINE), "", json.dumps(later))
    with path.open("ab") as out:  # a torn line in the middle, as a crash leaves one
        out.write(line.encode(errors="surrogateescape") + b"\n")
    history.record(config, config.environment("prod"), "notes:new", "sha256:new", history.OK)

    prod = config.environment("prod")
    images = [r.image for r in history.releases(config, prod)]
    assert images == ["notes:good", "notes:later", "notes:new"]
    assert history.last_good(config, prod) is not None
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("slipway: warning: skipped line 4 of .slipway/history.jsonl (")
    assert why in err

    history.releases(config, prod)  # read again in the same command: no second warning
    assert capsys.readouterr().err == ""


def test_several_bad_lines_make_one_warning(
    config: Config, project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_history(project_root, "{", json.dumps(GOOD_LINE), "[1]", "garbage")

    assert [r.image for r in history.releases(config, config.environment("prod"))] == ["notes:good"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "skipped line 1 of .slipway/history.jsonl" in err
    assert "and 2 more line(s)" in err


def test_a_field_this_version_does_not_know_is_ignored_and_the_release_kept(
    config: Config, project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_history(project_root, json.dumps({**GOOD_LINE, "from_the_future": {"x": 1}}))

    (entry,) = history.releases(config, config.environment("prod"))

    assert (entry.image, entry.outcome) == ("notes:good", history.OK)
    assert capsys.readouterr().err == ""


def test_a_record_after_a_torn_last_line_starts_a_line_of_its_own(
    config: Config, project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_history(project_root, json.dumps(GOOD_LINE))
    with path.open("a") as out:
        out.write('{"time": "2026-11-01T12:00:00+00:00", "envir')  # a crash mid-write

    entry = history.record(config, config.environment("prod"), "notes:b", "sha256:b", history.OK)

    assert history.releases(config, config.environment("prod"))[-1] == entry
    assert path.read_text().endswith(json.dumps(asdict(entry)) + "\n")
    assert "skipped line 2" in capsys.readouterr().err


def test_each_record_is_one_whole_line_written_once_and_synced(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Appends from two commands at once cannot interleave: one write() of the
    whole line to a file opened with O_APPEND, then fsync."""
    calls: list[str] = []
    real_open, real_write, real_fsync = os.open, os.write, os.fsync

    def opened(path: Any, flags: int, *args: Any) -> int:
        calls.append(f"open append={bool(flags & os.O_APPEND)}")
        return real_open(path, flags, *args)

    def wrote(fd: int, data: bytes) -> int:
        calls.append(f"write {len(data.splitlines())} line(s)")
        return real_write(fd, data)

    def synced(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    monkeypatch.setattr(os, "open", opened)
    monkeypatch.setattr(os, "write", wrote)
    monkeypatch.setattr(os, "fsync", synced)
    history.record(
        config, config.environment("prod"), "notes:a", "sha256:a", history.OK, "x" * 9000
    )

    assert calls == ["open append=True", "write 1 line(s)", "fsync"]
    (entry,) = history.releases(config, config.environment("prod"))
    assert entry.detail == "x" * 9000


# --- where a rollback goes: the release served before the current one ----------


def _line(config: Config, *rows: tuple[str, history.Outcome]) -> None:
    for image, outcome in rows:
        history.record(config, config.environment("prod"), image, f"sha256:{image}", outcome)


def _before(config: Config, current: str, present: set[str] | None = None) -> str | None:
    everything = {r.image for r in history.releases(config, config.environment("prod"))}
    found = history.before(
        config, config.environment("prod"), current, present=present or everything
    )
    return found.image if found is not None else None


def test_a_rollback_goes_to_the_release_served_before_the_current(config: Config) -> None:
    _line(config, ("a", history.OK), ("b", history.FAILED), ("c", history.OK))

    assert _before(config, "c") == "a"


def test_a_second_rollback_goes_further_back_never_forward(config: Config) -> None:
    _line(config, ("a", history.OK), ("b", history.OK), ("c", history.OK))
    _line(config, ("b", history.ROLLBACK))

    assert _before(config, "b") == "a"


def test_after_rolling_back_to_the_first_release_there_is_nowhere_to_go(config: Config) -> None:
    _line(config, ("a", history.OK), ("b", history.OK), ("a", history.ROLLBACK))

    assert _before(config, "a") is None


def test_a_release_started_again_after_a_failure_is_where_it_was(config: Config) -> None:
    _line(config, ("a", history.OK), ("b", history.OK), ("c", history.FAILED))
    _line(config, ("b", history.ROLLED_BACK))

    assert _before(config, "b") == "a"


def test_a_pruned_release_is_passed_over(config: Config) -> None:
    _line(config, ("old", history.OK), ("pruned", history.OK), ("now", history.OK))

    assert _before(config, "now", present={"old", "now"}) == "old"
