"""dead letters: messages the workers gave up on, one row per story, kept for reading, replay and purge

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workers.store.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("story_id", sa.String(length=64), nullable=True),
        sa.Column("feed_id", sa.String(length=100), nullable=True),
        sa.Column("poll_id", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", workers.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", workers.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("replayed_at", workers.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint("key", name=op.f("uq_dead_letters_key")),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dead_letters_last_failed_at"), ["last_failed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_dead_letters_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_dead_letters_story_id"), ["story_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_story_id"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_state"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_last_failed_at"))
    op.drop_table("dead_letters")
