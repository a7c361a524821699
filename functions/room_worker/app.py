"""Room generation worker: runs the jobs of the room-generation queue."""

from __future__ import annotations

import jobline.domains.rooms.jobs  # noqa: F401 - registers the job types this function runs
from jobline.entrypoints.worker import worker_handler

lambda_handler = worker_handler
