"""The job's Postgres side: its effect (one row per job, written idempotently), a log of every run,
and a killer of the job's database connections."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

METADATA = sa.MetaData()

# The effect: one row per job, keyed by job id. Jobline is at least once, so the job writes it
# with ON CONFLICT; `writes` counts how often a run (re)applied it, to show re-runs stayed single.
EFFECTS = sa.Table(
    "fault_effects",
    METADATA,
    sa.Column("job_id", sa.String, primary_key=True),
    sa.Column("tenant_id", sa.String, nullable=False),
    sa.Column("value", sa.String, nullable=False),
    sa.Column("first_attempt", sa.Integer, nullable=False),
    sa.Column("writes", sa.Integer, nullable=False),
)

# Every run of the job function, committed before the run's fault strikes.
RUNS = sa.Table(
    "fault_runs",
    METADATA,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("job_id", sa.String, nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("fault", sa.String, nullable=False),
)


def create_tables(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        METADATA.create_all(engine)
    finally:
        engine.dispose()


def record_run(session: Session, *, job_id: str, attempt: int, fault: str) -> None:
    session.execute(sa.insert(RUNS).values(job_id=job_id, attempt=attempt, fault=fault))


def write_effect(session: Session, *, job_id: str, tenant_id: str, value: str, attempt: int) -> str | None:
    """The job's effect, idempotent by job id; returns the job id Postgres says it wrote."""
    insert = postgresql.insert(EFFECTS).values(
        job_id=job_id, tenant_id=tenant_id, value=value, first_attempt=attempt, writes=1
    )
    upsert = insert.on_conflict_do_update(index_elements=[EFFECTS.c.job_id], set_={"writes": EFFECTS.c.writes + 1})
    return session.execute(upsert.returning(EFFECTS.c.job_id)).scalar()


def slow_query(session: Session, seconds: float) -> None:
    """A query that outlasts the job's timeout, as a slow report or a lock wait would."""
    session.execute(sa.text("select pg_sleep(:s)"), {"s": seconds})


def backend_pid(session: Session) -> int:
    return int(session.scalar(sa.text("select pg_backend_pid()")))


class PostgresKiller:
    """Terminates backends of the test's own database, from an admin connection to another database."""

    def __init__(self, admin_url: str, database: str) -> None:
        # No pool: a kill interrupted by the job's timeout must not leave a half-read connection behind.
        self._engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        self._database = database

    def kill(self, pid: int) -> bool:
        """Terminate one backend and wait (up to 5 s) until it is gone."""
        with self._engine.connect() as conn:
            return bool(conn.scalar(sa.text("select pg_terminate_backend(:pid, 5000)"), {"pid": pid}))

    def kill_all(self) -> int:
        """Terminate every backend of the test's database (idle pooled connections included)."""
        query = sa.text(
            "select count(*) filter (where pg_terminate_backend(pid, 5000)) from pg_stat_activity"
            " where datname = :db and pid <> pg_backend_pid()"
        )
        with self._engine.connect() as conn:
            return int(conn.scalar(query, {"db": self._database}))

    def dispose(self) -> None:
        self._engine.dispose()
