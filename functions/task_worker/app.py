"""Task worker: runs data exports, file processing, bulk uploads and generic tasks."""

from __future__ import annotations

import jobline.tasks.jobs  # noqa: F401 - generic tasks (and the e-mail/SMS types they enqueue)
from jobline.entrypoints import worker_handler

lambda_handler = worker_handler
