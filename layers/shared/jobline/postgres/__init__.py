"""Postgres: the SQLAlchemy declarative base and engine (pg8000), Alembic migrations."""
