"""Applies the Alembic migrations (`vasms-control-api migrate`, and at start).

Alembic is synchronous and its env.py runs its own event loop, so the API
runs it in a worker thread: the serving loop never blocks on it.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

from control_api.db import ensure_sqlite_dir

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"
log = logging.getLogger(__name__)


def alembic_config(url: str) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    # Escape % for ConfigParser interpolation (passwords may contain it).
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Brings the schema at `url` to `revision` (blocking; use `upgrade` from async code)."""
    ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade_sync, url, revision)
    log.info("database schema at %s", revision)
