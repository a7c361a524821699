"""Cleanup: the per-minute tick (delayed jobs, dead letters) and the nightly retention sweep."""

from __future__ import annotations

from jobline.entrypoints.cleanup import schedule_handler

lambda_handler = schedule_handler
