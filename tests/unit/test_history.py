"""slipway.history: which release each environment ran, and how each deploy ended."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from slipway import history
from slipway.config import Config
from slipway.history import Release


def test_releases_before_any_deploy_are_none(config: Config) -> None:
    assert history.releases(config, config.environment("prod")) == []


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
