"""Discovery of every domain's job types and tables, by convention rather than a hand-kept list.

Each domain under `jobline/domains/<domain>/` declares its queues in `queues.py` (their settings in
`DOMAIN_QUEUES`), registers its job types in `jobs.py` and keeps its tables in `tables.py`. The queue
registry loads every domain's queues on first use; functions that enqueue any job type (the API,
the tick) load every job type; a worker function imports only the job modules it runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from typing import TYPE_CHECKING

import jobline.domains

if TYPE_CHECKING:
    from jobline.core.queues import QueueSettings

# Job types of the platform itself, outside the domain packages.
CORE_JOB_MODULES = ("jobline.engine.callbacks",)


def _load(module_name: str) -> list[str]:
    loaded = []
    for package in pkgutil.iter_modules(jobline.domains.__path__):
        qualified = f"jobline.domains.{package.name}.{module_name}"
        if package.ispkg and importlib.util.find_spec(qualified) is not None:
            importlib.import_module(qualified)
            loaded.append(qualified)
    return loaded


def load_all_job_types() -> list[str]:
    """Import every domain's `jobs` module and the core job modules; returns their names."""
    for name in CORE_JOB_MODULES:
        importlib.import_module(name)
    return [*CORE_JOB_MODULES, *_load("jobs")]


def load_all_tables() -> list[str]:
    """Import every domain's `tables` module, so Base.metadata knows every table."""
    return _load("tables")


def load_all_queues() -> list[QueueSettings]:
    """Import every domain's `queues` module; returns their `DOMAIN_QUEUES`, domain by domain."""
    return [queue for name in _load("queues") for queue in importlib.import_module(name).DOMAIN_QUEUES]
