"""version storage: topic_count, prunable snapshots, compact JSON

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 17:00:00

Job views read topic_count instead of loading the snapshot; a pruned snapshot is NULL; the
snapshots already stored are rewritten as compact JSON (no spaces, characters unescaped).
Self-contained: it touches the versions table only.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(
            sa.Column("topic_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.alter_column("topics", existing_type=sa.JSON(), nullable=True)
    # json_array_length exists under this name in both PostgreSQL and SQLite.
    op.execute("UPDATE versions SET topic_count = json_array_length(topics)")
    with op.batch_alter_table("versions") as batch:
        batch.alter_column("topic_count", existing_type=sa.Integer(), server_default=None)
    _compact_snapshots()


def downgrade() -> None:
    op.execute("UPDATE versions SET topics = '[]' WHERE topics IS NULL")  # pruned: gone anyway
    with op.batch_alter_table("versions") as batch:
        batch.alter_column("topics", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("topic_count")


def _compact_snapshots() -> None:
    # One row at a time: a snapshot can be megabytes, the table gigabytes.
    connection = op.get_bind()
    ids = connection.execute(sa.text("SELECT id FROM versions ORDER BY id")).scalars().all()
    for version_id in ids:
        stored = connection.execute(
            sa.text("SELECT topics FROM versions WHERE id = :id"), {"id": version_id}
        ).scalar_one()
        topics = json.loads(stored) if isinstance(stored, str) else stored
        compact = json.dumps(topics, separators=(",", ":"), ensure_ascii=False)
        connection.execute(
            sa.text("UPDATE versions SET topics = :topics WHERE id = :id"),
            {"topics": compact, "id": version_id},
        )
