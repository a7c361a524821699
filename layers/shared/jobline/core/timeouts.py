"""Bounding one attempt's run time."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from jobline.core.errors import JobTimeout

T = TypeVar("T")


class _Deadline(BaseException):
    """Raised by SIGALRM wherever the job is, a socket read included. Not an Exception, so that
    SQLAlchemy invalidates a connection it interrupts (instead of rolling back on a half-read
    protocol and pooling it for the next job), and a job's `except Exception` cannot swallow it."""


def run_with_timeout[T](func: Callable[[], T], seconds: float) -> T:
    """Run `func`, raising JobTimeout once it has run `seconds`.

    In the main thread (every Lambda invocation) a SIGALRM interrupts the function.
    Elsewhere no thread can be interrupted, so an overrun is detected when the function
    returns; long functions call `JobContext.check_deadline()` between steps.
    """
    if threading.current_thread() is not threading.main_thread():
        started = time.monotonic()
        result = func()
        if time.monotonic() - started > seconds:
            raise JobTimeout(seconds)
        return result

    def on_alarm(signum: int, frame: Any) -> None:
        raise _Deadline()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        return func()
    except _Deadline:
        raise JobTimeout(seconds) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
