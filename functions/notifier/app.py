"""Notifier: runs the email, SMS and waitlist notification jobs."""

from __future__ import annotations

from jobline.entrypoints import worker_handler

lambda_handler = worker_handler
