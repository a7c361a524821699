"""What the local stack shows on the console: its own log lines and the start-up banner."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobline_dev.local.stack import LocalStack

# Not under "jobline": Powertools' Logger(service="jobline") filters every logger whose
# name contains its service out of the root handlers, and these lines must show.
LOGGER = "local"
# The functions log JSON on stdout through Powertools; these libraries' chatter only hides it.
QUIET_LOGGERS = ("pgserver", "botocore", "boto3", "urllib3", "werkzeug")


def configure_logging(level: str) -> None:
    """The stack's lines (and Alembic's) on stderr, beside the functions' JSON lines on stdout."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)-7s [%(name)s] %(message)s", datefmt="%H:%M:%S"
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def banner(stack: LocalStack) -> str:
    """What runs where, a token and the demo data."""
    summary: dict[str, Any] = stack.summary()
    database = "embedded Postgres (throwaway)" if stack.database.embedded else "DATABASE_URL"
    if stack.config.pgdata is not None and stack.database.embedded:
        database = f"embedded Postgres (kept in {stack.config.pgdata})"
    lines = [
        "",
        "Jobline local stack is up",
        f"  HTTP API    {summary['api']}   try: curl {summary['api']}/api/v1/health",
        f"  AWS (moto)  {summary['aws']}   e.g. AWS_ENDPOINT_URL={summary['aws']} aws sqs list-queues",
        f"  Postgres    {database}: {summary['database']}",
        f"  Job store   {summary['store']}",
        "  Functions",
    ]
    for name, parts in summary["functions"].items():
        wired = [*parts["routes"], *(f"sqs:{q}" for q in parts["queues"]), *parts["schedules"]]
        lines.append(f"    {name:<24} {', '.join(wired) or '-'}")
    roles = ",".join(stack.config.token_roles) or "no roles"
    lines += [
        f"  Token       tenant {stack.config.token_tenant}, {roles} (`make token` prints others):",
        f"    {stack.token()}",
    ]
    if stack.demo is not None:
        lines.append(f"  Demo        room category {stack.demo.category_name!r}: {stack.demo.category_id}")
    lines += ["Ctrl-C stops everything.", ""]
    return "\n".join(lines)
