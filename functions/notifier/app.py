"""Notifier: runs the email, SMS, waitlist notification and callback (webhook) jobs."""

from __future__ import annotations

import jobline.notifications.jobs
import jobline.waitlist.jobs
import jobline.webhooks  # noqa: F401 - the callback job type
from jobline.entrypoints import worker_handler

lambda_handler = worker_handler
