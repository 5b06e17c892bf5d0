"""operations: indexes for the status totals (decisions by time, entries by first sighting)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 03:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_decisions_created_at", "decisions", ["created_at"])
    op.create_index("ix_entries_first_seen_at", "entries", ["first_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_entries_first_seen_at", table_name="entries")
    op.drop_index("ix_decisions_created_at", table_name="decisions")
