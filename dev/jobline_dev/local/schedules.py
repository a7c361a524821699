"""EventBridge schedules, locally: `rate(...)` every interval (optionally sped up) and `cron(...)` by croniter."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
import threading
import uuid
from typing import Any

from croniter import croniter

from jobline_dev.local.console import LOGGER
from jobline_dev.local.functions import LocalFunction
from jobline_dev.local.spec import ScheduleSpec
from jobline_dev.local.template import ACCOUNT_ID

log = logging.getLogger(LOGGER)

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """The interval of a `rate(N unit)` expression, or None for anything else."""
    found = _RATE.match(expression.strip())
    if not found:
        return None
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2).rstrip("s")]


def _shift_weekdays(field: str) -> str:
    # EventBridge numbers days 1-7 from Sunday; cron (croniter) numbers them 0-6.
    return re.sub(r"\d+", lambda m: str(int(m.group()) - 1), field)


def cron_parts(expression: str) -> tuple[str, str]:
    """An EventBridge `cron(min hour dom month dow year)` as a 5-field croniter expression and its year field."""
    found = _CRON.match(expression.strip())
    if not found:
        raise ValueError(f"not a rate or cron expression: {expression!r}")
    fields = found.group(1).split()
    if len(fields) != 6:
        raise ValueError(f"an EventBridge cron expression has 6 fields: {expression!r}")
    minute, hour, dom, month, dow, year = ("*" if f == "?" else f for f in fields)
    return f"{minute} {hour} {dom} {month} {_shift_weekdays(dow)}", year


def _year_matches(field: str, year: int) -> bool:
    for part in field.split(","):
        low, _, high = part.partition("-")
        if part == "*" or (low.isdigit() and int(low) <= year <= int(high or low)):
            return True
    return False


@dataclasses.dataclass
class Timer:
    """When one schedule fires next."""

    spec: ScheduleSpec
    function: LocalFunction
    interval: float | None  # seconds, for rate expressions
    cron: str | None = None
    years: str = "*"
    due: dt.datetime = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.UTC))
    fired: int = 0

    def advance(self, now: dt.datetime) -> None:
        """Move `due` to the next firing after `now`."""
        if self.interval is not None:
            # Keep the cadence of the first firing; after a stall, carry on from now.
            step = dt.timedelta(seconds=self.interval)
            self.due = self.due + step if self.due + step > now else now + step
            return
        assert self.cron is not None
        moment = now
        for _ in range(1000):  # a year field that never matches must not loop forever
            moment = croniter(self.cron, moment).get_next(dt.datetime)
            if _year_matches(self.years, moment.year):
                self.due = moment
                return
        self.due = dt.datetime.max.replace(tzinfo=dt.UTC)


def scheduled_event(spec: ScheduleSpec, function: LocalFunction, *, region: str, now: dt.datetime) -> Any:
    """The event the target gets: the constant Input when set, else EventBridge's Scheduled Event."""
    if spec.input is not None:
        return json.loads(spec.input)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{function.name}-{spec.event_name}"],
        "detail": {},
    }


class Scheduler:
    """Fires every enabled schedule of every function on its own thread, as EventBridge invokes asynchronously."""

    def __init__(
        self, schedules: list[tuple[ScheduleSpec, LocalFunction]], *, region: str, speedup: float = 1.0
    ) -> None:
        if speedup <= 0:
            raise ValueError("the schedule speed-up must be positive")
        self.region = region
        self.timers: list[Timer] = []
        now = dt.datetime.now(dt.UTC)
        for spec, function in schedules:
            if not spec.enabled:
                continue
            interval = rate_seconds(spec.expression)
            if interval is not None:
                timer = Timer(spec, function, interval / speedup)
            else:
                cron, years = cron_parts(spec.expression)
                timer = Timer(spec, function, None, cron=cron, years=years)
            timer.advance(now)
            self.timers.append(timer)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while self.timers and not self._stop.is_set():
            timer = min(self.timers, key=lambda t: t.due)
            wait = (timer.due - dt.datetime.now(dt.UTC)).total_seconds()
            if wait > 0:
                self._stop.wait(min(wait, 1.0))  # wake up often enough to notice a stop
                continue
            now = dt.datetime.now(dt.UTC)
            timer.advance(now)
            timer.fired += 1
            event = scheduled_event(timer.spec, timer.function, region=self.region, now=now)
            log.info(
                "%s: schedule %s (%s) fired", timer.function.logical_id, timer.spec.event_name, timer.spec.expression
            )
            threading.Thread(target=self._fire, args=(timer.function, event), daemon=True).start()

    @staticmethod
    def _fire(function: LocalFunction, event: Any) -> None:
        try:
            function.invoke(event)
        except Exception:  # noqa: BLE001 - logged by invoke; EventBridge only retries, locally the next firing comes
            return
