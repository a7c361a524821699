"""Room generation worker: runs the jobs of the room-generation queue."""

from __future__ import annotations

from jobline.entrypoints import worker_handler

lambda_handler = worker_handler
