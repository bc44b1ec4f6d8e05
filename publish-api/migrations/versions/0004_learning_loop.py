"""learning loop: the state of unanswered questions, and the ask log

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:00:00.000000

Questions recorded before this migration are open, not answered ones, already named to their
owner (nothing used to tell owners, so a first digest listing months of them would be noise).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("unanswered_questions") as batch:
        batch.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="open"))
        batch.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="not_answered")
        )
        batch.add_column(sa.Column("given_answer", sa.Text(), nullable=True))
        batch.add_column(sa.Column("topic_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("resolved_at", STAMP, nullable=True))
        batch.add_column(sa.Column("owner_notified_at", STAMP, nullable=True))
        batch.add_column(sa.Column("asker_notified_at", STAMP, nullable=True))
        batch.create_foreign_key("fk_unanswered_topic", "topics", ["topic_id"], ["id"])
        batch.create_index("ix_unanswered_owner_state", ["owner_id", "state"])
    op.execute("UPDATE unanswered_questions SET owner_notified_at = created_at")
    op.create_table(
        "asks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("asker_team_id", sa.String(32), nullable=False),
        sa.Column("asker_user_id", sa.String(32), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topics.id"), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
    )
    op.create_index("ix_asks_owner_created", "asks", ["owner_id", "created_at"])
    op.create_index(
        "ix_asks_asker_created", "asks", ["asker_team_id", "asker_user_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_asks_asker_created", "asks")
    op.drop_index("ix_asks_owner_created", "asks")
    op.drop_table("asks")
    with op.batch_alter_table("unanswered_questions") as batch:
        batch.drop_index("ix_unanswered_owner_state")
        batch.drop_constraint("fk_unanswered_topic", type_="foreignkey")
        for column in ("asker_notified_at", "owner_notified_at", "resolved_at", "topic_id",
                       "given_answer", "kind", "state"):
            batch.drop_column(column)
