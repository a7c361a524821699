"""Postgres for the local stack: the one DATABASE_URL names, or an embedded one (pgserver), migrated to head."""

from __future__ import annotations

import logging
import pathlib
import shutil
import tempfile
import warnings
from typing import Any

from jobline.postgres.migrate import upgrade
from jobline_dev.local.console import LOGGER

log = logging.getLogger(LOGGER)

EMBEDDED_DATABASE = "postgres"


class Database:
    """A migrated database: external when `url` is given, else a pgserver cluster started here."""

    def __init__(self, url: str | None = None, *, pgdata: pathlib.Path | None = None) -> None:
        self._given_url = url
        self._pgdata = pgdata
        self._server: Any = None
        self._tempdir: pathlib.Path | None = None
        self.url = url or ""

    @property
    def embedded(self) -> bool:
        return self._given_url is None

    def start(self) -> str:
        """Start the embedded server when needed, run the migrations, and return the database URL."""
        if self.embedded:
            self.url = self._start_embedded()
        upgrade(self.url)
        log.info("database migrated: %s", _without_password(self.url))
        return self.url

    def _start_embedded(self) -> str:
        try:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp, which is fine.
                warnings.simplefilter("ignore")
                import pgserver
        except ImportError as exc:
            raise SystemExit(
                "DATABASE_URL is not set and the embedded Postgres (pgserver) is not installed: "
                "run `make venv`, or set DATABASE_URL"
            ) from exc
        if self._pgdata is None:
            # A throwaway cluster: every start is a fresh database, deleted at stop.
            self._tempdir = pathlib.Path(tempfile.mkdtemp(prefix="jobline-local-pg-"))
            data, cleanup = self._tempdir / "data", "delete"
        else:
            self._pgdata.parent.mkdir(parents=True, exist_ok=True)
            data, cleanup = self._pgdata, "stop"
        log.info("starting the embedded Postgres in %s", data)
        self._server = pgserver.get_server(data, cleanup_mode=cleanup)
        info = self._server.get_postmaster_info()
        # pgserver listens on a Unix socket only; pg8000 reaches it through `unix_sock`.
        return f"postgresql+pg8000://postgres@/{EMBEDDED_DATABASE}?unix_sock={info.socket_dir}/.s.PGSQL.{info.port}"

    def stop(self) -> None:
        """Stop the embedded server (and delete a throwaway cluster); an external database is left as it is."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"
