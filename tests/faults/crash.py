"""A worker process dying mid-batch (OOM, SIGKILL, Lambda timeout), simulated in-process.

The crash is a BaseException, so nothing in the worker catches it; and from the moment it is
raised the thread counts as dead: Python still runs the handler's `finally` blocks on the way
out, but every Redis command or SQS call they make raises again, as nothing would reach the
outside world from a killed process. The next invocation on the thread is a fresh instance.
"""

from __future__ import annotations

import threading

_state = threading.local()


class WorkerKilled(BaseException):
    """The Lambda process dies: not an Exception, nothing in the worker catches it."""


def kill(reason: str) -> WorkerKilled:
    """Mark the calling thread's worker dead; returns the exception to raise."""
    _state.dead = True
    return WorkerKilled(reason)


def is_dead() -> bool:
    return bool(getattr(_state, "dead", False))


def revive() -> None:
    """The next invocation on this thread runs in a fresh Lambda instance."""
    _state.dead = False


def refuse_if_dead(what: str) -> None:
    if is_dead():
        raise WorkerKilled(f"{what} from a killed worker never happens")
