"""Task worker: runs data exports, file processing, bulk uploads, generic tasks, AI jobs and scheduled jobs."""

from __future__ import annotations

# Importing a domain's jobs module registers the job types this function runs.
import jobline.ai.jobs
import jobline.bulk.jobs
import jobline.exports.jobs
import jobline.marketing.jobs
import jobline.tasks.jobs  # noqa: F401
from jobline.entrypoints import worker_handler

lambda_handler = worker_handler
