"""The workloads. Each `domains/<name>/` declares its queues (`queues.py`) and job types
(`jobs.py`) beside its service code, its tables (`tables.py`) and its schemas (`schemas.py`);
`jobline.core.catalog` finds them by that convention."""
