"""The worker's tables: each note's word count, the fence, the runs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 00:00:00

Expand only: a new nullable column and two new tables, so the release before
(which knows none of them) still serves on this schema.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("notes", sa.Column("word_count", sa.Integer(), nullable=True))
    # The highest fencing token a worker has written with: a write carrying
    # a lower one comes from a holder whose lease is gone, and is refused.
    op.create_table(
        "worker_fence",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("token", sa.Integer(), nullable=False),
    )
    # One row per run of the worker: when it took the lease, when it last
    # worked, when it stopped (none after a SIGKILL).
    op.create_table(
        "worker_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("worker_runs")
    op.drop_table("worker_fence")
    op.drop_column("notes", "word_count")
