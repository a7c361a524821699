"""Waitlist worker: releases expired holds, cascades offers and runs the waitlist cleanup."""

from __future__ import annotations

import jobline.domains.waitlist.jobs  # noqa: F401 - registers the job types this function runs
from jobline.entrypoints.worker import worker_handler

lambda_handler = worker_handler
