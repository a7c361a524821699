"""A deployed function's setting, on moto: the environment template.yaml gives it, the resources
CloudFormation would have made, and the handlers loaded from functions/<name>/app.py as Lambda loads them.

The runtime is the one the handlers build themselves (`jobline.runtime.get_runtime()`, from the
environment), so nothing in them is swapped for the benchmarks.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pathlib
import sys
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from bench import common

ROOT = pathlib.Path(__file__).resolve().parents[1]
SECRET = "bench-deployed-secret-0123456789abcdef"  # 32+ bytes, as HS256 wants


def load_handler(function: str) -> Any:
    """functions/<function>/app.py's lambda_handler, loaded from its file as Lambda would."""
    path = ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"bench_function_{function}", path)
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.lambda_handler


@contextlib.contextmanager
def environment(store: str) -> Iterator[str]:
    """template.yaml's Globals for a stack of this run's own (queue prefix returned), the store chosen.

    Must run inside `mock_aws()`. The cached settings, runtime and token verifier are rebuilt on the
    way in and out, as a fresh Lambda container would build them.
    """
    from jobline import auth, config, runtime

    prefix = f"b{uuid.uuid4().hex[:6]}-"
    with contextlib.ExitStack() as stack:
        env = {
            "JOBLINE_STORE": store,
            "JOBLINE_TABLE": f"{prefix}jobs",
            "JOBLINE_QUEUE_PREFIX": prefix,
            "JOBLINE_BUCKET": f"{prefix}payloads",
            "JOBLINE_REDIS_URL": common.REDIS_URL,
            "JOBLINE_EVENT_BUS": "default",
            # In AWS the secret comes from SSM (JOBLINE_JWT_SECRET_PARAMETER), read once per container.
            "JOBLINE_JWT_SECRET": SECRET,
            "JOBLINE_STAGE": "dev",
        }
        if store == "redis":
            env["JOBLINE_REDIS_PREFIX"] = stack.enter_context(common.redis_prefix())
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)

        def rebuild() -> None:
            config.get_settings.cache_clear()
            runtime.get_runtime.cache_clear()
            auth.reset()

        rebuild()
        try:
            provision(store, prefix)
            yield prefix
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            rebuild()


def provision(store: str, prefix: str) -> None:
    """The queues, bucket and table the template declares, as CloudFormation would have made them."""
    import boto3

    from jobline import config
    from jobline_dev.support import provision_aws

    settings = config.get_settings()
    provision_aws(boto3.client("sqs"), boto3.client("s3"), prefix=prefix, bucket=settings.jobline_bucket)
    if store == "dynamodb":
        from jobline.store.dynamodb import create_table

        create_table(boto3.client("dynamodb"), settings.jobline_table)


def token(tenant: str) -> str:
    """A bearer token for `tenant`, signed with the secret `environment` sets."""
    from jobline_dev.devtoken import make_token

    return make_token(secret=SECRET, tenant=tenant, user="bench", roles=(), hours=1, audience="jobline")
