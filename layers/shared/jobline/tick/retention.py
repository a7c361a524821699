"""The nightly sweep's retention: each queue's finished jobs past its keep rules (by age, then by
count) are removed, by `operations.apply_retention`, which the waitlist's own cleanup job shares."""

from __future__ import annotations

from jobline.core.queues import QUEUES
from jobline.engine.operations import apply_retention
from jobline.runtime import Runtime


def apply_retention_to_every_queue(runtime: Runtime) -> dict[str, int]:
    """Apply every queue's retention; returns how many jobs each queue lost."""
    return {queue: apply_retention(runtime, queue) for queue in QUEUES}
