"""Alembic migrations build exactly the models' schema, idempotently, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

from control_api import models  # noqa: F401
from control_api.db import create_engine
from control_api.migrate import alembic_config, upgrade


async def test_migrations_match_models_and_rerun_cleanly(db_url: str) -> None:
    await upgrade(db_url)
    await upgrade(db_url)  # second run: nothing to do
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn):
                ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return compare_metadata(ctx, SQLModel.metadata)

            assert await conn.run_sync(diff) == []
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            version = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).all()
    finally:
        await engine.dispose()
    assert {"users", "streams", "media_nodes", "consumers", "alembic_version"} <= tables
    # One head, and the database is at it.
    (head,) = ScriptDirectory.from_config(alembic_config(db_url)).get_heads()
    assert version == [(head,)]
