"""job lease: jobs in training/deploying expire unless the broker renews them

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-01 17:00:00.000000

Also mends data the old code left: live jobs that are no longer the owner's live bot become
`superseded` (they used to keep reading `live`).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lease_holder", sa.String(length=64), nullable=True))
    # Active jobs get no lease: publish-api treats a missing lease as expired, which frees
    # owners blocked by jobs stuck before this migration.
    op.execute(
        "UPDATE jobs SET state = 'superseded' WHERE state = 'live' AND id NOT IN "
        "(SELECT live_job_id FROM bots WHERE live_job_id IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lease_holder")
        batch.drop_column("lease_expires_at")
