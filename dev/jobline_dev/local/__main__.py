"""`python -m jobline_dev.local` (`make local`): run the whole system on this machine until Ctrl-C."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import pathlib
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from jobline_dev.local.console import LOGGER, banner, configure_logging
from jobline_dev.local.stack import LocalStack, StackConfig

STORES = ("dynamodb", "redis")


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    pairs = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"{flag} takes NAME=VALUE, not {item!r}")
        pairs[name] = value
    return pairs


def parser() -> argparse.ArgumentParser:
    """The command line; every option also reads the environment variable named in its help."""
    defaults = StackConfig()
    p = argparse.ArgumentParser(prog="python -m jobline_dev.local", description=__doc__)
    add = p.add_argument
    add(
        "--host",
        default=_env("JOBLINE_LOCAL_HOST", defaults.host),
        help="address of the API and of moto ($JOBLINE_LOCAL_HOST)",
    )
    add(
        "--port",
        type=int,
        default=int(_env("JOBLINE_LOCAL_PORT", str(defaults.api_port)) or 0),
        help="HTTP API port; 0 for any free one ($JOBLINE_LOCAL_PORT, default 3000)",
    )
    add(
        "--aws-port",
        type=int,
        default=int(_env("JOBLINE_LOCAL_AWS_PORT", "0") or 0),
        help="moto's port; 0 for any free one ($JOBLINE_LOCAL_AWS_PORT)",
    )
    add(
        "--template",
        type=pathlib.Path,
        default=pathlib.Path(_env("JOBLINE_LOCAL_TEMPLATE", str(defaults.template)) or ""),
        help="the SAM template ($JOBLINE_LOCAL_TEMPLATE)",
    )
    add(
        "--stack-name",
        default=_env("JOBLINE_LOCAL_STACK_NAME", defaults.stack_name),
        help="AWS::StackName: the prefix of queue names ($JOBLINE_LOCAL_STACK_NAME)",
    )
    add(
        "--store",
        choices=STORES,
        default=_env("JOBLINE_LOCAL_STORE", defaults.store),
        help="the job store ($JOBLINE_LOCAL_STORE)",
    )
    add(
        "--redis-url",
        default=_env("JOBLINE_REDIS_URL", defaults.redis_url),
        help="Redis for --store redis ($JOBLINE_REDIS_URL)",
    )
    add(
        "--database-url",
        default=_env("DATABASE_URL") or None,
        help="Postgres (postgresql+pg8000://...); unset: an embedded one ($DATABASE_URL)",
    )
    add(
        "--pgdata",
        type=pathlib.Path,
        default=_env("JOBLINE_LOCAL_PGDATA") or None,
        help="keep the embedded Postgres here across runs ($JOBLINE_LOCAL_PGDATA)",
    )
    add("--parameter", action="append", default=[], metavar="NAME=VALUE", help="a template parameter (repeatable)")
    add(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a function environment variable, over the template's (repeatable)",
    )
    add(
        "--schedule-speedup",
        type=float,
        default=float(_env("JOBLINE_LOCAL_SCHEDULE_SPEEDUP", "1") or 1),
        help="run rate(...) schedules this many times faster ($JOBLINE_LOCAL_SCHEDULE_SPEEDUP)",
    )
    add("--no-schedules", action="store_true", help="do not fire the schedules")
    add(
        "--poll-wait",
        type=int,
        default=int(_env("JOBLINE_LOCAL_POLL_WAIT", str(defaults.poll_wait_seconds)) or 0),
        help="long-poll seconds of each SQS receive, 0-20 ($JOBLINE_LOCAL_POLL_WAIT)",
    )
    add(
        "--max-batching-window",
        type=float,
        default=None,
        help="cap every MaximumBatchingWindowInSeconds at this many seconds",
    )
    add(
        "--demo",
        action="store_true",
        default=_env("JOBLINE_LOCAL_DEMO", "") in {"1", "true", "yes"},
        help="create a demo room category ($JOBLINE_LOCAL_DEMO=1)",
    )
    add("--token-tenant", default=defaults.token_tenant, help="tenant of the printed token")
    add("--token-roles", default=",".join(defaults.token_roles), help="comma-separated roles of the printed token")
    add(
        "--log-level",
        default=_env("JOBLINE_LOCAL_LOG_LEVEL", "INFO"),
        help="level of the stack's own log lines ($JOBLINE_LOCAL_LOG_LEVEL)",
    )
    return p


def config_from(args: argparse.Namespace) -> StackConfig:
    """The stack configuration the parsed arguments describe."""
    if args.store not in STORES:
        raise SystemExit(f"the job store is one of {', '.join(STORES)}, not {args.store!r}")
    if not 0 <= args.poll_wait <= 20:
        raise SystemExit("--poll-wait must be between 0 and 20 seconds (SQS's limit)")
    return StackConfig(
        template=args.template.resolve(),
        host=args.host,
        api_port=args.port,
        aws_port=args.aws_port,
        stack_name=args.stack_name,
        store=args.store,
        redis_url=args.redis_url,
        database_url=args.database_url,
        pgdata=args.pgdata.resolve() if args.pgdata else None,
        parameters=_pairs(args.parameter, "--parameter"),
        env=_pairs(args.env, "--env"),
        schedule_speedup=args.schedule_speedup,
        schedules=not args.no_schedules,
        poll_wait_seconds=args.poll_wait,
        max_batching_window=args.max_batching_window,
        demo=args.demo,
        token_tenant=args.token_tenant,
        token_roles=tuple(r.strip() for r in args.token_roles.split(",") if r.strip()),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Start the stack, print the banner, and wait for SIGINT or SIGTERM."""
    args = parser().parse_args(argv)
    configure_logging(args.log_level)
    config = config_from(args)
    stopping = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()
        # A second Ctrl-C ends the process at once, should a clean stop hang.
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack = LocalStack(config)
    try:
        stack.start()
    except OSError as exc:
        print(f"the local stack could not start: {exc} (is a port taken? see --port and --aws-port)", file=sys.stderr)
        return 1
    try:
        print(banner(stack), flush=True)
        while not stopping.wait(0.5):
            pass
        logging.getLogger(LOGGER).info("stopping")
    finally:
        stack.stop()
    # Everything is stopped: collecting the process's objects one by one at exit (moto's
    # backends hold a great many) would keep the prompt away for seconds.
    gc.freeze()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
