"""Waitlist worker: releases expired holds, cascades offers and runs the waitlist cleanup."""

from __future__ import annotations

import jobline.waitlist.jobs  # noqa: F401 - registers the job types this function runs
from jobline.entrypoints import worker_handler

lambda_handler = worker_handler
