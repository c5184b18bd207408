"""Streams: the video viewers receive, as the node reports it ({codec, width, height}).

Revision ID: 0002_stream_video
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_stream_video"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("streams", sa.Column("video", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("streams", "video")
