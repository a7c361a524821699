"""The bulk domain's queues, run by the task worker: seed 001's file processing, and one queue per
bulk upload kind (seed 004)."""

from __future__ import annotations

from jobline.core.queues import TASK_WORKER, one_at_a_time_queue

FILE_PROCESSING = "file-processing"
BULK_UPLOAD_MECHANICS = "bulk-upload-mechanics"
BULK_UPLOAD_SERVICE_PROVIDERS = "bulk-upload-service-providers"
BULK_UPLOAD_POLICIES = "bulk-upload-policies"

DOMAIN_QUEUES = tuple(
    one_at_a_time_queue(name, TASK_WORKER, job_timeout_seconds=240)
    for name in (FILE_PROCESSING, BULK_UPLOAD_MECHANICS, BULK_UPLOAD_SERVICE_PROVIDERS, BULK_UPLOAD_POLICIES)
)
