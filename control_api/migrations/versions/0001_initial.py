"""Initial schema: users, streams, media nodes, consumers.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", STR(length=36), nullable=False),
        sa.Column("username", STR(length=64), nullable=False),
        sa.Column("password_hash", STR(length=255), nullable=False),
        sa.Column("role", STR(length=16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_users_username", "users", ["username"], unique=True)

    op.create_table(
        "streams",
        sa.Column("id", STR(length=36), nullable=False),
        sa.Column("name", STR(length=200), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("codec", STR(length=16), nullable=True),
        sa.Column("desired", STR(length=16), nullable=False),
        sa.Column("status", STR(length=16), nullable=False),
        sa.Column("status_reason", STR(length=500), nullable=False),
        sa.Column("status_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("node_id", STR(length=128), nullable=True),
        sa.Column("producer_id", STR(length=64), nullable=True),
        sa.Column("rtp_endpoint", sa.JSON(), nullable=True),
        sa.Column("created_by", STR(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_streams_node_id", "streams", ["node_id"], unique=False)

    op.create_table(
        "media_nodes",
        sa.Column("id", STR(length=128), nullable=False),
        sa.Column("address", STR(length=255), nullable=False),
        sa.Column("draining", sa.Boolean(), nullable=False),
        sa.Column("cpu_percent", sa.Float(), nullable=False),
        sa.Column("streams", sa.Integer(), nullable=False),
        sa.Column("transports", sa.Integer(), nullable=False),
        sa.Column("consumers", sa.Integer(), nullable=False),
        sa.Column("outgoing_bitrate_bps", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )

    op.create_table(
        "consumers",
        sa.Column("id", STR(length=64), nullable=False),
        sa.Column("stream_id", STR(length=36), nullable=False),
        sa.Column("node_id", STR(length=128), nullable=False),
        sa.Column("transport_id", STR(length=64), nullable=False),
        sa.Column("owner_id", STR(length=36), nullable=True),
        sa.Column("client_id", STR(length=200), nullable=False),
        sa.Column("producer_id", STR(length=64), nullable=False),
        sa.Column("kind", STR(length=8), nullable=False),
        sa.Column("origin", STR(length=8), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("state", STR(length=16), nullable=False),
        sa.Column("closed_reason", STR(length=32), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consumers_stream_id", "consumers", ["stream_id"], unique=False)
    op.create_index("ix_consumers_node_id", "consumers", ["node_id"], unique=False)
    op.create_index("ix_consumers_transport_id", "consumers", ["transport_id"], unique=False)
    op.create_index("ix_consumers_owner_id", "consumers", ["owner_id"], unique=False)


def downgrade() -> None:
    op.drop_table("consumers")
    op.drop_table("media_nodes")
    op.drop_table("streams")
    op.drop_index("ix_users_username", table_name="users")
    op.drop_table("users")
