"""jobs: how many times the broker was handed a job's task

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 01:10:00.000000

A task whose worker dies (out of memory, a crash) is handed back by the queue and delivered
again; a job that kills every worker it reaches would be delivered forever. The count lets
publish-api fail it after MAX_DELIVERIES. Jobs from before count as delivered once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("deliveries", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("deliveries")
