"""Task worker: runs data exports, file processing, bulk uploads, generic tasks, AI jobs and scheduled jobs."""

from __future__ import annotations

# Importing a domain's jobs module registers the job types this function runs.
import jobline.domains.ai.jobs
import jobline.domains.bulk.jobs
import jobline.domains.exports.jobs
import jobline.domains.marketing.jobs
import jobline.domains.tasks.jobs  # noqa: F401
from jobline.entrypoints.worker import worker_handler

lambda_handler = worker_handler
