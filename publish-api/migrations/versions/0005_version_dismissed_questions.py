"""versions: the owner's dismissed questions at publish time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:10:00.000000

A published version also snapshots the questions its owner dismissed (known out-of-scope
questions the bot is trained to refuse). Versions published before hold none (NULL, read as
an empty list); pruning empties it with the topics.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("dismissed_questions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("dismissed_questions")
