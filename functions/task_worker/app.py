"""Task worker: runs data exports, file processing, bulk uploads and generic tasks."""

from __future__ import annotations

from jobline.entrypoints import worker_handler

lambda_handler = worker_handler
