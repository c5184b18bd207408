"""Edge relays: which stream is piped from which origin node to which edge node.

Revision ID: 0005_relays
Revises: 0004_stream_idle_since
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_relays"
down_revision: str | None = "0004_stream_idle_since"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relays",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("stream_id", sa.String(length=36), nullable=False),
        sa.Column("origin_node_id", sa.String(length=128), nullable=False),
        sa.Column("edge_node_id", sa.String(length=128), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stream_id", "edge_node_id", name="uq_relays_stream_edge"),
    )
    for column in ("stream_id", "origin_node_id", "edge_node_id"):
        op.create_index(f"ix_relays_{column}", "relays", [column])


def downgrade() -> None:
    op.drop_table("relays")
