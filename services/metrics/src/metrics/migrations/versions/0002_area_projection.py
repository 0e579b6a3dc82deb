"""Area hierarchy projection.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "area_projection",
        sa.Column("area_id", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("area_id", name="pk_area_projection"),
    )
    op.create_index("ix_area_projection_path", "area_projection", ["path"])


def downgrade() -> None:
    op.drop_table("area_projection")
