"""Postgres through SQLAlchemy 2.0 and pg8000; the runtime owns the engine, callers own their sessions."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

import jobline


class Base(DeclarativeBase):
    """The declarative base of every domain table."""


def make_engine(url: str) -> sa.Engine:
    """An engine for `url`; pre-ping so a Lambda thawed after a DB restart reconnects."""
    return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2, pool_recycle=300)


def load_all_models() -> None:
    """Import every `jobline.<domain>.models` module, so Base.metadata knows every table.

    Each domain keeps its tables in its own `models.py`; Alembic and the schema tests
    need them all without a hand-kept list.
    """
    for module in pkgutil.iter_modules(jobline.__path__):
        if module.ispkg and importlib.util.find_spec(f"jobline.{module.name}.models") is not None:
            importlib.import_module(f"jobline.{module.name}.models")
