"""Job options on the wire: milliseconds for every time, bee-queue's `retries`, BullMQ's `repeat`."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from jobline.core.job import Job
from jobline.core.repeat import Repeat, schedule_id_of_run
from jobline.core.retry import MAX_BACKOFF_MS, Backoff, BackoffKind, BackoffOption
from jobline.engine.enqueue import MAX_DELAY_MS, JobOptions, shown_options


def error_locs(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str | int, ...]]:
    return [tuple(error["loc"]) for error in exc.value.errors()]


@pytest.mark.parametrize(
    ("sent", "policy"),
    [
        ({"type": "exponential", "delay": 5000}, Backoff(type=BackoffKind.EXPONENTIAL, delay=5)),
        ({"type": "fixed", "delay": 1500}, Backoff(type=BackoffKind.FIXED, delay=1.5)),
        ({"delay": 250}, Backoff(type=BackoffKind.EXPONENTIAL, delay=0.25)),
        ({}, Backoff()),
        (3000, Backoff(type=BackoffKind.FIXED, delay=3)),  # Bull's bare number: a fixed delay
    ],
)
def test_backoff_option_in_milliseconds_becomes_the_kept_policy_in_seconds(sent, policy: Backoff) -> None:
    assert BackoffOption.model_validate(sent).policy() == policy


def test_backoff_is_shown_back_in_milliseconds_as_sent() -> None:
    sent = {"type": "exponential", "delay": 5000}
    assert BackoffOption.shown(BackoffOption.model_validate(sent).policy()).model_dump(mode="json") == sent


def test_exponential_backoff_of_5000_ms_waits_5_10_20_seconds() -> None:
    policy = BackoffOption(type=BackoffKind.EXPONENTIAL, delay=5000).policy()
    assert [policy.delay_after(made) for made in (1, 2, 3)] == [5, 10, 20]


@pytest.mark.parametrize("delay", [-1, MAX_BACKOFF_MS + 1, 1.5, "soon", True])
def test_backoff_option_refuses_bad_delays(delay) -> None:
    with pytest.raises(ValidationError):
        BackoffOption.model_validate({"delay": delay} if not isinstance(delay, bool) else delay)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"delay": -1}, "delay"),
        ({"delay": MAX_DELAY_MS + 1}, "delay"),
        ({"delay": 1e308}, "delay"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": MAX_DELAY_MS + 1}, "timeout"),
        ({"retries": -1}, "retries"),
        ({"retries": 25}, "retries"),
        ({"attempts": 3, "retries": 2}, "retries"),
        ({"backoff": {"type": "linear"}}, "backoff"),
        ({"repeat": {}}, "repeat"),
    ],
)
def test_job_options_refuse_bad_values_naming_the_field(options, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        JobOptions.model_validate(options)
    assert field in {loc[0] for loc in error_locs(exc)}


def test_delay_of_the_full_year_in_milliseconds_is_accepted() -> None:
    assert JobOptions.model_validate({"delay": MAX_DELAY_MS}).delay == 366 * 24 * 3600 * 1000


@pytest.mark.parametrize(
    ("options", "attempts"),
    [({"retries": 3}, 4), ({"retries": 0}, 1), ({"attempts": 5}, 5), ({}, None), ({"retries": 24}, 25)],
)
def test_retries_count_the_runs_after_the_first(options, attempts: int | None) -> None:
    assert JobOptions.model_validate(options).max_attempts == attempts


@pytest.mark.parametrize(
    ("repeat", "field"),
    [
        ({"pattern": "every day"}, "pattern"),
        ({"pattern": "0 0 30 2 *"}, "pattern"),  # 30 February: valid to croniter, never a date
        ({"pattern": "* * * * * *"}, "pattern"),  # seconds: finer than the tick
        ({"every": 1000}, "every"),  # the tick runs each minute
        ({"every": 60_000, "tz": "Mars/Olympus"}, "tz"),
        ({"every": 60_000, "limit": 0}, "limit"),
        ({"every": 60_000, "seconds": 1}, "seconds"),
    ],
)
def test_repeat_refuses_bad_rules_naming_the_field(repeat, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Repeat.model_validate(repeat)
    assert field in {loc[0] for loc in error_locs(exc)}


@pytest.mark.parametrize(
    "repeat",
    [{}, {"pattern": "0 0 * * *", "every": 60_000}, {"pattern": "0 0 * * *", "immediately": True}],
)
def test_repeat_takes_exactly_one_rule(repeat) -> None:
    with pytest.raises(ValidationError, match="pattern"):
        Repeat.model_validate(repeat)


def test_repeat_takes_bullmq_names_and_the_older_cron() -> None:
    repeat = Repeat.model_validate({"cron": "0 0 * * *", "tz": "Europe/Paris", "endDate": "2030-01-01T00:00:00Z"})
    assert (repeat.pattern, repeat.tz, repeat.end_date) == (
        "0 0 * * *",
        "Europe/Paris",
        dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )


def test_repeat_key_names_the_rule_not_the_data() -> None:
    daily = Repeat(pattern="0 0 * * *")
    assert daily.key(name="update-sitemap", job_id=None) == Repeat(pattern="0 0 * * *").key(
        name="update-sitemap", job_id=None
    )
    assert daily.key(name="update-sitemap", job_id=None) != daily.key(name="process-campaigns", job_id=None)
    assert daily.key(name="a", job_id=None) != Repeat(pattern="0 0 * * *", tz="Asia/Tokyo").key(name="a", job_id=None)
    assert Repeat(every=60_000).key(name="a", job_id="x") != Repeat(every=120_000).key(name="a", job_id="x")


def test_a_jobs_options_are_shown_in_milliseconds() -> None:
    created = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    job = Job(
        id="j1",
        queue="email",
        name="send-email",
        tenant_id="t1",
        max_attempts=4,
        backoff=Backoff(type=BackoffKind.EXPONENTIAL, delay=5),
        timeout_seconds=20,
        priority=3,
        created_at=created,
        run_at=created + dt.timedelta(hours=1),
    )
    assert shown_options(job) == {
        "attempts": 4,
        "backoff": {"type": "exponential", "delay": 5000},
        "delay": 3_600_000,
        "timeout": 20_000,
        "priority": 3,
        "jobId": None,
        "repeatJobKey": None,
    }


@pytest.mark.parametrize(
    ("key", "schedule_id"),
    [("repeat:5b0c:1767225600", "5b0c"), ("mine", None), (None, None), ("repeat:", None)],
)
def test_a_recurring_runs_key_names_its_schedule(key: str | None, schedule_id: str | None) -> None:
    assert schedule_id_of_run(key) == schedule_id
