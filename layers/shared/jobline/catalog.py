"""Discovery of every domain's job types and tables, by convention rather than a hand-kept list.

Each domain registers its job types in `jobline/<domain>/jobs.py` and keeps its tables in
`jobline/<domain>/models.py`. Functions that enqueue any job type (the API, the tick)
load them all; a worker function imports only the job modules it runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

import jobline

# Packages of the platform itself, not domains: their `jobs`/`models` modules are something else.
NOT_DOMAINS = frozenset({"api", "store", "migrations"})


def _load(module_name: str) -> list[str]:
    loaded = []
    for package in pkgutil.iter_modules(jobline.__path__):
        if package.name in NOT_DOMAINS:
            continue
        qualified = f"jobline.{package.name}.{module_name}"
        if package.ispkg and importlib.util.find_spec(qualified) is not None:
            importlib.import_module(qualified)
            loaded.append(qualified)
    return loaded


# Job types of the platform itself, outside the domain packages.
CORE_JOB_MODULES = ("jobline.webhooks",)


def load_all_job_types() -> list[str]:
    """Import every `jobline.<domain>.jobs` module and the core job modules; returns their names."""
    for name in CORE_JOB_MODULES:
        importlib.import_module(name)
    return [*CORE_JOB_MODULES, *_load("jobs")]


def load_all_models() -> list[str]:
    """Import every `jobline.<domain>.models` module, so Base.metadata knows every table."""
    return _load("models")
