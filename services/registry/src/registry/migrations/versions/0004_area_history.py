"""Area history: merges, splits, validity in time.

Adds why an area was retired and the ids linking its versions (predecessors, successors),
indexes ``valid_from``/``valid_to`` for ``as_of`` queries, and rebuilds the path index with
the pattern operator class so PostgreSQL uses it for subtree (prefix) queries.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("area") as batch:
        batch.add_column(sa.Column("retired_reason", sa.String(16), nullable=True))
        batch.add_column(sa.Column("predecessor_ids", sa.Text(), nullable=True))
        batch.add_column(sa.Column("successor_ids", sa.Text(), nullable=True))
    op.create_index("ix_area_valid_from", "area", ["valid_from"])
    op.create_index("ix_area_valid_to", "area", ["valid_to"])
    op.drop_index("ix_area_path", table_name="area")
    op.create_index(
        "ix_area_path", "area", ["path"], postgresql_ops={"path": "varchar_pattern_ops"}
    )


def downgrade() -> None:
    op.drop_index("ix_area_path", table_name="area")
    op.create_index("ix_area_path", "area", ["path"])
    op.drop_index("ix_area_valid_to", table_name="area")
    op.drop_index("ix_area_valid_from", table_name="area")
    with op.batch_alter_table("area") as batch:
        batch.drop_column("successor_ids")
        batch.drop_column("predecessor_ids")
        batch.drop_column("retired_reason")
