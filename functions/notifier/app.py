"""Notifier: runs the email, SMS, waitlist notification and callback (webhook) jobs."""

from __future__ import annotations

import jobline.domains.notifications.jobs
import jobline.domains.waitlist.jobs
import jobline.engine.callbacks  # noqa: F401 - the callback job type
from jobline.entrypoints.worker import worker_handler

lambda_handler = worker_handler
