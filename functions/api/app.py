"""The HTTP API function: every /api/v1 route, served by jobline.api."""

from jobline.api.app import lambda_handler
from jobline.core import catalog

# Enqueue checks each payload against its job type's model, so the API knows every job type.
catalog.load_all_job_types()

__all__ = ["lambda_handler"]
